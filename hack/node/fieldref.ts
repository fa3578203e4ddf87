/** Downward API: the pod fields a container may read through env or a downwardAPI volume. */
import { NODE_IP, NODE_NAME } from "./node-info.js";
import { Pod } from "./types.js";

const formatMap = (m: Record<string, string> | undefined) =>
  Object.keys(m ?? {})
    .sort()
    .map((k) => `${k}=${JSON.stringify(m![k])}`)
    .join("\n");

/** The field's value, or an Error naming the unsupported path. */
export function resolveFieldRef(pod: Pod, fieldPath: string, podIP: string | undefined): string | Error {
  const sub = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
  if (sub) return (sub[1] === "labels" ? pod.metadata.labels : pod.metadata.annotations)?.[sub[2]] ?? "";
  switch (fieldPath) {
    case "metadata.name":
      return pod.metadata.name;
    case "metadata.namespace":
      return pod.metadata.namespace ?? "default";
    case "metadata.uid":
      return pod.metadata.uid ?? "";
    case "metadata.labels":
      return formatMap(pod.metadata.labels);
    case "metadata.annotations":
      return formatMap(pod.metadata.annotations);
    case "spec.nodeName":
      return pod.spec.nodeName ?? NODE_NAME;
    case "spec.serviceAccountName":
      return pod.spec.serviceAccountName ?? "default";
    case "status.podIP":
    case "status.podIPs":
      return podIP ?? "";
    case "status.hostIP":
    case "status.hostIPs":
      return NODE_IP;
    default:
      return new Error(`unsupported downward API fieldPath "${fieldPath}"`);
  }
}
