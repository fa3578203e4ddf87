/**
 * `npm run bench:control-plane`: how fast route changes reach the wire, and what the controller
 * costs, with N HTTPRoutes on one shared Gateway. Prints figures; not a test.
 *
 *   npm run bench:control-plane -- --routes 100,1000 --namespaces 50 --samples 20
 *
 * The local cluster (hack/cluster/up.ts) with the module in dev mode (hack/dev-module.ts: one
 * process for watches, reconcile loop and webhook). One Gateway in `cpb-gw` whose listener admits
 * routes from namespaces labelled `bench-access=on` (allowedRoutes Selector); N routes spread over
 * M namespaces `cpb-r<k>`, each route its own path on its namespace's hostname, all pointing at a
 * few echo-basic backends in `cpb-be` through one ReferenceGrant per route namespace. Sizes are
 * reached by adding routes to the previous size's (100, then 900 more for 1,000).
 *
 * Every API write goes through an in-process HTTPS client (hack/lib/api.ts), so no kubectl start
 * is timed; the wire is polled every 5 ms (at most WIRE_CAP_MS) through the Gateway's address.
 * Only the local cluster's own namespaces get traffic. Every loop is bounded in count and time.
 * Everything it creates (namespaces) is deleted at the end.
 */
import { existsSync, readFileSync } from "node:fs";
import { loadavg, cpus } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import http from "node:http";
import { ensureCluster } from "./cluster/up.js";
import { DIRS, KUBECONFIG } from "./cluster/config.js";
import { startModule, stopModule, type RunningModule } from "./dev-module.js";
import { api, apiJson, apply, closeApi, collectionPath, inPool, objectPath, watch } from "./lib/api.js";
import { applyFile, freshNamespaces, gatewayAddress, get } from "./lib/e2e.js";
import { eventually } from "./lib/eventually.js";
import { childPids, procSample } from "./lib/proc-stats.js";

const flag = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
};
const SIZES = flag("routes", "100,1000").split(",").map(Number);
const M = Number(flag("namespaces", "50"));
const SAMPLES = Number(flag("samples", "20"));
const BACKENDS = 2;
const CONCURRENCY = 8;
const WIRE_CAP_MS = 10_000;
const SETTLE_CAP_MS = 600_000;
const SWEEP_MAX = 1000;
const ADMISSION_SAMPLES = 30;

const GW_NS = "cpb-gw";
const BE_NS = "cpb-be";
const GW = "shared";
const LABEL = "bench-access";
const routeNs = (k: number) => `cpb-r${k}`;
const nsOf = (i: number) => i % M;
const host = (i: number) => `ns${nsOf(i)}.bench.test`;
const pathOf = (i: number) => `/r${i}`;
const GWAPI = "gateway.networking.k8s.io/v1";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const namespace = (name: string, labels: Record<string, string> = {}) => ({
  apiVersion: "v1",
  kind: "Namespace",
  metadata: { name, labels },
});

/** echo-basic as test/e2e/reload.test.ts runs it: the node agent runs it as a host process. */
const backend = (j: number) => [
  {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: `be${j}`, namespace: BE_NS },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: `be${j}` } },
      template: {
        metadata: { labels: { app: `be${j}` } },
        spec: {
          containers: [
            {
              name: "echo",
              image: "registry.k8s.io/gateway-api/echo-basic:v1.6.1",
              env: [
                { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
                { name: "NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
              ],
              readinessProbe: { httpGet: { path: "/", port: 3000 } },
            },
          ],
        },
      },
    },
  },
  {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: `be${j}`, namespace: BE_NS },
    spec: { selector: { app: `be${j}` }, ports: [{ name: "http", port: 8080, targetPort: 3000 }] },
  },
];

const gateway = {
  apiVersion: GWAPI,
  kind: "Gateway",
  metadata: { name: GW, namespace: GW_NS },
  spec: {
    gatewayClassName: "crossway",
    listeners: [
      {
        name: "http",
        protocol: "HTTP",
        port: 80,
        allowedRoutes: { namespaces: { from: "Selector", selector: { matchLabels: { [LABEL]: "on" } } } },
      },
    ],
  },
};

const grant = (k: number) => ({
  apiVersion: "gateway.networking.k8s.io/v1beta1",
  kind: "ReferenceGrant",
  metadata: { name: `from-${routeNs(k)}`, namespace: BE_NS },
  spec: {
    from: [{ group: "gateway.networking.k8s.io", kind: "HTTPRoute", namespace: routeNs(k) }],
    to: [{ group: "", kind: "Service" }],
  },
});

const route = (i: number, name = `r${i}`) => ({
  apiVersion: GWAPI,
  kind: "HTTPRoute",
  metadata: { name, namespace: routeNs(nsOf(i)), labels: { "crossway-bench": "1" } },
  spec: {
    parentRefs: [{ name: GW, namespace: GW_NS }],
    hostnames: [host(i)],
    rules: [
      {
        matches: [{ path: { type: "PathPrefix", value: pathOf(i) } }],
        backendRefs: [{ name: `be${i % BACKENDS}`, namespace: BE_NS, port: 8080 }],
      },
    ],
  },
});

// ---------------------------------------------------------------------------------------------
// Figures

interface Stats {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** samples that did not reach the expected answer within WIRE_CAP_MS (not in the percentiles) */
  timeouts: number;
  /** every sample in order (null: timed out) */
  samples: (number | null)[];
}

/** Nearest-rank percentiles (with 20 samples, p99 is the worst one). */
function stats(xs: (number | undefined)[]): Stats {
  const s = xs.filter((x): x is number => x !== undefined).sort((a, b) => a - b);
  const p = (q: number) => (s.length ? Math.round(s[Math.max(0, Math.ceil(q * s.length) - 1)]) : NaN);
  return {
    n: s.length,
    p50: p(0.5),
    p90: p(0.9),
    p99: p(0.99),
    max: p(1),
    timeouts: xs.length - s.length,
    samples: xs.map((x) => (x === undefined ? null : Math.round(x))),
  };
}

/** Peak and last RSS of the module and of the data plane's HAProxy, sampled every 250 ms. */
class Sampler {
  moduleRssPeak = 0;
  haproxyRssPeak = 0;
  haproxyMaster?: number;
  #timer?: NodeJS.Timeout;
  constructor(readonly modulePid: number) {}
  start() {
    this.#timer = setInterval(() => {
      this.moduleRssPeak = Math.max(this.moduleRssPeak, procSample(this.modulePid)?.rssMiB ?? 0);
      this.haproxyRssPeak = Math.max(this.haproxyRssPeak, this.haproxyRss());
    }, 250);
  }
  stop = () => clearInterval(this.#timer);
  cpuS = () => procSample(this.modulePid)?.cpuS ?? NaN;
  /** master + every worker (old ones still draining included). */
  haproxyRss(): number {
    if (!this.haproxyMaster) return 0;
    return [this.haproxyMaster, ...childPids(this.haproxyMaster)]
      .filter((p) => comm(p) === "haproxy")
      .reduce((t, p) => t + (procSample(p)?.rssMiB ?? 0), 0);
  }
}

const comm = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return undefined;
  }
};

/** The data-plane pod's name and its haproxy container's pid (the node agent's record). */
async function dataPlanePod(): Promise<{ name: string; haproxyPid?: number }> {
  const pods = await apiJson<{ items: { metadata: { name: string; uid: string } }[] }>(
    "GET",
    `/api/v1/namespaces/${GW_NS}/pods?labelSelector=crossway.dev/gateway%3D${GW}`,
  );
  const pod = pods.items[0];
  if (!pod) throw new Error(`no data-plane pod for Gateway ${GW_NS}/${GW}`);
  const record = join(DIRS.node, "pods", pod.metadata.uid, "pod.json");
  const procs = existsSync(record)
    ? (JSON.parse(readFileSync(record, "utf8")) as { procs: Record<string, { pid: number }> }).procs
    : {};
  return { name: pod.metadata.name, haproxyPid: procs.haproxy?.pid };
}

const jsonLines = (file: string) =>
  existsSync(file)
    ? readFileSync(file, "utf8")
        .split("\n")
        .flatMap((l) => {
          try {
            return [JSON.parse(l) as Record<string, unknown>];
          } catch {
            return [];
          }
        })
    : [];

/**
 * Publish → serving: from the module's "published data-plane config" line to the agent's
 * "config reloaded" line for the same generation (Secret watch, haproxy -c unless vetted, files
 * written, master reload, new worker seen), for generations published in [from, to).
 */
function reloadTimes(mod: RunningModule, agentLog: string, from: number, to: number) {
  const published = new Map<string, number>();
  for (const l of mod.logs())
    if (l.msg === "published data-plane config" && l.gateway === GW && Number(l.time) >= from && Number(l.time) < to)
      published.set(String(l.generation), Number(l.time));
  const ms: number[] = [];
  let runtime = 0;
  for (const l of jsonLines(agentLog)) {
    const t = published.get(String(l.generation));
    if (t === undefined) continue;
    if (l.msg === "config reloaded") ms.push(Date.parse(String(l.time)) - t);
    if (l.msg === "config runtime") runtime++;
  }
  const { n, p50, p90, p99, max } = stats(ms);
  return { published: published.size, reloads: ms.length, runtime, n, p50, p90, p99, max };
}

/** Sum of `patched` in the module's "reconciled" lines in [from, to): status writes of every kind. */
const patchedInLog = (mod: RunningModule, from: number, to: number) =>
  mod
    .logs()
    .filter((l) => l.msg === "reconciled" && Number(l.time) >= from && Number(l.time) < to)
    .reduce((t, l) => t + Number(l.patched ?? 0), 0);

// ---------------------------------------------------------------------------------------------
// Probes

let address = "";
const wireAgent = new http.Agent({ keepAlive: true, maxSockets: 8 });

const status = (i: number, agent?: http.Agent) =>
  get(address, pathOf(i), { host: host(i), agent }).then(
    (r) => r.status,
    () => 0,
  );

/** ms from t0 until route i answers `want` (a fresh connection every 5 ms), or undefined after WIRE_CAP_MS. */
async function untilWire(t0: number, i: number, want: number): Promise<number | undefined> {
  for (let n = 0; n < WIRE_CAP_MS / 5 && performance.now() - t0 < WIRE_CAP_MS; n++) {
    if ((await status(i)) === want) return performance.now() - t0;
    await sleep(5);
  }
  return undefined;
}

/** Times `write` (from just before it; it throws when refused) until route i answers `want`. */
async function timed(write: () => Promise<unknown>, i: number, want: number): Promise<number | undefined> {
  const t0 = performance.now();
  await write();
  return untilWire(t0, i, want);
}

const listenerAttached = async () => {
  const gw = await apiJson<{ status?: { listeners?: { attachedRoutes: number }[] } }>("GET", objectPath(gateway));
  return gw.status?.listeners?.[0]?.attachedRoutes ?? 0;
};

// ---------------------------------------------------------------------------------------------
// Phases

/** Adds routes [from, n), then times the settle and counts status writes (route watch events). */
async function grow(from: number, n: number, mod: RunningModule) {
  const routesPath = `/apis/${GWAPI}/httproutes?labelSelector=crossway-bench%3D1`;
  const list = await apiJson<{ metadata: { resourceVersion: string } }>("GET", `${routesPath}&limit=1`);
  const isNew = (key: string) => Number(/\/r(\d+)$/.exec(key)?.[1]) >= from;
  const writes = new Map<string, number>();
  /** When the last new route got its first status write. */
  let lastFirstWrite = 0;
  const w = watch(routesPath, list.metadata.resourceVersion, 3600, (e) => {
    // The bench never changes a route's spec after creating it: every MODIFIED is a status write.
    if (e.type === "MODIFIED") {
      const key = `${e.object.metadata?.namespace}/${e.object.metadata?.name}`;
      if (!writes.has(key) && isNew(key)) lastFirstWrite = performance.now();
      writes.set(key, (writes.get(key) ?? 0) + 1);
    }
  });
  const logFrom = Date.now();
  const c0 = performance.now();
  await inPool(
    Array.from({ length: n - from }, (_, k) => from + k),
    CONCURRENCY,
    (i) => apply(route(i), "crossway-bench"),
  );
  const tLast = performance.now();
  const createS = (tLast - c0) / 1000;
  const [attachedMs, wireMs] = await Promise.all([
    (async () => {
      for (let k = 0; k < SETTLE_CAP_MS / 20 && performance.now() - tLast < SETTLE_CAP_MS; k++) {
        if ((await listenerAttached().catch(() => 0)) >= n) return performance.now() - tLast;
        await sleep(20);
      }
      return undefined;
    })(),
    (async () => {
      for (let k = 0; k < SETTLE_CAP_MS / 5 && performance.now() - tLast < SETTLE_CAP_MS; k++) {
        if ((await status(n - 1)) === 200) return performance.now() - tLast;
        await sleep(5);
      }
      return undefined;
    })(),
  ]);
  // Every new route's status written (the status writer goes route by route after the Gateway's).
  const newWritten = () => [...writes.keys()].filter(isNew).length;
  for (let k = 0; k < SETTLE_CAP_MS / 50 && newWritten() < n - from && performance.now() - tLast < SETTLE_CAP_MS; k++)
    await sleep(50);
  const statusMs = newWritten() === n - from ? lastFirstWrite - tLast : undefined;
  // Late writes count too: keep watching a while after everything says it is settled.
  await sleep(3000);
  w.stop();
  if (w.ended()) console.log(`  note: the route watch ended early (${w.ended()}); status writes undercounted`);
  let newWrites = 0;
  let olderWrites = 0;
  let newTouched = 0;
  for (const [key, count] of writes)
    if (isNew(key)) {
      newWrites += count;
      newTouched++;
    } else olderWrites += count;
  // Every route answers 200 (or an even spread of SWEEP_MAX of them).
  const step = Math.max(1, Math.floor(n / SWEEP_MAX));
  const swept: number[] = [];
  for (let i = 0; i < n; i += step) swept.push(i);
  const wrong: string[] = [];
  await inPool(swept, 4, async (i) => {
    const s = await status(i, wireAgent);
    if (s !== 200) wrong.push(`r${i}:${s}`);
  });
  return {
    added: n - from,
    createS: round1(createS),
    attachedMs: attachedMs === undefined ? null : Math.round(attachedMs),
    wireMs: wireMs === undefined ? null : Math.round(wireMs),
    allRouteStatusesMs: statusMs === undefined ? null : Math.round(statusMs),
    sweep: { checked: swept.length, wrong: wrong.length, examples: wrong.slice(0, 5) },
    statusWrites: {
      perNewRoute: round2(newWrites / (n - from)),
      newRoutesWritten: newTouched,
      olderRoutes: olderWrites,
      moduleLogPatchedAllKinds: patchedInLog(mod, logFrom, Date.now()),
    },
  };
}

const round1 = (x: number) => Math.round(x * 10) / 10;
const round2 = (x: number) => Math.round(x * 100) / 100;

const nsPatch = (k: number, value: string | null) =>
  apiJson(
    "PATCH",
    `/api/v1/namespaces/${routeNs(k)}`,
    { metadata: { labels: { [LABEL]: value } } },
    "application/merge-patch+json",
  );

/** change→traffic, one change at a time; each revocation is undone (untimed→timed restore) so N stays. */
async function latencies(n: number) {
  const samples = Array.from({ length: SAMPLES }, (_, s) => n + s);
  const add: (number | undefined)[] = [];
  const del: (number | undefined)[] = [];
  for (const i of samples) {
    add.push(await timed(() => apply(route(i), "crossway-bench"), i, 200));
    await sleep(200);
  }
  for (const i of samples) {
    del.push(await timed(() => apiJson("DELETE", objectPath(route(i))), i, 404));
    await sleep(200);
  }
  // Namespace k's probe is route k (k < M ≤ n): label and grant revocations hit all of k's routes.
  const ks = Array.from({ length: Math.min(SAMPLES, M, n) }, (_, k) => k);
  const labelOff: (number | undefined)[] = [];
  const labelOn: (number | undefined)[] = [];
  for (const k of ks) {
    labelOff.push(await timed(() => nsPatch(k, null), k, 404));
    labelOn.push(await timed(() => nsPatch(k, "on"), k, 200));
    await sleep(200);
  }
  const grantOff: (number | undefined)[] = [];
  const grantOn: (number | undefined)[] = [];
  for (const k of ks) {
    grantOff.push(await timed(() => apiJson("DELETE", objectPath(grant(k))), k, 500));
    grantOn.push(await timed(() => apply(grant(k), "crossway-bench"), k, 200));
    await sleep(200);
  }
  return {
    newRoute: stats(add),
    deletedRoute: stats(del),
    labelRevoked: stats(labelOff),
    labelRestored: stats(labelOn),
    grantRemoved: stats(grantOff),
    grantRestored: stats(grantOn),
  };
}

const WEBHOOK = "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/pepr-crossway";

/** Server-side dry-run creates of a route, timed: with the module's webhook registered, then without. */
async function admission() {
  const dryRun = async (tag: string) => {
    const ms: number[] = [];
    for (let j = 0; j < ADMISSION_SAMPLES + 3; j++) {
      const r = route(0, `dry-${tag}-${j}`);
      const t0 = performance.now();
      const res = await api("POST", `${collectionPath(r.apiVersion, r.kind, r.metadata.namespace)}?dryRun=All`, r);
      if (res.status !== 201) throw new Error(`dry-run create: HTTP ${res.status} ${res.body.slice(0, 300)}`);
      if (j >= 3) ms.push(performance.now() - t0); // the first 3 warm connections and caches
    }
    return stats(ms);
  };
  const withHook = await dryRun("with");
  const saved = await apiJson<{ metadata: Record<string, unknown> }>("GET", WEBHOOK);
  await api("DELETE", WEBHOOK);
  try {
    await sleep(3000); // the API server's webhook configuration is informer-fed
    const withoutHook = await dryRun("without");
    return { withWebhook: withHook, withoutWebhook: withoutHook, webhookP50Ms: withHook.p50 - withoutHook.p50 };
  } finally {
    const { name, labels, annotations } = saved.metadata;
    await apiJson("POST", WEBHOOK.slice(0, WEBHOOK.lastIndexOf("/")), {
      ...saved,
      metadata: { name, labels, annotations },
    });
    await sleep(3000);
  }
}

// ---------------------------------------------------------------------------------------------

async function setup() {
  const routeNamespaces = Array.from({ length: M }, (_, k) => routeNs(k));
  await freshNamespaces([GW_NS, BE_NS, ...routeNamespaces], 300_000);
  await applyFile("gatewayclass.yaml");
  await inPool(
    [namespace(GW_NS), namespace(BE_NS), ...routeNamespaces.map((n) => namespace(n, { [LABEL]: "on" }))],
    CONCURRENCY,
    (o) => apply(o, "crossway-bench"),
  );
  await inPool(Array.from({ length: BACKENDS }, (_, j) => backend(j)).flat(), CONCURRENCY, (o) =>
    apply(o, "crossway-bench"),
  );
  await inPool(
    Array.from({ length: M }, (_, k) => grant(k)),
    CONCURRENCY,
    (o) => apply(o, "crossway-bench"),
  );
  await apply(gateway, "crossway-bench");
  address = await gatewayAddress(GW_NS, GW, 120_000);
  await eventually(
    `${BACKENDS} echo backends ready`,
    async () => {
      for (let j = 0; j < BACKENDS; j++) {
        const d = await apiJson<{ status?: { readyReplicas?: number } }>(
          "GET",
          `/apis/apps/v1/namespaces/${BE_NS}/deployments/be${j}`,
        );
        if (!d.status?.readyReplicas) return undefined;
      }
      return true;
    },
    120_000,
    500,
  );
}

const fmtStats = (s: Stats) =>
  `${String(s.p50).padStart(5)} ${String(s.p90).padStart(5)} ${String(s.p99).padStart(5)}  (n=${s.n}${s.timeouts ? `, ${s.timeouts} timed out` : ""})`;

async function main() {
  const machine = { cores: cpus().length, loadavgStart: loadavg().map(round2) };
  console.log(
    `crossway control plane: one Gateway, routes from ${M} namespaces (allowedRoutes Selector + ReferenceGrants), ` +
      `${BACKENDS} echo backends; sizes ${SIZES.join(", ")}; ${SAMPLES} samples per change kind`,
  );
  console.log(
    `machine: ${machine.cores} cores, load average ${machine.loadavgStart.join(" ")} at start (shared with other work: figures drift)`,
  );
  console.log(
    "as deployed (watcher + admission pods): NOT MEASURED — the local cluster's node runs pods as host processes from a " +
      "fixed image map (echo-basic, haproxy, node), and the module's controller image is not one of them, so the " +
      "deployed shape cannot run here yet; below is dev mode (one process: watches, reconcile loop and webhook)",
  );
  await ensureCluster();
  const mod = await startModule({ kubeconfig: KUBECONFIG, readyTimeoutMs: 120_000, lockTimeoutMs: 600_000 });
  const sampler = new Sampler(mod.pid);
  sampler.start();
  const results: Record<string, unknown>[] = [];
  try {
    await setup();
    let have = 0;
    for (const n of SIZES) {
      if (n < have || n < M) throw new Error(`--routes must grow and be ≥ --namespaces (${M}): got ${n} after ${have}`);
      const t0 = Date.now();
      const cpu0 = sampler.cpuS();
      const settle = await grow(have, n, mod);
      have = n;
      const cpuSettle = sampler.cpuS() - cpu0;
      const settleWall = (Date.now() - t0) / 1000;
      const pod = await dataPlanePod();
      sampler.haproxyMaster = pod.haproxyPid;
      await sleep(2000); // let the last reconcile and reload finish before timing single changes
      const lat = await latencies(n);
      const adm = await admission();
      const end = procSample(mod.pid);
      const agentLog = join(DIRS.node, "logs", `${GW_NS}_${pod.name}_agent.log`);
      const reload = reloadTimes(mod, agentLog, t0, Date.now());
      const r = {
        routes: n,
        namespaces: M,
        loadavg: loadavg().map(round2),
        settle,
        latencyMs: lat,
        admissionMs: adm,
        controller: {
          mode: "dev (one process)",
          cpuSecondsDuringGrowAndSettle: round1(cpuSettle),
          cpuPercentDuringGrowAndSettle: Math.round((cpuSettle / settleWall) * 100),
          rssEndMiB: Math.round(end?.rssMiB ?? NaN),
          rssPeakMiB: Math.round(Math.max(sampler.moduleRssPeak, end?.peakRssMiB ?? 0)),
        },
        haproxy: {
          publishToServingMs: reload,
          rssEndMiB: Math.round(sampler.haproxyRss()),
          rssPeakMiB: Math.round(sampler.haproxyRssPeak),
        },
      };
      results.push(r);
      const s = r.settle;
      console.log(
        `\n== ${n} routes (${s.added} added in ${s.createS} s at concurrency ${CONCURRENCY}; load ${r.loadavg.join(" ")})`,
      );
      console.log(
        `  settle after the last write: attachedRoutes=${n} in ${s.attachedMs} ms; last route on the wire in ${s.wireMs} ms; ` +
          `every new route's status written in ${s.allRouteStatusesMs} ms`,
      );
      console.log(
        `  wire sweep: ${s.sweep.checked} routes checked, ${s.sweep.wrong} not answering 200 ${s.sweep.examples.join(" ")}`,
      );
      console.log(
        `  status writes per new route: ${s.statusWrites.perNewRoute} (route watch MODIFIED events; ${s.statusWrites.newRoutesWritten}/${s.added} written, ` +
          `${s.statusWrites.olderRoutes} on older routes; module log "patched", all kinds: ${s.statusWrites.moduleLogPatchedAllKinds})`,
      );
      console.log(`  change → traffic (ms)         p50   p90   p99`);
      const rows: [string, Stats][] = [
        ["new route → 200", lat.newRoute],
        ["deleted route → 404", lat.deletedRoute],
        ["ns label removed → 404", lat.labelRevoked],
        ["ns label restored → 200", lat.labelRestored],
        ["grant removed → 500", lat.grantRemoved],
        ["grant restored → 200", lat.grantRestored],
      ];
      for (const [what, st] of rows) console.log(`    ${what.padEnd(26)} ${fmtStats(st)}`);
      console.log(
        `  admission, dry-run create (ms): with webhook p50 ${adm.withWebhook.p50} p90 ${adm.withWebhook.p90}; ` +
          `without p50 ${adm.withoutWebhook.p50} p90 ${adm.withoutWebhook.p90}; webhook ≈ ${adm.webhookP50Ms} ms per write`,
      );
      console.log(
        `  controller (dev process): CPU ${r.controller.cpuSecondsDuringGrowAndSettle} s while growing+settling ` +
          `(${r.controller.cpuPercentDuringGrowAndSettle}% of a core); RSS end ${r.controller.rssEndMiB} MiB, peak ${r.controller.rssPeakMiB} MiB`,
      );
      console.log(
        `  haproxy: publish → new worker serving p50 ${reload.p50} p90 ${reload.p90} max ${reload.max} ms ` +
          `(${reload.reloads} reloads, ${reload.runtime} runtime-API updates, ${reload.published} configs published); ` +
          `RSS master+workers end ${r.haproxy.rssEndMiB} MiB, peak ${r.haproxy.rssPeakMiB} MiB`,
      );
    }
  } finally {
    sampler.stop();
    await stopModule().catch((e) => console.error(`stopping the module: ${e}`));
    // deleted and waited for (bounded), so the next run or suite starts clean
    await freshNamespaces([GW_NS, BE_NS, ...Array.from({ length: M }, (_, k) => routeNs(k))], 300_000).catch((e) =>
      console.error(`deleting the bench namespaces: ${e}`),
    );
    wireAgent.destroy();
    closeApi();
  }
  console.log(
    JSON.stringify({ bench: "control-plane", machine: { ...machine, loadavgEnd: loadavg().map(round2) }, results }),
  );
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exitCode = 1;
});
