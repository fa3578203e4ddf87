/**
 * HTTPRoute vs GRPCRoute on one listener (GRPCRoute spec, hostnames): when routes of the two
 * kinds attached to the same listener have intersecting hostnames, exactly one is accepted —
 * the oldest by creationTimestamp, then by namespace/name. The other loses that listener; a
 * parentRef left with no listener becomes Accepted=False.
 */
import { route as C } from "../conditions";
import { cmp } from "../meta";
import { intersect, CATCH_ALL } from "./hostname";
import type { Attachment, ListenerNode, RouteNode } from "./types";

interface Loss {
  listener: ListenerNode;
  winner: RouteNode;
}

export function resolveKindConflicts(listeners: Iterable<ListenerNode>): void {
  const losses = new Map<RouteNode, Loss[]>();
  for (const l of listeners) {
    const atts = [...l.attached.values()];
    if (!atts.some((a) => a.route.kind === "HTTPRoute") || !atts.some((a) => a.route.kind === "GRPCRoute")) continue;
    atts.sort(
      (a, b) =>
        cmp(a.route.created, b.route.created) ||
        cmp(a.route.namespace, b.route.namespace) ||
        cmp(a.route.name, b.route.name) ||
        cmp(a.route.kind, b.route.kind),
    );
    const kept: Attachment[] = [];
    for (const a of atts) {
      const winner = kept.find((k) => k.route.kind !== a.route.kind && overlaps(k.hostnames, a.hostnames));
      if (!winner) {
        kept.push(a);
        continue;
      }
      l.attached.delete(`${a.route.kind}/${a.route.namespace}/${a.route.name}`);
      losses.set(a.route, [...(losses.get(a.route) ?? []), { listener: l, winner: winner.route }]);
    }
  }
  for (const [route, lost] of losses) {
    for (const p of route.parents) {
      const hit = lost.find((x) => p.listeners.includes(x.listener));
      if (!hit) continue;
      p.listeners = p.listeners.filter((l) => !lost.some((x) => x.listener === l));
      p.accepted =
        p.listeners.length > 0
          ? C.accepted(route.desc, p.parentDesc, p.listeners.map((l) => l.name))
          : C.kindHostnameConflict(route.desc, p.parentDesc, hit.listener.desc, hit.winner.desc);
    }
  }
}

function overlaps(a: string[], b: string[]): boolean {
  for (const x of a) {
    for (const y of b) {
      if (x === CATCH_ALL || y === CATCH_ALL || intersect(x, y) !== undefined) return true;
    }
  }
  return false;
}
