/**
 * `npm run bench:dataplane`: req/s and p99 latency through HAProxy with the generated config vs a
 * hand-written minimal config for the same routes (host + path prefix → backend), measured in the
 * same run, at 10 / 1,000 / 10,000 routes. Prints figures; not a test.
 *
 * "For the same routes" is checked, not assumed: before measuring, every config answers the same
 * probes (Host with a port, Host in upper case, `/appN` vs `/appN0`, another route's path on this
 * host…) and the minimal config must answer each one as the spec does. The one-line
 * `use_backend %[base,map_beg(...)]` people often write gets several of them wrong; it is measured
 * too, as a reference row, with its wrong answers counted.
 *
 * Loopback only. Load: `wrk` (Debian package), keep-alive, bounded duration. The HAProxy under test
 * is pinned to CPU 0 (one thread), the origin and wrk to CPU 1. The machine is shared and its speed
 * drifts by up to 2× within seconds, so each round runs every config back to back (rotating the
 * order) and the ratio printed is the median over rounds of the per-round ratio. Each round also
 * runs generated and minimal at the same time on the same core, each with its own wrk: the
 * scheduler gives both the same CPU time, so their req/s ratio is their per-request cost ratio,
 * untouched by drift; the minimal config against a copy of itself, measured the same way, shows
 * how close to 1.000 that method gets.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import net from "node:net";
import { renderGateway } from "../capabilities/render/index";
import type { GatewayIR, RouteRuleIR } from "../capabilities/engine/ir";

const SIZES = (process.env.BENCH_SIZES ?? "10,1000,10000").split(",").map(Number);
const DURATION_S = Number(process.env.BENCH_SECONDS ?? 2);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const CONNECTIONS = 32;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function need(bin: string, hint: string) {
  if (spawnSync("sh", ["-c", `command -v ${bin}`]).status !== 0) throw new Error(`${bin} not found: ${hint}`);
}

/**
 * A free port below the ephemeral range: with thousands of backends HAProxy opens a connection
 * per request to the origin, and an ephemeral listening port could be taken by one of those.
 */
async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 10000);
    const s = net.createServer();
    const ok = await new Promise<boolean>((r) => {
      s.once("error", () => r(false));
      s.listen(port, "127.0.0.1", () => r(true));
    });
    if (ok) {
      await new Promise<void>((r) => s.close(() => r()));
      return port;
    }
  }
  throw new Error("no free port in 20000-29999");
}

async function waitPort(port: number, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((r) => {
      const c = net.connect(port, "127.0.0.1");
      c.once("connect", () => (c.destroy(), r(true)));
      c.once("error", () => r(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`port ${port} not listening after ${ms}ms`);
}

function startHaproxy(cpu: string, cfg: string): ChildProcess {
  const p = spawn("taskset", ["-c", cpu, "haproxy", "-W", "-db", "-C", dirname(cfg), "-f", cfg], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let err = "";
  p.stderr!.on("data", (d) => (err += d));
  p.once(
    "exit",
    (code) =>
      code && code !== 143 && code !== 130 && console.error(`haproxy ${cfg} exited ${code}: ${err.slice(0, 2000)}`),
  );
  return p;
}

async function stop(p: ChildProcess) {
  if (p.exitCode !== null) return;
  p.kill("SIGTERM");
  for (let i = 0; i < 30 && p.exitCode === null; i++) await sleep(100);
  if (p.exitCode === null) p.kill("SIGKILL");
}

const host = (i: number) => `svc${i}.bench.test`;

function benchIR(n: number, port: number, origin: number): GatewayIR {
  const rule = (i: number): RouteRuleIR => ({
    id: `httproute/bench/r${i}/r0/m0`,
    route: { kind: "HTTPRoute", namespace: "bench", name: `r${i}` },
    ruleIndex: 0,
    matchIndex: 0,
    match: { path: { type: "PathPrefix", value: `/app${i}` }, headers: [], queryParams: [] },
    filters: [],
    backends: [
      {
        kind: "service",
        id: `bench/svc${i}/80`,
        service: { namespace: "bench", name: `svc${i}` },
        port: 80,
        weight: 1,
        endpoints: [{ ip: "127.0.0.1", port: origin }],
        filters: [],
      },
    ],
  });
  return {
    gateway: { namespace: "bench", name: "bench" },
    generation: 1,
    ports: [
      {
        port,
        protocol: "HTTP",
        listeners: [
          {
            id: "bench/bench/http",
            virtualHosts: Array.from({ length: n }, (_, i) => ({ hostname: host(i), rules: [rule(i)] })),
          },
        ],
      },
    ],
  };
}

const KINDS = ["generated", "minimal", "naive"] as const;
type Kind = (typeof KINDS)[number];

function baseConfig(port: number, frontend: string[], backends: string, notFound = "notfound"): string {
  return `global
  default-path config
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend fe
  bind 127.0.0.1:${port}
${frontend.map((l) => `  ${l}\n`).join("")}  default_backend ${notFound}
backend ${notFound}
  http-request return status 404
${backends}`;
}

const backendsFor = (n: number, origin: number) =>
  Array.from({ length: n }, (_, i) => `backend b${i}\n  server s1 127.0.0.1:${origin}\n`).join("");

/**
 * What a person would write by hand for the same routes, as the spec reads them: Host compared
 * without its port and case-insensitively, PathPrefix matched element-wise (`/app1` matches
 * `/app1/x`, not `/app10`). One key, one map lookup. The map file is named by absolute path
 * because HAProxy resolves use_backend expressions after `default-path` has stopped applying.
 */
function minimalConfig(dir: string, n: number, port: number, origin: number): string {
  const map = join(dir, "routes.map");
  writeFileSync(map, Array.from({ length: n }, (_, i) => `${host(i)}/app${i}/ b${i}\n`).join(""));
  const frontend = [
    `http-request set-var-fmt(txn.k) "%[req.hdr(host),field(1,:),lower]%[path]/"`,
    `use_backend %[var(txn.k),map_beg(${map})]`,
  ];
  writeFileSync(join(dir, "haproxy.cfg"), baseConfig(port, frontend, backendsFor(n, origin)));
  return join(dir, "haproxy.cfg");
}

/** The common one-liner: a map_beg on `base` (raw Host + path). Fast, and wrong on some probes. */
function naiveConfig(dir: string, n: number, port: number, origin: number): string {
  const map = join(dir, "routes.map");
  writeFileSync(map, Array.from({ length: n }, (_, i) => `${host(i)}/app${i} b${i}\n`).join(""));
  writeFileSync(
    join(dir, "haproxy.cfg"),
    baseConfig(port, [`use_backend %[base,map_beg(${map})]`], backendsFor(n, origin)),
  );
  return join(dir, "haproxy.cfg");
}

function originConfig(dir: string, port: number): string {
  const cfg = `global
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend origin
  bind 127.0.0.1:${port}
  http-request return status 200 content-type text/plain string "ok"
`;
  writeFileSync(join(dir, "origin.cfg"), cfg);
  return join(dir, "origin.cfg");
}

interface Result {
  rps: number;
  p99ms: number;
  non2xx: number;
  /** CPU time of the HAProxy under test per request (user + system), in µs. */
  cpuUs: number;
}

/** utime + stime of the worker(s) of a master-worker haproxy, in clock ticks (100/s). */
function workerTicks(master: ChildProcess): number {
  // taskset execs haproxy, so the child pid is the master's
  const kids = spawnSync("pgrep", ["-P", String(master.pid)], { encoding: "utf8" })
    .stdout.trim()
    .split("\n")
    .filter(Boolean);
  let ticks = 0;
  for (const pid of kids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(f[11]) + Number(f[12]);
    } catch {
      // exited
    }
  }
  return ticks;
}

/** wrk's Lua script: random routes, each with its own Host and a path under its prefix. */
function writeLoadScript(dir: string, n: number): string {
  const script = join(dir, "routes.lua");
  writeFileSync(
    script,
    `math.randomseed(42)
request = function()
  local i = math.random(0, ${n - 1})
  return wrk.format("GET", "/app" .. i .. "/x", { ["Host"] = "svc" .. i .. ".bench.test" })
end
`,
  );
  return script;
}

/** One bounded wrk run (DURATION_S, killed after DURATION_S + 30 s) against one HAProxy. */
async function wrk(script: string, port: number, proc: ChildProcess): Promise<Result> {
  const ticks0 = workerTicks(proc);
  const args = [
    "-c",
    "1",
    "wrk",
    "-t1",
    `-c${CONNECTIONS}`,
    `-d${DURATION_S}s`,
    "--latency",
    "-s",
    script,
    `http://127.0.0.1:${port}/`,
  ];
  const out = await new Promise<string>((resolve) => {
    const w = spawn("taskset", args, { stdio: ["ignore", "pipe", "pipe"] });
    let text = "";
    w.stdout!.on("data", (d) => (text += d));
    w.stderr!.on("data", (d) => (text += d));
    const timer = setTimeout(() => w.kill("SIGKILL"), (DURATION_S + 30) * 1000);
    w.once("close", () => (clearTimeout(timer), resolve(text)));
  });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  const p = /99%\s+([\d.]+)(us|ms|s)\b/.exec(out);
  const p99ms = p ? Number(p[1]) * (p[2] === "us" ? 0.001 : p[2] === "s" ? 1000 : 1) : NaN;
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN);
  const cpuUs = (((workerTicks(proc) - ticks0) / 100) * 1e6) / requests;
  if (!Number.isFinite(rps)) throw new Error(`wrk output not understood:\n${out}`);
  return { rps, p99ms, non2xx, cpuUs };
}

async function status(port: number, hostHeader: string, path: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const c = net.connect(port, "127.0.0.1", () =>
      c.write(`GET ${path} HTTP/1.1\r\nHost: ${hostHeader}\r\nConnection: close\r\n\r\n`),
    );
    let buf = "";
    c.setTimeout(5000, () => c.destroy(new Error(`probe ${hostHeader}${path} timed out`)));
    c.on("data", (d) => (buf += d));
    c.on("end", () => resolve(Number(/^HTTP\/1\.1 (\d+)/.exec(buf)?.[1] ?? 0)));
    c.on("error", reject);
  });
}

/** Requests whose answer the spec fixes for these routes (route i: Host svc<i>, PathPrefix /app<i>). */
function probes(n: number, port: number): { host: string; path: string; want: number }[] {
  const out: { host: string; path: string; want: number }[] = [];
  for (const i of [1, n - 1]) {
    const h = host(i);
    out.push(
      { host: h, path: `/app${i}/x`, want: 200 },
      { host: h, path: `/app${i}`, want: 200 },
      { host: h.toUpperCase(), path: `/app${i}/x`, want: 200 },
      { host: `${h}:${port}`, path: `/app${i}/x`, want: 200 },
      { host: h, path: `/app${i}0/x`, want: 404 },
      { host: h, path: `/app${i}x`, want: 404 },
      { host: h, path: `/app${i === 1 ? 2 : 1}/x`, want: 404 },
      { host: `x${h}`, path: `/app${i}/x`, want: 404 },
    );
  }
  return out;
}

/** The probes this config answers differently from the spec. */
async function wrongAnswers(port: number, n: number): Promise<string[]> {
  const wrong: string[] = [];
  for (const p of probes(n, port)) {
    const got = await status(port, p.host, p.path);
    if (got !== p.want) wrong.push(`Host ${p.host} ${p.path}: ${got}, spec ${p.want}`);
  }
  return wrong;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** a ÷ b in req/s and in p99, both HAProxies on CPU 0 at once, each loaded by its own wrk. */
async function sharingOneCore(
  [cfgA, portA]: [string, number],
  [cfgB, portB]: [string, number],
  script: string,
): Promise<{ rps: number; p99: number }> {
  const [a, b] = [startHaproxy("0", cfgA), startHaproxy("0", cfgB)];
  try {
    await Promise.all([waitPort(portA), waitPort(portB)]);
    const [ra, rb] = await Promise.all([wrk(script, portA, a), wrk(script, portB, b)]);
    return { rps: ra.rps / rb.rps, p99: ra.p99ms / rb.p99ms };
  } finally {
    await Promise.all([stop(a), stop(b)]);
  }
}

async function benchSize(n: number, originPort: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), `crossway-bench-${n}-`));
  try {
    const ports: Record<Kind, number> = {
      generated: await freePort(),
      minimal: await freePort(),
      naive: await freePort(),
    };
    const rendered = renderGateway(benchIR(n, ports.generated, originPort), { runDir: dir, bindAddress: "127.0.0.1" });
    const dirs = Object.fromEntries(KINDS.map((k) => [k, join(dir, k)])) as Record<Kind, string>;
    for (const d of Object.values(dirs)) spawnSync("mkdir", ["-p", d]);
    for (const [k, v] of Object.entries(rendered.files)) writeFileSync(join(dirs.generated, k), v);
    const configs: Record<Kind, string> = {
      generated: join(dirs.generated, "haproxy.cfg"),
      minimal: minimalConfig(dirs.minimal, n, ports.minimal, originPort),
      naive: naiveConfig(dirs.naive, n, ports.naive, originPort),
    };
    const results = { generated: [], minimal: [], naive: [] } as Record<Kind, Result[]>;
    const wrong = {} as Record<Kind, string[]>;
    const script = writeLoadScript(dir, n);
    // a second copy of the minimal config: minimal vs itself on one core calibrates "together"
    const copyPort = await freePort();
    spawnSync("mkdir", ["-p", join(dir, "minimal-copy")]);
    const copy = minimalConfig(join(dir, "minimal-copy"), n, copyPort, originPort);
    const itself: { rps: number; p99: number }[] = [];
    /** generated ÷ minimal with both on CPU 0 at once: each gets half the core, whatever its speed. */
    const together: { rps: number; p99: number }[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      // rotate the order so no config always runs first (or last) in a round
      const order = KINDS.map((_, j) => KINDS[(j + round) % KINDS.length]);
      for (const kind of order) {
        const p = startHaproxy("0", configs[kind]);
        try {
          await waitPort(ports[kind]);
          if (round === 0) wrong[kind] = await wrongAnswers(ports[kind], n);
          results[kind].push(await wrk(script, ports[kind], p));
        } finally {
          await stop(p);
        }
      }
      if (round === 0)
        for (const kind of ["generated", "minimal"] as const)
          if (wrong[kind].length)
            throw new Error(`${kind} config does not route as the spec says:\n  ${wrong[kind].join("\n  ")}`);
      together.push(
        await sharingOneCore([configs.generated, ports.generated], [configs.minimal, ports.minimal], script),
      );
      itself.push(await sharingOneCore([copy, copyPort], [configs.minimal, ports.minimal], script));
    }
    // Least-disturbed round of each for the absolute figures; ratios are medians of per-round ratios.
    const best = (rs: Result[]): Result => ({
      rps: Math.max(...rs.map((r) => r.rps)),
      p99ms: Math.min(...rs.map((r) => r.p99ms)),
      cpuUs: Math.min(...rs.map((r) => r.cpuUs)),
      non2xx: Math.max(...rs.map((r) => r.non2xx)),
    });
    const ratio = (base: Kind, f: (r: Result) => number) =>
      median(results.generated.map((g, i) => f(g) / f(results[base][i])));
    const fmt = (r: Result) =>
      `${Math.round(r.rps).toString().padStart(6)} req/s p99 ${r.p99ms.toFixed(2).padStart(5)} ms cpu ${r.cpuUs.toFixed(1).padStart(4)} us/req`;
    const vs = (base: Kind) =>
      `req/s ${ratio(base, (r) => r.rps).toFixed(3)} p99 ${ratio(base, (r) => r.p99ms).toFixed(2)}x cpu/req ${ratio(base, (r) => r.cpuUs).toFixed(2)}x`;
    const non2xx = KINDS.filter((k) => k !== "naive" && results[k].some((r) => r.non2xx > 0));
    console.log(
      [
        `routes ${String(n).padStart(5)}`,
        `generated ${fmt(best(results.generated))}`,
        `minimal ${fmt(best(results.minimal))}`,
        `ratio vs minimal: ${vs("minimal")}`,
        `sharing one core: req/s ${median(together.map((r) => r.rps)).toFixed(3)} p99 ${median(together.map((r) => r.p99)).toFixed(2)}x` +
          ` (minimal vs itself: ${median(itself.map((r) => r.rps)).toFixed(3)}, ${median(itself.map((r) => r.p99)).toFixed(2)}x)`,
      ].join(" | "),
    );
    console.log(
      `              reference: naive one-liner ${fmt(best(results.naive))} | wrong on ${wrong.naive.length}/${probes(n, 0).length} probes | generated vs naive: ${vs("naive")}`,
    );
    if (non2xx.length) console.log(`              WARNING: non-2xx answers under load from ${non2xx.join(", ")}`);
  } finally {
    if (process.env.BENCH_KEEP === "1") console.log(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  need("haproxy", "apt-get install -y haproxy");
  need("wrk", "apt-get install -y wrk");
  need("taskset", "util-linux");
  const dir = mkdtempSync(join(tmpdir(), "crossway-origin-"));
  const originPort = await freePort();
  const origin = startHaproxy("1", originConfig(dir, originPort));
  try {
    await waitPort(originPort);
    console.log(
      `HAProxy data plane: generated vs hand-written minimal config; wrk -c${CONNECTIONS}, ${ROUNDS} rounds of ${DURATION_S}s per config (figures: best round; ratios: median of per-round ratios), haproxy pinned to CPU 0`,
    );
    for (const n of SIZES) await benchSize(n, originPort);
  } finally {
    await stop(origin);
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(String(e));
  process.exitCode = 1;
});
