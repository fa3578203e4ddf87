/**
 * A container's environment as kubelet builds it: HOSTNAME, KUBERNETES_SERVICE_*, envFrom, then
 * env in order with $(VAR) expansion and valueFrom (fieldRef, configMapKeyRef, secretKeyRef,
 * resourceFieldRef). The host's environment is not inherited, only PATH.
 */
import { resolveFieldRef } from "./fieldref.js";
import { GATEWAY_IP } from "./ipam.js";
import { Container, Pod } from "./types.js";
import { VolumeSources } from "./volumes.js";

const API_SERVER_PORT = process.env.CROSSWAY_APISERVER_PORT ?? "6443";

/** Kubernetes' $(VAR) expansion: $$ escapes, unknown references stay as written. */
export const expand = (s: string, env: Record<string, string>) =>
  s.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (m, name: string | undefined) =>
    m === "$$" ? "$" : name !== undefined && name in env ? env[name] : m,
  );

export type EnvResult = { ok: true; env: Record<string, string> } | { ok: false; reason: string };

export function containerEnv(pod: Pod, c: Container, podIP: string, src: VolumeSources): EnvResult {
  const ns = pod.metadata.namespace ?? "default";
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    HOME: "/root",
    HOSTNAME: pod.spec.hostname ?? pod.metadata.name,
    KUBERNETES_SERVICE_HOST: GATEWAY_IP,
    KUBERNETES_SERVICE_PORT: API_SERVER_PORT,
    KUBERNETES_SERVICE_PORT_HTTPS: API_SERVER_PORT,
    KUBERNETES_PORT: `tcp://${GATEWAY_IP}:${API_SERVER_PORT}`,
  };
  for (const f of c.envFrom ?? []) {
    const ref = f.configMapRef ?? f.secretRef;
    if (!ref) continue;
    const kind = f.configMapRef ? "ConfigMap" : "Secret";
    const obj = f.configMapRef ? src.configMap(ns, ref.name) : src.secret(ns, ref.name);
    if (!obj) {
      if (ref.optional) continue;
      return { ok: false, reason: `envFrom: ${kind} ${ns}/${ref.name} not found` };
    }
    const data = (obj as { data?: Record<string, string> }).data ?? {};
    for (const [k, v] of Object.entries(data))
      env[`${f.prefix ?? ""}${k}`] = kind === "Secret" ? Buffer.from(v, "base64").toString("utf8") : v;
  }
  for (const e of c.env ?? []) {
    const vf = e.valueFrom;
    if (!vf) {
      env[e.name] = expand(e.value ?? "", env);
    } else if (vf.fieldRef) {
      const v = resolveFieldRef(pod, vf.fieldRef.fieldPath, podIP);
      if (v instanceof Error) return { ok: false, reason: `env ${e.name}: ${v.message}` };
      env[e.name] = v;
    } else if (vf.configMapKeyRef || vf.secretKeyRef) {
      const ref = (vf.configMapKeyRef ?? vf.secretKeyRef)!;
      const isCm = !!vf.configMapKeyRef;
      const obj = isCm ? src.configMap(ns, ref.name) : src.secret(ns, ref.name);
      const raw = (obj as { data?: Record<string, string> } | undefined)?.data?.[ref.key];
      if (raw === undefined) {
        if (ref.optional) continue;
        return {
          ok: false,
          reason: `env ${e.name}: ${isCm ? "ConfigMap" : "Secret"} ${ns}/${ref.name} key "${ref.key}" not found`,
        };
      }
      env[e.name] = isCm ? raw : Buffer.from(raw, "base64").toString("utf8");
    } else if (vf.resourceFieldRef) {
      // no limits are enforced on this node: report the node's capacity, as kubelet does for unset limits
      env[e.name] = vf.resourceFieldRef.resource.includes("cpu") ? "2" : String(8 * 1024 ** 3);
    }
  }
  return { ok: true, env };
}
