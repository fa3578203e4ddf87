/**
 * Node registration and heartbeat: server-side apply of Node crossway-node (labels, addresses,
 * capacity, Ready) and a Lease in kube-node-lease renewed every 10 s, so the node lifecycle
 * controller keeps the node Ready and never taints or evicts its pods.
 */
import fs from "node:fs";
import os from "node:os";
import { Kube, isStatus } from "./kube.js";
import { Log, errInfo } from "./log.js";
import { FIELD_MANAGER, NODE_IP, NODE_NAME } from "./node-info.js";

export { NODE_IP, NODE_NAME } from "./node-info.js";

const HEARTBEAT_MS = 10_000;
const applyQuery = `?fieldManager=${FIELD_MANAGER}&force=true`;

const memKi = () => {
  const m = /MemTotal:\s+(\d+) kB/.exec(fs.readFileSync("/proc/meminfo", "utf8"));
  return `${m ? m[1] : Math.floor(os.totalmem() / 1024)}Ki`;
};

const readOr = (p: string, dflt: string) => {
  try {
    return fs.readFileSync(p, "utf8").trim();
  } catch {
    return dflt;
  }
};

const microTime = (d = new Date()) => d.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");

export class NodeRegistration {
  private timer?: NodeJS.Timeout;
  private version = "v0.0.0";
  private readonly startedAt = new Date().toISOString();

  constructor(
    private readonly kube: Kube,
    private readonly log: Log,
    /** where the API server reaches this node's API (container logs); 0 when not served */
    private readonly kubeletPort: number,
  ) {}

  private conditions(now: string) {
    const c = (type: string, status: string, reason: string, message: string) => ({
      type,
      status,
      reason,
      message,
      lastHeartbeatTime: now,
      lastTransitionTime: this.startedAt,
    });
    return [
      c("Ready", "True", "KubeletReady", "crossway node agent is posting ready status"),
      c("MemoryPressure", "False", "KubeletHasSufficientMemory", "no memory pressure is tracked"),
      c("DiskPressure", "False", "KubeletHasNoDiskPressure", "no disk pressure is tracked"),
      c("PIDPressure", "False", "KubeletHasSufficientPID", "no PID pressure is tracked"),
    ];
  }

  private async applyNode() {
    await this.kube.request(
      "PATCH",
      `/api/v1/nodes/${NODE_NAME}${applyQuery}`,
      {
        apiVersion: "v1",
        kind: "Node",
        metadata: {
          name: NODE_NAME,
          labels: {
            "kubernetes.io/hostname": NODE_NAME,
            "kubernetes.io/os": "linux",
            "kubernetes.io/arch": process.arch === "x64" ? "amd64" : process.arch,
            "node.kubernetes.io/instance-type": "crossway-local",
          },
        },
        spec: { podCIDR: "10.244.0.0/16", podCIDRs: ["10.244.0.0/16"] },
      },
      "apply",
    );
    await this.applyStatus();
  }

  /** Server-side apply owns what it lists: every apply carries the whole status. */
  private async applyStatus() {
    const capacity = { cpu: String(os.cpus().length), memory: memKi(), pods: "110", "ephemeral-storage": "20Gi" };
    const now = new Date().toISOString();
    await this.kube.request(
      "PATCH",
      `/api/v1/nodes/${NODE_NAME}/status${applyQuery}`,
      {
        apiVersion: "v1",
        kind: "Node",
        metadata: { name: NODE_NAME },
        status: {
          conditions: this.conditions(now),
          // InternalIP only: the API server prefers a Hostname address, and "crossway-node" resolves nowhere
          addresses: [{ type: "InternalIP", address: NODE_IP }],
          capacity,
          allocatable: capacity,
          daemonEndpoints: { kubeletEndpoint: { Port: this.kubeletPort } },
          nodeInfo: {
            machineID: readOr("/etc/machine-id", "unknown"),
            systemUUID: readOr("/sys/class/dmi/id/product_uuid", "unknown"),
            bootID: readOr("/proc/sys/kernel/random/boot_id", "unknown"),
            kernelVersion: os.release(),
            osImage: readOr("/etc/debian_version", "")
              ? `Debian GNU/Linux ${readOr("/etc/debian_version", "")}`
              : os.type(),
            containerRuntimeVersion: "crossway-process://0.1.0",
            kubeletVersion: this.version,
            kubeProxyVersion: "",
            operatingSystem: "linux",
            architecture: process.arch === "x64" ? "amd64" : process.arch,
          },
        },
      },
      "apply",
    );
  }

  private async renewLease() {
    await this.kube.request(
      "PATCH",
      `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${NODE_NAME}${applyQuery}`,
      {
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: { name: NODE_NAME, namespace: "kube-node-lease" },
        spec: { holderIdentity: NODE_NAME, leaseDurationSeconds: 40, renewTime: microTime() },
      },
      "apply",
    );
  }

  /** Registers the node (retrying until the API server answers), then heartbeats. */
  async start(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        const v = await this.kube.request<{ gitVersion: string }>("GET", "/version");
        this.version = v.gitVersion;
        await this.applyNode();
        break;
      } catch (err) {
        this.log.warn({ attempt, err: errInfo(err) }, "node registration failed; retrying in 2s");
        await new Promise((r) => setTimeout(r, 2000));
      }
    }
    this.log.info({ node: NODE_NAME, ip: NODE_IP }, "node registered Ready");
    const beat = async () => {
      try {
        await Promise.all([this.applyStatus(), this.renewLease()]);
      } catch (err) {
        if (isStatus(err, 404)) {
          this.log.warn("Node object is gone; registering it again");
          await this.applyNode().catch((e) => this.log.warn({ err: errInfo(e) }, "node re-registration failed"));
        } else this.log.warn({ err: errInfo(err) }, "node heartbeat failed");
      }
    };
    await beat();
    this.timer = setInterval(() => void beat(), HEARTBEAT_MS);
  }

  stop() {
    clearInterval(this.timer);
  }
}
