/**
 * `npm run bench:dataplane`: req/s and p99 latency through HAProxy with the generated config vs a
 * hand-written minimal config for the same routes (host + path prefix → backend), measured in the
 * same run, at 10 / 1,000 / 10,000 routes. Prints figures; not a test.
 *
 * Loopback only. Load: `wrk` (Debian package), keep-alive, bounded duration. The HAProxy under test
 * is pinned to CPU 0 (one thread), the origin and wrk to CPU 1. Rounds alternate generated/minimal
 * so drift on the shared machine hits both.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import net from "node:net";
import { renderGateway } from "../capabilities/render/index";
import type { GatewayIR, RouteRuleIR } from "../capabilities/engine/ir";

const SIZES = (process.env.BENCH_SIZES ?? "10,1000,10000").split(",").map(Number);
const DURATION_S = Number(process.env.BENCH_SECONDS ?? 4);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
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
  const p = spawn("taskset", ["-c", cpu, "haproxy", "-W", "-db", "-C", dirname(cfg), "-f", cfg], { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  p.stderr!.on("data", (d) => (err += d));
  p.once("exit", (code) => code && code !== 143 && code !== 130 && console.error(`haproxy ${cfg} exited ${code}: ${err.slice(0, 2000)}`));
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
      { kind: "service", id: `bench/svc${i}/80`, service: { namespace: "bench", name: `svc${i}` }, port: 80, weight: 1, endpoints: [{ ip: "127.0.0.1", port: origin }], filters: [] },
    ],
  });
  return {
    gateway: { namespace: "bench", name: "bench" },
    generation: 1,
    ports: [
      {
        port,
        protocol: "HTTP",
        listeners: [{ id: "bench/bench/http", virtualHosts: Array.from({ length: n }, (_, i) => ({ hostname: host(i), rules: [rule(i)] })) }],
      },
    ],
  };
}

/** What a person would write by hand for the same routes: one map lookup on Host+path. */
function minimalConfig(dir: string, n: number, port: number, origin: number): string {
  const map = Array.from({ length: n }, (_, i) => `${host(i)}/app${i} b${i}\n`).join("");
  writeFileSync(join(dir, "routes.map"), map);
  const backends = Array.from({ length: n }, (_, i) => `backend b${i}\n  server s1 127.0.0.1:${origin}\n`).join("");
  const cfg = `global
  default-path config
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend fe
  bind 127.0.0.1:${port}
  use_backend %[base,map_beg(${join(dir, "routes.map")})]
  default_backend notfound
backend notfound
  http-request return status 404
${backends}`;
  writeFileSync(join(dir, "haproxy.cfg"), cfg);
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
  const kids = spawnSync("pgrep", ["-P", String(master.pid)], { encoding: "utf8" }).stdout.trim().split("\n").filter(Boolean);
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

function wrk(dir: string, n: number, port: number, proc: ChildProcess): Result {
  const ticks0 = workerTicks(proc);
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
  const r = spawnSync("taskset", ["-c", "1", "wrk", "-t1", `-c${CONNECTIONS}`, `-d${DURATION_S}s`, "--latency", "-s", script, `http://127.0.0.1:${port}/`], {
    encoding: "utf8",
    timeout: (DURATION_S + 30) * 1000,
  });
  const out = r.stdout ?? "";
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  const p = /99%\s+([\d.]+)(us|ms|s)\b/.exec(out);
  const p99ms = p ? Number(p[1]) * (p[2] === "us" ? 0.001 : p[2] === "s" ? 1000 : 1) : NaN;
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN);
  const cpuUs = (((workerTicks(proc) - ticks0) / 100) * 1e6) / requests;
  if (!Number.isFinite(rps)) throw new Error(`wrk output not understood:\n${out}\n${r.stderr}`);
  return { rps, p99ms, non2xx, cpuUs };
}

async function check(port: number, i: number, want: number) {
  const status = await new Promise<number>((resolve, reject) => {
    const c = net.connect(port, "127.0.0.1", () => c.write(`GET /app${i}/x HTTP/1.1\r\nHost: ${host(i)}\r\nConnection: close\r\n\r\n`));
    let buf = "";
    c.on("data", (d) => (buf += d));
    c.on("end", () => resolve(Number(/^HTTP\/1\.1 (\d+)/.exec(buf)?.[1] ?? 0)));
    c.on("error", reject);
  });
  if (status !== want) throw new Error(`sanity check: route ${i} answered ${status}, expected ${want}`);
}

async function benchSize(n: number, originPort: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), `crossway-bench-${n}-`));
  try {
    const [genPort, minPort] = [await freePort(), await freePort()];
    const rendered = renderGateway(benchIR(n, genPort, originPort), { runDir: dir, bindAddress: "127.0.0.1" });
    const genDir = join(dir, "gen");
    const minDir = join(dir, "min");
    for (const d of [genDir, minDir]) spawnSync("mkdir", ["-p", d]);
    for (const [k, v] of Object.entries(rendered.files)) writeFileSync(join(genDir, k), v);
    const configs = { generated: join(genDir, "haproxy.cfg"), minimal: minimalConfig(minDir, n, minPort, originPort) };
    const ports = { generated: genPort, minimal: minPort };
    const results: Record<string, Result[]> = { generated: [], minimal: [] };
    for (let round = 0; round < ROUNDS; round++) {
      for (const kind of ["generated", "minimal"] as const) {
        const p = startHaproxy("0", configs[kind]);
        try {
          await waitPort(ports[kind]);
          await check(ports[kind], 0, 200);
          await check(ports[kind], n - 1, 200);
          results[kind].push(wrk(dir, n, ports[kind], p));
        } finally {
          await stop(p);
        }
      }
    }
    // Least-disturbed round of each: highest req/s, lowest p99, lowest CPU per request.
    const best = (rs: Result[]): Result => ({
      rps: Math.max(...rs.map((r) => r.rps)),
      p99ms: Math.min(...rs.map((r) => r.p99ms)),
      cpuUs: Math.min(...rs.map((r) => r.cpuUs)),
      non2xx: Math.max(...rs.map((r) => r.non2xx)),
    });
    const [g, m] = [best(results.generated), best(results.minimal)];
    const fmt = (r: Result) =>
      `${Math.round(r.rps).toString().padStart(6)} req/s p99 ${r.p99ms.toFixed(2).padStart(6)} ms cpu ${r.cpuUs.toFixed(1).padStart(5)} us/req non-2xx ${r.non2xx}`;
    console.log(
      `routes ${String(n).padStart(5)} | generated ${fmt(g)} | minimal ${fmt(m)} | ratio req/s ${(g.rps / m.rps).toFixed(3)} p99 ${(g.p99ms / m.p99ms).toFixed(2)}x cpu/req ${(g.cpuUs / m.cpuUs).toFixed(2)}x`,
    );
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
    console.log(`HAProxy data plane: generated vs hand-written minimal config; wrk -c${CONNECTIONS} ${DURATION_S}s x ${ROUNDS} alternating rounds (best of each), haproxy pinned to CPU 0`);
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
