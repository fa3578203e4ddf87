/**
 * Which Secrets the engine may read: the certificateRefs of HTTPS (Terminate) listeners of our
 * Gateways and of ListenerSets naming them, that the listener's own namespace holds or a
 * ReferenceGrant opens. The shell fetches exactly these by name and nothing else (it never lists
 * Secrets), so this walks the same refs with the same grant check as listener resolution
 * (`certificateTargets`), stopping where resolution stops.
 *
 * Frontend client-certificate validation and backend TLS resolve no Secrets: the first is refused
 * as unsupported, the second is not implemented (features.ts).
 */
import type { ClusterSnapshot } from "./snapshot";
import { buildGatewayClasses } from "./graph/gatewayclass";
import { certificateTargets, terminatesTLS, type ListenerSpec } from "./graph/listener";
import { parentGatewayKey } from "./graph/listenerset";
import { indexGrants } from "./graph/referencegrant";
import type { OwnerKind } from "./graph/types";
import { cmp, key, keyOf, nsOf, objects } from "./meta";

export interface SecretRef {
  namespace: string;
  name: string;
}

export type SecretInputs = Pick<ClusterSnapshot, "gatewayClasses" | "gateways" | "listenerSets" | "referenceGrants">;

/** Sorted by namespace/name, each once. Empty for an empty controllerName (translate owns nothing then). */
export function secretsToRead(s: SecretInputs, controllerName: string): SecretRef[] {
  if (!controllerName) return [];
  const classes = buildGatewayClasses(objects(s?.gatewayClasses), controllerName);
  const grants = indexGrants(objects(s?.referenceGrants));
  const out = new Map<string, SecretRef>();
  const add = (kind: OwnerKind, namespace: string, listeners: unknown[] | undefined) => {
    for (const l of objects(listeners as ListenerSpec[])) {
      if (!terminatesTLS(l)) continue;
      for (const t of certificateTargets(l, { kind, namespace }, "", grants)) {
        if ("problem" in t) break;
        out.set(key(t.namespace, t.name), { namespace: t.namespace, name: t.name });
      }
    }
  };
  const ours = new Set<string>();
  for (const gw of objects(s?.gateways)) {
    if (!classes.has(String(gw?.spec?.gatewayClassName ?? ""))) continue;
    ours.add(keyOf(gw));
    add("Gateway", nsOf(gw), gw.spec?.listeners);
  }
  for (const ls of objects(s?.listenerSets)) {
    const parent = parentGatewayKey(ls);
    if (parent !== undefined && ours.has(parent)) add("ListenerSet", nsOf(ls), ls.spec?.listeners);
  }
  return [...out.values()].sort((a, b) => cmp(key(a.namespace, a.name), key(b.namespace, b.name)));
}
