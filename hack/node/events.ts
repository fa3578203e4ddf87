/**
 * Pod events as kubelet records them (what `kubectl describe pod` shows): Scheduled, Started,
 * Killing, BackOff, Unhealthy, FailedMount, NotRun (unknown image)... Fire and forget: an event
 * that cannot be written is logged at debug and dropped; the same event for the same pod is sent
 * at most once a minute.
 */
import { Kube } from "./kube.js";
import { Log, errInfo } from "./log.js";
import { NODE_NAME } from "./node-info.js";

export interface EventTarget {
  metadata: { name: string; namespace?: string; uid?: string; resourceVersion?: string };
}

export type Recorder = (
  pod: EventTarget,
  type: "Normal" | "Warning",
  reason: string,
  message: string,
  fieldPath?: string,
) => void;

const REPEAT_MS = 60_000;

export function eventRecorder(kube: Kube, log: Log): Recorder {
  const sent = new Map<string, number>();
  let seq = 0;
  return (pod, type, reason, message, fieldPath) => {
    const ns = pod.metadata.namespace ?? "default";
    const key = `${pod.metadata.uid}|${reason}|${message}`;
    const now = Date.now();
    if ((sent.get(key) ?? 0) > now - REPEAT_MS) return;
    sent.set(key, now);
    if (sent.size > 5000) for (const [k, t] of sent) if (t < now - REPEAT_MS) sent.delete(k);
    const ts = new Date(now).toISOString().replace(/\.\d{3}Z$/, "Z");
    const body = {
      apiVersion: "v1",
      kind: "Event",
      metadata: { name: `${pod.metadata.name}.${now.toString(16)}${(seq++ % 4096).toString(16)}`, namespace: ns },
      involvedObject: {
        apiVersion: "v1",
        kind: "Pod",
        name: pod.metadata.name,
        namespace: ns,
        uid: pod.metadata.uid,
        ...(fieldPath ? { fieldPath } : {}),
      },
      reason,
      message,
      type,
      source: { component: "kubelet", host: NODE_NAME },
      reportingComponent: "kubelet",
      reportingInstance: NODE_NAME,
      firstTimestamp: ts,
      lastTimestamp: ts,
      count: 1,
    };
    kube
      .request("POST", `/api/v1/namespaces/${ns}/events`, body)
      .catch((err) => log.debug({ err: errInfo(err), reason }, "event not recorded"));
  };
}
