/** A pod's phase and conditions from its containers' states (kubelet's rules, no readiness gates). */
import { Ctr, isRunning, renderStatus } from "./container-status.js";
import { NODE_IP } from "./node-info.js";
import { Pod, PodCondition, PodStatus } from "./types.js";

export interface PodView {
  pod: Pod;
  ip?: string;
  sandboxReady: boolean;
  sandboxMessage?: string;
  init: Ctr[];
  main: Ctr[];
  startTime: string;
}

export function podPhase(v: PodView): "Pending" | "Running" | "Succeeded" | "Failed" {
  const policy = v.pod.spec.restartPolicy ?? "Always";
  if (v.init.some((c) => !c.done && c.terminated && c.terminated.exitCode !== 0 && policy === "Never" && !isRunning(c)))
    return "Failed";
  const initDone = v.init.every((c) => c.done);
  if (!initDone || !v.sandboxReady) return "Pending";
  if (v.main.every((c) => c.done))
    return v.main.some((c) => (c.terminated?.exitCode ?? 0) !== 0) ? "Failed" : "Succeeded";
  if (v.main.every((c) => c.everStarted)) return "Running";
  return "Pending";
}

const cond = (type: string, ok: boolean, reason?: string, message?: string): PodCondition => ({
  type,
  status: ok ? "True" : "False",
  lastProbeTime: null,
  ...(reason ? { reason } : {}),
  ...(message ? { message } : {}),
});

export function buildStatus(v: PodView, now: string): PodStatus {
  const phase = podPhase(v);
  const terminal = phase === "Succeeded" || phase === "Failed";
  const initDone = v.init.every((c) => c.done);
  const unready = v.main.filter((c) => !(c.ready && isRunning(c))).map((c) => c.spec.name);
  const uninit = v.init.filter((c) => !c.done).map((c) => c.spec.name);
  const containersReady = unready.length === 0 && !terminal;
  const notReadyReason = terminal ? "PodCompleted" : "ContainersNotReady";
  const notReadyMsg = terminal ? undefined : `containers with unready status: [${unready.join(" ")}]`;
  const conditions = [
    cond("PodReadyToStartContainers", v.sandboxReady),
    cond(
      "Initialized",
      initDone,
      initDone ? undefined : "ContainersNotInitialized",
      initDone ? undefined : `containers with incomplete status: [${uninit.join(" ")}]`,
    ),
    cond(
      "Ready",
      containersReady,
      containersReady ? undefined : notReadyReason,
      containersReady ? undefined : notReadyMsg,
    ),
    cond(
      "ContainersReady",
      containersReady,
      containersReady ? undefined : notReadyReason,
      containersReady ? undefined : notReadyMsg,
    ),
    cond("PodScheduled", true),
  ];
  // keep lastTransitionTime while a condition's status is unchanged
  const prev = new Map((v.pod.status?.conditions ?? []).map((c) => [c.type, c]));
  for (const c of conditions) {
    const p = prev.get(c.type);
    c.lastTransitionTime = p && p.status === c.status && p.lastTransitionTime ? p.lastTransitionTime : now;
  }
  const status: PodStatus = {
    phase,
    conditions,
    hostIP: NODE_IP,
    hostIPs: [{ ip: NODE_IP }],
    startTime: v.startTime,
    containerStatuses: v.main.map(renderStatus),
    ...(v.init.length ? { initContainerStatuses: v.init.map((c) => ({ ...renderStatus(c), ready: c.done })) } : {}),
  };
  if (v.ip) {
    status.podIP = v.ip;
    status.podIPs = [{ ip: v.ip }];
  }
  if (!v.sandboxReady && v.sandboxMessage) status.message = v.sandboxMessage;
  return status;
}
