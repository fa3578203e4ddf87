/**
 * Service account tokens from the TokenRequest API, bound to the pod, cached per pod/audience
 * until 80% of their lifetime (when the projected volume is rewritten with a fresh one).
 */
import { Kube } from "./kube.js";
import { Pod } from "./types.js";
import { Token } from "./volumes.js";

export class TokenCache {
  private cache = new Map<string, Token & { refreshAt: number }>();
  constructor(private readonly kube: Kube) {}

  async token(pod: Pod, audience: string | undefined, expirationSeconds: number): Promise<Token> {
    const key = `${pod.metadata.uid}|${audience ?? ""}|${expirationSeconds}`;
    const hit = this.cache.get(key);
    if (hit && Date.now() < hit.refreshAt) return hit;
    const ns = pod.metadata.namespace ?? "default";
    const sa = pod.spec.serviceAccountName ?? "default";
    const res = await this.kube.request<{ status: { token: string; expirationTimestamp: string } }>(
      "POST",
      `/api/v1/namespaces/${ns}/serviceaccounts/${sa}/token`,
      {
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenRequest",
        spec: {
          audiences: audience ? [audience] : [],
          expirationSeconds,
          boundObjectRef: { apiVersion: "v1", kind: "Pod", name: pod.metadata.name, uid: pod.metadata.uid },
        },
      },
    );
    const expiresAt = Date.parse(res.status.expirationTimestamp);
    const issued = Date.now();
    const t = { token: res.status.token, expiresAt, refreshAt: issued + 0.8 * (expiresAt - issued) };
    this.cache.set(key, t);
    return t;
  }

  forget(uid: string) {
    for (const k of [...this.cache.keys()]) if (k.startsWith(`${uid}|`)) this.cache.delete(k);
  }
}
