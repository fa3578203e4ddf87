/** The command lines of the control-plane processes and the node agent. */
import {
  APISERVER_PORT,
  BIN,
  BRIDGE_IP,
  CONTROLLER_MANAGER_PORT,
  DIRS,
  ETCD_CLIENT_PORT,
  ETCD_PEER_PORT,
  KUBECONFIG,
  NODE_AGENT,
  POD_CIDR,
  REPO,
  SERVICE_CIDR,
} from "./config.js";
import { CONTROLLER_MANAGER_KUBECONFIG } from "./kubeconfig.js";
import { PKI } from "./pki.js";
import type { ProcSpec } from "./proc.js";

export const ETCD_URL = `http://127.0.0.1:${ETCD_CLIENT_PORT}`;

export const etcd = (): ProcSpec => ({
  name: "etcd",
  cmd: BIN.etcd,
  marker: BIN.etcd,
  args: [
    "--name=crossway",
    `--data-dir=${DIRS.etcd}`,
    `--listen-client-urls=${ETCD_URL}`,
    `--advertise-client-urls=${ETCD_URL}`,
    `--listen-peer-urls=http://127.0.0.1:${ETCD_PEER_PORT}`,
    `--initial-advertise-peer-urls=http://127.0.0.1:${ETCD_PEER_PORT}`,
    `--initial-cluster=crossway=http://127.0.0.1:${ETCD_PEER_PORT}`,
    "--initial-cluster-state=new",
    // A throwaway development cluster on a shared disk: durability is not worth the fsync latency.
    "--unsafe-no-fsync",
    "--log-level=warn",
  ],
});

export const apiserver = (): ProcSpec => ({
  name: "kube-apiserver",
  cmd: BIN.apiserver,
  marker: BIN.apiserver,
  args: [
    `--etcd-servers=${ETCD_URL}`,
    // All interfaces, so pods in their network namespaces reach it through the bridge at BRIDGE_IP.
    "--bind-address=0.0.0.0",
    `--secure-port=${APISERVER_PORT}`,
    `--advertise-address=${BRIDGE_IP}`,
    `--tls-cert-file=${PKI.apiserverCert}`,
    `--tls-private-key-file=${PKI.apiserverKey}`,
    `--client-ca-file=${PKI.caCert}`,
    `--service-account-issuer=https://kubernetes.default.svc.cluster.local`,
    `--service-account-key-file=${PKI.saPub}`,
    `--service-account-signing-key-file=${PKI.saKey}`,
    `--service-cluster-ip-range=${SERVICE_CIDR}`,
    "--authorization-mode=Node,RBAC",
    // The default admission chain plus NodeRestriction, as kubeadm runs it.
    "--enable-admission-plugins=NodeRestriction",
    // Webhooks and aggregated APIs behind Services are called at an endpoint IP (there is no kube-proxy).
    "--enable-aggregator-routing=true",
    // Aggregation layer (front proxy), as kubeadm configures it.
    `--requestheader-client-ca-file=${PKI.frontProxyCaCert}`,
    "--requestheader-allowed-names=front-proxy-client",
    "--requestheader-username-headers=X-Remote-User",
    "--requestheader-group-headers=X-Remote-Group",
    "--requestheader-extra-headers-prefix=X-Remote-Extra-",
    `--proxy-client-cert-file=${PKI.frontProxyClientCert}`,
    `--proxy-client-key-file=${PKI.frontProxyClientKey}`,
    "--allow-privileged=true",
    "--profiling=false",
  ],
});

export const controllerManager = (): ProcSpec => ({
  name: "kube-controller-manager",
  cmd: BIN.controllerManager,
  marker: BIN.controllerManager,
  args: [
    `--kubeconfig=${CONTROLLER_MANAGER_KUBECONFIG}`,
    `--authentication-kubeconfig=${CONTROLLER_MANAGER_KUBECONFIG}`,
    `--authorization-kubeconfig=${CONTROLLER_MANAGER_KUBECONFIG}`,
    "--bind-address=127.0.0.1",
    `--secure-port=${CONTROLLER_MANAGER_PORT}`,
    `--requestheader-client-ca-file=${PKI.frontProxyCaCert}`,
    `--root-ca-file=${PKI.caCert}`,
    `--service-account-private-key-file=${PKI.saKey}`,
    "--use-service-account-credentials=true",
    `--cluster-signing-cert-file=${PKI.caCert}`,
    `--cluster-signing-key-file=${PKI.caKey}`,
    `--cluster-cidr=${POD_CIDR}`,
    `--service-cluster-ip-range=${SERVICE_CIDR}`,
    // Everything except what needs a cloud or node CIDR allocation, and node lifecycle: the node agent
    // heartbeats one Node, and eviction of its pods on a missed heartbeat would only hide agent bugs.
    "--controllers=*,-node-ipam-controller,-node-lifecycle-controller,-cloud-node-lifecycle-controller,-service-lb-controller,-node-route-controller",
    // One instance: no leader election, so a restart does not wait out a stale lease.
    "--leader-elect=false",
  ],
});

export const nodeAgent = (): ProcSpec => ({
  name: "node",
  cmd: process.execPath,
  marker: NODE_AGENT,
  args: ["--import", "tsx", NODE_AGENT, "--kubeconfig", KUBECONFIG, "--state", DIRS.node],
  cwd: REPO,
});
