/**
 * RouteOwnershipPolicy at admission: a policy in Enforce mode with `admission: Deny` refuses a
 * route that it would cut back, with the same words its status would carry (the engine computes
 * both from the same snapshot). Every other policy only warns (routeWarnings already reports the
 * ClaimedByAnotherNamespace conditions).
 */
import type { KubernetesObject } from "kubernetes-fluent-client";
import type { ClusterSnapshot, TranslateOptions } from "../engine/snapshot";
import { Reason } from "../engine/conditions";
import { FIELD_OF, withObject, type Translate } from "./warnings";

interface Cond {
  reason: string;
  message: string;
}

/** The status sentences that deny this route, or [] when no Deny policy refuses any of its matches. */
export function ownershipDenials(
  kind: "HTTPRoute" | "GRPCRoute",
  route: KubernetesObject,
  snapshot: ClusterSnapshot,
  translate: Translate,
  opts: TranslateOptions,
): string[] {
  const denying = (snapshot.routeOwnershipPolicies ?? []).filter(
    (p) => (p.spec?.mode ?? "Enforce") === "Enforce" && p.spec?.admission === "Deny",
  );
  if (denying.length === 0) return [];
  const descs = denying.map((p) => `RouteOwnershipPolicy ${p.metadata?.namespace}/${p.metadata?.name}`);
  const after = translate(withObject(snapshot, FIELD_OF[kind], route), opts);
  const status = after.statuses.find(
    (s) => s.kind === kind && s.name === route.metadata?.name && s.namespace === route.metadata?.namespace,
  );
  const parents = (status?.status.parents ?? []) as { conditions?: Cond[] }[];
  return parents
    .flatMap((p) => p.conditions ?? [])
    .filter((c) => c.reason === Reason.ClaimedByAnotherNamespace && descs.some((d) => c.message.includes(d)))
    .map((c) => c.message);
}
