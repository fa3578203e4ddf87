/**
 * `npm run local:up`: a real local Kubernetes control plane from Go-built binaries, no Docker.
 * etcd → kube-apiserver → kube-controller-manager → Gateway API CRDs → node agent, each step
 * skipped when already done (idempotent), every wait bounded. ensureCluster() is the same code
 * for test suites (one shared cluster; `npm run local:down` stops it).
 */
import { existsSync, mkdirSync, readFileSync, readdirSync } from "node:fs";
import net from "node:net";
import { fileURLToPath } from "node:url";
import { join, resolve } from "node:path";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { parseAllDocuments } from "yaml";
import {
  APISERVER_PORT,
  APISERVER_URL,
  BIN,
  DIRS,
  ETCD_CLIENT_PORT,
  GATEWAY_API_CRDS,
  CROSSWAY_CRDS,
  KUBECONFIG,
  KUBECTL_WRAPPER,
  NODE_AGENT,
  NODE_NAME,
  REPO,
} from "./config.js";
import { apiserver, controllerManager, etcd, ETCD_URL, nodeAgent } from "./components.js";
import { apiGet, httpGet, waitFor } from "./http.js";
import { writeKubeconfigs } from "./kubeconfig.js";
import { withLock } from "./lock.js";
import { log } from "./log.js";
import { ensurePki } from "./pki.js";
import { assertRunning, ensureRunning, logFile, runningPid, stop, type ProcSpec } from "./proc.js";

const run = promisify(execFile);

export interface ClusterInfo {
  kubeconfig: string;
  kubectl: string;
  server: string;
  processes: { name: string; pid: number; started: boolean; log: string }[];
  /** False when hack/node/agent.ts does not exist (yet): no Node, pods stay Pending. */
  node: boolean;
  elapsedMs: number;
}

export interface UpOptions {
  /** Start the node agent and wait for its Node to be Ready (default true; CROSSWAY_NO_NODE=1 → false). */
  node?: boolean;
}

const portInUse = (port: number) =>
  new Promise<boolean>((done) => {
    const s = net.connect({ host: "127.0.0.1", port });
    s.once("connect", () => (s.destroy(), done(true)));
    s.once("error", () => done(false));
    s.setTimeout(1000, () => (s.destroy(), done(false)));
  });

/** Refuses to start a component whose port another (foreign) process already holds. */
async function start(spec: ProcSpec, port?: number) {
  if (port !== undefined && !runningPid(spec.name, spec.marker) && (await portInUse(port))) {
    throw new Error(`cannot start ${spec.name}: 127.0.0.1:${port} is in use by a process crossway did not start`);
  }
  return ensureRunning(spec);
}

/** How long a component found running (not started by this call) gets to prove it is ready. */
const FOUND_RUNNING_GRACE_MS = 15_000;

/**
 * Starts `spec` if needed and waits for `ready`. A component that was already running but is not
 * ready within FOUND_RUNNING_GRACE_MS (e.g. a kube-apiserver in its minute-long graceful shutdown)
 * is stopped and started once more; one started by this call that exits or stays unready fails
 * with a specific message (the log tail if it exited).
 */
async function startAndWait(
  spec: ProcSpec,
  what: string,
  ready: () => Promise<unknown>,
  timeoutMs: number,
  port?: number,
) {
  for (let attempt = 0; ; attempt++) {
    const r = await start(spec, port);
    const timeout = r.started ? timeoutMs : Math.min(timeoutMs, FOUND_RUNNING_GRACE_MS);
    try {
      await waitFor(what, async () => (await ready(), true), {
        timeoutMs: timeout,
        intervalMs: 250,
        guard: () => assertRunning(spec.name, spec.marker),
      });
      return r;
    } catch (err) {
      if (r.started || attempt > 0) throw err;
      log.warn(
        { proc: spec.name, pid: r.pid, err: (err as Error).message },
        "was running but not ready; restarting it",
      );
      await stop(spec.name, r.pid, spec.marker, 5_000);
    }
  }
}

const checkBinaries = () => {
  const missing = Object.entries(BIN).filter(([, p]) => !existsSync(p));
  if (missing.length) {
    throw new Error(`missing binaries: ${missing.map(([, p]) => p).join(", ")} — run hack/build/binaries.sh first`);
  }
};

const json = <T>(body: string) => JSON.parse(body) as T;
type Conditions = { status?: { conditions?: { type: string; status: string }[] } };
const hasCondition = (o: Conditions, type: string) =>
  o.status?.conditions?.some((c) => c.type === type && c.status === "True") ?? false;

async function installCrds() {
  const crosswayFiles = readdirSync(CROSSWAY_CRDS)
    .filter((f) => f.endsWith(".yaml"))
    .map((f) => join(CROSSWAY_CRDS, f));
  const names = [GATEWAY_API_CRDS, ...crosswayFiles].flatMap((file) =>
    parseAllDocuments(readFileSync(file, "utf8"))
      .map((d) => d.toJS() as { kind?: string; metadata?: { name?: string } } | null)
      .filter((d) => d?.kind === "CustomResourceDefinition")
      .map((d) => d!.metadata!.name!),
  );
  try {
    await run(BIN.kubectl, [
      "--kubeconfig",
      KUBECONFIG,
      "apply",
      "--server-side",
      "--force-conflicts",
      "--field-manager=crossway-local",
      "-f",
      GATEWAY_API_CRDS,
      "-f",
      CROSSWAY_CRDS,
    ]);
  } catch (err) {
    throw new Error(`installing ${GATEWAY_API_CRDS} failed: ${(err as { stderr?: string }).stderr ?? err}`);
  }
  await waitFor(
    `${names.length} Gateway API CRDs to be Established`,
    async () => {
      const notYet: string[] = [];
      for (const n of names) {
        const r = await apiGet(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${n}`);
        if (r.status !== 200 || !hasCondition(json<Conditions>(r.body), "Established")) notYet.push(n);
      }
      if (notYet.length) throw new Error(`not Established: ${notYet.join(", ")}`);
      return true;
    },
    { timeoutMs: 30_000 },
  );
  return names;
}

/** Readiness probes: resolve when ready, throw with the reason otherwise. */
const etcdHealthy = async () => {
  const r = await httpGet(`${ETCD_URL}/health`);
  if (r.status !== 200) throw new Error(`etcd /health: HTTP ${r.status} ${r.body}`);
};
const apiserverReady = async () => {
  const r = await apiGet("/readyz");
  if (r.status !== 200) throw new Error(`/readyz: HTTP ${r.status} ${r.body.slice(0, 300)}`);
};
const nodeReady = async () => {
  const r = await apiGet(`/api/v1/nodes/${NODE_NAME}`);
  if (r.status !== 200) throw new Error(`GET node ${NODE_NAME}: HTTP ${r.status}`);
  if (!hasCondition(json<Conditions>(r.body), "Ready")) throw new Error(`Node ${NODE_NAME} exists but is not Ready`);
};

async function up(opts: UpOptions): Promise<ClusterInfo> {
  const t0 = Date.now();
  const wantNode = opts.node ?? process.env.CROSSWAY_NO_NODE !== "1";
  checkBinaries();
  for (const d of Object.values(DIRS)) mkdirSync(d, { recursive: true, mode: 0o700 });
  await ensurePki();
  writeKubeconfigs();
  const processes: ClusterInfo["processes"] = [];
  const track = (spec: ProcSpec, r: { pid: number; started: boolean }) =>
    processes.push({ name: spec.name, pid: r.pid, started: r.started, log: logFile(spec.name) });

  const e = etcd();
  track(e, await startAndWait(e, "etcd /health", etcdHealthy, 20_000, ETCD_CLIENT_PORT));
  const a = apiserver();
  track(a, await startAndWait(a, "kube-apiserver /readyz", apiserverReady, 60_000, APISERVER_PORT));
  const c = controllerManager();
  track(c, await start(c));

  const crds = await installCrds();
  log.info({ crds: crds.length }, "Gateway API CRDs Established");

  let node = false;
  if (wantNode && !existsSync(NODE_AGENT)) {
    log.warn({ agent: NODE_AGENT }, "node agent not found: no Node is registered and pods will stay Pending");
  } else if (wantNode) {
    const n = nodeAgent();
    track(
      n,
      await startAndWait(n, `Node ${NODE_NAME} to be Ready (node agent log: ${logFile(n.name)})`, nodeReady, 60_000),
    );
    node = true;
  }

  await waitFor(
    "ServiceAccount default/default (kube-controller-manager's serviceaccount controller)",
    async () => {
      const r = await apiGet("/api/v1/namespaces/default/serviceaccounts/default");
      if (r.status !== 200) throw new Error(`HTTP ${r.status}`);
      return true;
    },
    { timeoutMs: 60_000, intervalMs: 250, guard: () => assertRunning(c.name, c.marker) },
  );

  return {
    kubeconfig: KUBECONFIG,
    kubectl: KUBECTL_WRAPPER,
    server: APISERVER_URL,
    processes,
    node,
    elapsedMs: Date.now() - t0,
  };
}

/** Starts whatever part of the local cluster is not running and returns when it is all ready. */
export const ensureCluster = (opts: UpOptions = {}) => withLock("cluster", () => up(opts));

export function summary(info: ClusterInfo): string {
  const rows = info.processes.map(
    (p) => `  ${p.name.padEnd(24)} pid ${String(p.pid).padEnd(8)} ${p.started ? "started" : "running"}  log ${p.log}`,
  );
  return [
    `crossway local cluster ready in ${(info.elapsedMs / 1000).toFixed(1)}s`,
    ...rows,
    `  API server  ${info.server} (pods: https://10.244.0.1:${APISERVER_PORT})`,
    `  kubeconfig  ${info.kubeconfig}`,
    `  kubectl     ${info.kubectl} get pods -A`,
    info.node ? `  node        ${NODE_NAME} Ready` : `  node        none (hack/node/agent.ts missing or disabled)`,
    `  stop with   npm run local:down`,
  ].join("\n");
}

const isMain = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  process.chdir(REPO);
  ensureCluster().then(
    (info) => {
      process.stdout.write(summary(info) + "\n");
    },
    (err: Error) => {
      log.error({ err: err.message }, "local:up failed");
      process.stderr.write(`local:up failed: ${err.message}\n`);
      process.exitCode = 1;
    },
  );
}
