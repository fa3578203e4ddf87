/**
 * Where the local cluster lives and how it is wired: one place for paths, ports, addresses and
 * the pinned versions (read from hack/build/versions.env, which hack/build/binaries.sh also reads).
 */
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO = resolve(fileURLToPath(new URL("../..", import.meta.url)));

const readVersions = (): Record<string, string> => {
  const file = join(REPO, "hack/build/versions.env");
  const out: Record<string, string> = {};
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const m =
      /^\s*([A-Z0-9_]+)="?\$\{[A-Z0-9_]+:-([^}]+)\}"?\s*$/.exec(line) ?? /^\s*([A-Z0-9_]+)="?([^"$]+)"?\s*$/.exec(line);
    if (m) out[m[1]] = process.env[m[1]] ?? m[2];
  }
  for (const k of ["K8S_VERSION", "ETCD_VERSION", "GATEWAY_API_VERSION", "HELM_VERSION"]) {
    if (!out[k]) throw new Error(`${file} does not define ${k}`);
  }
  return out;
};
const versions = readVersions();
export const K8S_VERSION = versions.K8S_VERSION;
const ETCD_VERSION = versions.ETCD_VERSION;
export const GATEWAY_API_VERSION = versions.GATEWAY_API_VERSION;
const HELM_VERSION = versions.HELM_VERSION;

export const CACHE = process.env.CROSSWAY_CACHE ?? join(homedir(), ".cache/crossway");
export const BIN = {
  etcd: join(CACHE, `etcd-${ETCD_VERSION}/bin/etcd`),
  apiserver: join(CACHE, `k8s-${K8S_VERSION}/bin/kube-apiserver`),
  controllerManager: join(CACHE, `k8s-${K8S_VERSION}/bin/kube-controller-manager`),
  kubectl: join(CACHE, `k8s-${K8S_VERSION}/bin/kubectl`),
  echoBasic: join(CACHE, `echo-basic-${GATEWAY_API_VERSION}/bin/echo-basic`),
  helm: join(CACHE, `helm-${HELM_VERSION}/bin/helm`),
} as const;

/** Everything the running cluster owns; gitignored. */
export const LOCAL = join(REPO, ".local");
export const DIRS = {
  local: LOCAL,
  pki: join(LOCAL, "pki"),
  etcd: join(LOCAL, "etcd"),
  logs: join(LOCAL, "logs"),
  pids: join(LOCAL, "pids"),
  bin: join(LOCAL, "bin"),
  node: join(LOCAL, "node"),
} as const;
export const KUBECONFIG = join(LOCAL, "kubeconfig");
export const KUBECTL_WRAPPER = join(DIRS.bin, "kubectl");
/** `.local/bin/helm`: helm against the local cluster (its admin kubeconfig). */
export const HELM_WRAPPER = join(DIRS.bin, "helm");

/** Pod network, owned by the node agent: bridge crossway0 carries the gateway address. */
export const BRIDGE = "crossway0";
export const BRIDGE_IP = "10.244.0.1";
export const POD_CIDR = "10.244.0.0/16";
export const SERVICE_CIDR = "10.96.0.0/16";
export const KUBERNETES_SERVICE_IP = "10.96.0.1";
export const NODE_NAME = "crossway-node";

export const ETCD_CLIENT_PORT = 2379;
export const ETCD_PEER_PORT = 2380;
/** Bound on 0.0.0.0 so pods (in their own network namespaces) reach it at BRIDGE_IP. */
export const APISERVER_PORT = 6443;
export const APISERVER_URL = `https://127.0.0.1:${APISERVER_PORT}`;
export const CONTROLLER_MANAGER_PORT = 10257;

export const NODE_AGENT = join(REPO, "hack/node/agent.ts");
export const GATEWAY_API_CRDS = join(REPO, `vendor/gateway-api/${GATEWAY_API_VERSION}/standard-install.yaml`);
/** crossway's own CRDs (RouteOwnershipPolicy, RouteOwnershipIndex): a folder, installed next to Gateway API's. */
export const CROSSWAY_CRDS = join(REPO, "crds");
