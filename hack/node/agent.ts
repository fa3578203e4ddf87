/**
 * crossway's local node agent: the kubelet of the Docker-less local cluster. Pods run as host
 * processes in their own network namespaces (see README.md in this folder).
 *
 *   npx tsx hack/node/agent.ts --kubeconfig .local/kubeconfig --state .local/node
 *   npx tsx hack/node/agent.ts --state .local/node --cleanup
 *
 * SIGTERM/SIGINT stop the agent and leave its pods running for the next run to adopt;
 * --cleanup removes every process, netns, link and mount point it made.
 */
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { cleanupHost } from "./cleanup.js";
import { eventRecorder } from "./events.js";
import { Informer } from "./informer.js";
import { Ipam } from "./ipam.js";
import { Kube } from "./kube.js";
import { errInfo, log } from "./log.js";
import { ensureBridge, listOurNetns, netnsPids, removePodNetwork } from "./netns.js";
import { KUBELET_PORT, startKubeletServer } from "./kubelet-server.js";
import { NodeRegistration } from "./node.js";
import { PodManager } from "./pod-manager.js";
import { signalGroup } from "./process.js";
import { EndpointSlice, Service, ServiceLB } from "./services.js";
import { StateDir } from "./state.js";
import { TokenCache } from "./tokens.js";
import { ConfigMap, Pod, Secret } from "./types.js";
import { VolumeSources } from "./volumes.js";

const USAGE = "usage: agent.ts --kubeconfig <path> --state <dir> | --state <dir> --cleanup";

async function main() {
  const { values } = parseArgs({
    options: {
      kubeconfig: { type: "string" },
      state: { type: "string" },
      cleanup: { type: "boolean" },
      help: { type: "boolean" },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (!values.state) throw new Error(`--state is required (${USAGE})`);
  const stateDir = path.resolve(values.state);
  const other = runningAgent(stateDir);
  if (other) throw new Error(`another node agent (pid ${other}) is running with state dir ${stateDir}; stop it first`);
  if (values.cleanup) {
    const r = await cleanupHost(stateDir, log);
    process.exitCode = r.errors.length ? 1 : 0;
    return;
  }
  if (!values.kubeconfig) throw new Error(`--kubeconfig is required (${USAGE})`);
  if (!fs.existsSync(values.kubeconfig)) throw new Error(`kubeconfig ${values.kubeconfig} does not exist`);
  if (process.getuid?.() !== 0) throw new Error("the node agent needs root (network namespaces, bind mounts)");

  const state = new StateDir(stateDir);
  const pruned = state.pruneLogs();
  if (pruned) log.info({ files: pruned }, "removed container logs older than a day");
  fs.writeFileSync(path.join(stateDir, "agent.pid"), String(process.pid));
  const kube = await Kube.fromFile(values.kubeconfig);
  const ipam = new Ipam(stateDir);
  await ensureBridge();

  const kubeletPort = await startKubeletServer(state, log).then(
    () => KUBELET_PORT,
    (err) => {
      log.error({ err: errInfo(err) }, "node API (container logs) not available; kubectl logs will not work");
      return 0;
    },
  );
  const node = new NodeRegistration(kube, log, kubeletPort);
  await node.start();

  const tokens = new TokenCache(kube);
  let configMaps: Informer<ConfigMap> | undefined;
  let secrets: Informer<Secret> | undefined;
  const sources: VolumeSources = {
    configMap: (ns, name) => configMaps?.get(ns, name),
    secret: (ns, name) => secrets?.get(ns, name),
    token: (pod, aud, exp) => tokens.token(pod, aud, exp),
  };
  const pods = new PodManager(kube, state, ipam, sources, tokens, log, eventRecorder(kube, log));
  configMaps = new Informer<ConfigMap>(kube, "/api/v1/configmaps", (c) => pods.onObject("ConfigMap", c), log).start();
  secrets = new Informer<Secret>(kube, "/api/v1/secrets", (c) => pods.onObject("Secret", c), log).start();
  await Promise.all([configMaps.synced, secrets.synced]);

  const podInformer = new Informer<Pod>(kube, "/api/v1/pods", (c) => pods.onPod(c), log).start();
  await podInformer.synced;
  pods.reapOrphans(podInformer.list());
  // safety net: the API's view of deleted pods, whatever the workers believe (see PodManager.sweep)
  const sweep = setInterval(() => pods.sweep(podInformer.list()), 2000);
  await sweepUnknownNetns(state);

  let svcInformer: Informer<Service> | undefined;
  let sliceInformer: Informer<EndpointSlice> | undefined;
  const lb = new ServiceLB(
    kube,
    () => svcInformer!,
    () => sliceInformer!,
    log,
  );
  svcInformer = new Informer<Service>(
    kube,
    "/api/v1/services",
    (c) => c.type === "upsert" && lb.enqueue(`${c.obj.metadata.namespace}/${c.obj.metadata.name}`),
    log,
  );
  sliceInformer = new Informer<EndpointSlice>(
    kube,
    "/apis/discovery.k8s.io/v1/endpointslices",
    (c) => {
      const svc = c.obj.metadata.labels?.["kubernetes.io/service-name"];
      if (svc) lb.enqueue(`${c.obj.metadata.namespace}/${svc}`);
    },
    log,
  );
  svcInformer.start();
  sliceInformer.start();
  await Promise.all([svcInformer.synced, sliceInformer.synced]);
  lb.start();

  // no scheduler: re-offer unbound pods whose binding failed
  const resync = setInterval(() => {
    for (const p of podInformer.list())
      if (!p.spec.nodeName && !p.metadata.deletionTimestamp) pods.onPod({ type: "upsert", obj: p });
  }, 5000);

  log.info({ server: kube.server.href, state: stateDir, pods: pods.size }, "node agent running");

  const shutdown = (sig: string) => {
    log.info(
      { signal: sig },
      "node agent stopping; pods keep running for the next run to adopt (use --cleanup to remove them)",
    );
    clearInterval(resync);
    clearInterval(sweep);
    node.stop();
    for (const i of [configMaps, secrets, podInformer, svcInformer, sliceInformer]) i?.stop();
    pods.detachAll();
    fs.rmSync(path.join(stateDir, "agent.pid"), { force: true });
    process.exit(0);
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
}

/** The pid of a live agent using this state dir, if any. */
function runningAgent(stateDir: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(path.join(stateDir, "agent.pid"), "utf8").trim());
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return undefined;
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8");
    return cmdline.includes("node/agent") ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Pod network namespaces with no state record (e.g. a crash before the record was written). */
async function sweepUnknownNetns(state: StateDir) {
  const present = await listOurNetns(); // before reading records: a record is written before its netns
  const known = new Set(state.loadPods().map((r) => r.netns));
  for (const ns of present) {
    if (known.has(ns)) continue;
    log.warn({ netns: ns }, "removing pod network namespace that no pod record owns");
    for (const pid of await netnsPids(ns)) signalGroup(pid, "SIGKILL");
    await removePodNetwork(ns, `cw${ns.slice("crossway-".length)}`).catch((err) =>
      log.error({ netns: ns, err: errInfo(err) }, "could not remove netns"),
    );
  }
}

process.on("unhandledRejection", (err) =>
  log.error({ err: errInfo(err) }, "unhandled rejection (agent keeps running)"),
);
process.on("uncaughtException", (err) =>
  log.error({ err: errInfo(err), stack: err.stack }, "uncaught exception (agent keeps running)"),
);
main().catch((err) => {
  log.fatal({ err: errInfo(err) }, "node agent failed");
  process.exit(1);
});
