/**
 * Engine benchmark: recompute time (median of N runs) and retained heap for 100 / 1,000 / 10,000
 * HTTPRoutes spread over 1,000 namespaces sharing one Gateway, plus the growth ratios.
 * Target: 10,000 routes < 200 ms, growth ~linear. Run: `npm run bench:engine`, which bundles the
 * engine with esbuild first (as `pepr build` ships it; tsx's on-the-fly transform is slower) and
 * runs it with --expose-gc for heap figures.
 * Bounded: fixed sizes, fixed run counts, nothing but CPU.
 */
import { performance } from "node:perf_hooks";
import { translate, type ClusterSnapshot } from "../capabilities/engine";
import { CONTROLLER_NAME } from "../capabilities/dataplane/conventions";

const NAMESPACES = 1000;
const SIZES = [100, 1_000, 10_000];
const RUNS: Record<number, number> = { 100: 15, 1_000: 11, 10_000: 11 };
const PEM = (kind: string) => Buffer.from(`-----BEGIN ${kind}-----\nMIIB\n-----END ${kind}-----\n`).toString("base64");

function snapshot(routes: number): ClusterSnapshot {
  const s: ClusterSnapshot = {
    gatewayClasses: [{ metadata: { name: "crossway", generation: 1 }, spec: { controllerName: CONTROLLER_NAME } }],
    gateways: [
      {
        metadata: { name: "shared", namespace: "infra", generation: 1 },
        spec: {
          gatewayClassName: "crossway",
          listeners: [
            { name: "http", port: 80, protocol: "HTTP", allowedRoutes: { namespaces: { from: "All" as never } } },
            {
              name: "https",
              port: 443,
              protocol: "HTTPS",
              hostname: "*.example.com",
              tls: { certificateRefs: [{ name: "wildcard" }] },
              allowedRoutes: {
                namespaces: {
                  from: "Selector" as never,
                  selector: { matchLabels: { "shared-gateway-access": "true" } },
                },
              },
            },
          ],
        },
      },
    ],
    listenerSets: [],
    httpRoutes: [],
    grpcRoutes: [],
    referenceGrants: [],
    namespaces: [{ metadata: { name: "infra" } }],
    services: [],
    endpointSlices: [],
    secrets: [
      {
        metadata: { name: "wildcard", namespace: "infra" },
        type: "kubernetes.io/tls",
        data: { "tls.crt": PEM("CERTIFICATE"), "tls.key": PEM("PRIVATE KEY") },
      },
    ],
  };
  for (let n = 0; n < NAMESPACES; n++) {
    const ns = `team-${n}`;
    s.namespaces.push({ metadata: { name: ns, labels: n % 2 === 0 ? { "shared-gateway-access": "true" } : {} } });
    s.services.push({ metadata: { name: "app", namespace: ns }, spec: { ports: [{ name: "http", port: 80 }] } });
    s.endpointSlices.push({
      metadata: { name: `app-${n}`, namespace: ns, labels: { "kubernetes.io/service-name": "app" } },
      addressType: "IPv4",
      ports: [{ name: "http", port: 8080 }],
      endpoints: [0, 1, 2].map((e) => ({
        addresses: [`10.${n >> 8}.${n & 255}.${e + 1}`],
        conditions: { ready: true },
      })),
    });
    // Every namespace lets its neighbour's routes use its Service.
    s.referenceGrants.push({
      metadata: { name: "from-neighbour", namespace: ns },
      spec: {
        from: [{ group: "gateway.networking.k8s.io", kind: "HTTPRoute", namespace: `team-${(n + 1) % NAMESPACES}` }],
        to: [{ group: "", kind: "Service", name: "app" }],
      },
    });
  }
  for (let i = 0; i < routes; i++) {
    const n = i % NAMESPACES;
    const ns = `team-${n}`;
    s.httpRoutes.push({
      metadata: {
        name: `route-${i}`,
        namespace: ns,
        generation: 1,
        // the API server's format (seconds precision)
        creationTimestamp: new Date(Date.UTC(2024, 0, 1, 0, 0, i % 3600)).toISOString().replace(".000Z", "Z"),
      },
      spec: {
        parentRefs: [{ name: "shared", namespace: "infra" }],
        hostnames: [`app${i % 500}.example.com`],
        rules: [
          {
            matches: [
              { path: { type: "PathPrefix" as never, value: `/svc-${i}` } },
              {
                path: { type: "Exact" as never, value: `/svc-${i}/health` },
                headers: [{ name: "X-Probe", value: "1" }],
              },
            ],
            backendRefs: [
              { name: "app", port: 80, weight: 90 },
              { name: "app", namespace: `team-${(n + NAMESPACES - 1) % NAMESPACES}`, port: 80, weight: 10 },
            ],
            timeouts: { request: "30s" },
          },
        ],
      },
    });
  }
  return s;
}

import { cpus, loadavg } from "node:os";

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const gc = (globalThis as { gc?: () => void }).gc;
const opts = { controllerName: CONTROLLER_NAME };

const results: { routes: number; ms: number; cpuMs: number; heapMB: number; rules: number }[] = [];
for (const routes of SIZES) {
  const snap = snapshot(routes);
  translate(snap, opts); // warm-up (JIT)
  const times: number[] = [];
  const cpu: number[] = [];
  let kept: ReturnType<typeof translate> | undefined;
  for (let r = 0; r < RUNS[routes]; r++) {
    kept = undefined;
    gc?.();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    kept = translate(snap, opts);
    times.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  kept = undefined;
  gc?.();
  const after = process.memoryUsage().heapUsed;
  gc?.();
  kept = translate(snap, opts);
  gc?.();
  const retained = Math.max(0, process.memoryUsage().heapUsed - after); // noise can dip below 0 at 100 routes
  const rules = kept.ir.reduce(
    (n, g) =>
      n +
      g.ports.reduce(
        (m, p) => m + p.listeners.reduce((k, l) => k + l.virtualHosts.reduce((j, v) => j + v.rules.length, 0), 0),
        0,
      ),
    0,
  );
  results.push({ routes, ms: median(times), cpuMs: median(cpu), heapMB: retained / 2 ** 20, rules });
  console.log(
    `${String(routes).padStart(6)} routes / ${NAMESPACES} namespaces: median ${median(times).toFixed(1)} ms of ${RUNS[routes]} runs` +
      ` (min ${Math.min(...times).toFixed(1)}, max ${Math.max(...times).toFixed(1)}; CPU median ${median(cpu).toFixed(1)} ms); result heap ${(retained / 2 ** 20).toFixed(1)} MiB` +
      `; ${rules} IR rules; statuses ${kept.statuses.length}`,
  );
}
for (let i = 1; i < results.length; i++) {
  const a = results[i - 1];
  const b = results[i];
  console.log(
    `growth ${a.routes} → ${b.routes} routes (x${b.routes / a.routes}): wall time x${(b.ms / a.ms).toFixed(2)}, CPU time x${(b.cpuMs / a.cpuMs).toFixed(2)}`,
  );
}
const big = results[results.length - 1];
console.log(
  `10,000 routes: median ${big.ms.toFixed(1)} ms wall, ${big.cpuMs.toFixed(1)} ms CPU (target < 200 ms): ${big.ms < 200 ? "OK" : "OVER TARGET"}` +
    ` (load average ${loadavg()[0].toFixed(2)} on ${cpus().length} cores)`,
);
if (!gc) console.log("(run with node --expose-gc for precise heap figures; npm run bench:engine does)");
