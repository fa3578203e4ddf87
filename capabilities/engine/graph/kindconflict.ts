/**
 * HTTPRoute vs GRPCRoute on one listener (GRPCRoute spec, hostnames): when routes of the two
 * kinds attached to the same listener have intersecting hostnames, exactly one is accepted —
 * the oldest by creationTimestamp, then by namespace/name. The other loses that listener; a
 * parentRef left with no listener becomes Accepted=False.
 *
 * Kept routes are indexed by hostname so a listener with many routes of both kinds costs
 * ~O(routes × hostname labels), not O(routes²) (only wildcard hostnames scan exact names).
 */
import { route as C } from "../conditions";
import { cmp } from "../meta";
import { CATCH_ALL, isWildcard } from "./hostname";
import type { Attachment, ListenerNode, RouteKind, RouteNode } from "./types";

interface Loss {
  listener: ListenerNode;
  winner: RouteNode;
}

/** Hostnames claimed so far by one route kind on one listener (first claimant = oldest). */
class Claims {
  exact = new Map<string, RouteNode>();
  wildcard = new Map<string, RouteNode>(); // "*.example.com" → route
  any?: RouteNode; // a route with the catch-all "*"
  first?: RouteNode;

  add(route: RouteNode, hostnames: string[]): void {
    this.first ??= route;
    for (const h of hostnames) {
      if (h === CATCH_ALL) this.any ??= route;
      else if (isWildcard(h)) this.wildcard.has(h) || this.wildcard.set(h, route);
      else this.exact.has(h) || this.exact.set(h, route);
    }
  }

  /** A claimed route whose hostnames intersect `hostnames`, if any. */
  clash(hostnames: string[]): RouteNode | undefined {
    if (this.any) return this.any;
    for (const h of hostnames) {
      if (h === CATCH_ALL) return this.first;
      if (!isWildcard(h)) {
        const hit = this.exact.get(h) ?? this.coveringWildcard(h);
        if (hit) return hit;
        continue;
      }
      const hit = this.coveringWildcard(h) ?? this.wildcard.get(h);
      if (hit) return hit;
      const suffix = h.slice(1); // ".example.com": exact or wildcard names under h
      for (const [name, r] of this.exact) if (name.endsWith(suffix)) return r;
      for (const [name, r] of this.wildcard) if (name.length > h.length && name.endsWith(suffix)) return r;
    }
    return undefined;
  }

  /** A claimed wildcard strictly covering `h` (walks h's parent domains). */
  private coveringWildcard(h: string): RouteNode | undefined {
    const labels = (isWildcard(h) ? h.slice(2) : h).split(".");
    for (let i = isWildcard(h) ? 0 : 1; i < labels.length; i++) {
      const hit = this.wildcard.get(`*.${labels.slice(i).join(".")}`);
      if (hit && `*.${labels.slice(i).join(".")}` !== h) return hit;
    }
    return undefined;
  }
}

export function resolveKindConflicts(listeners: Iterable<ListenerNode>): void {
  const losses = new Map<RouteNode, Loss[]>();
  for (const l of listeners) {
    const atts = [...l.attached.values()];
    if (!atts.some((a) => a.route.kind === "HTTPRoute") || !atts.some((a) => a.route.kind === "GRPCRoute")) continue;
    atts.sort(byAge);
    const claims: Record<RouteKind, Claims> = { HTTPRoute: new Claims(), GRPCRoute: new Claims() };
    for (const a of atts) {
      const other = a.route.kind === "HTTPRoute" ? claims.GRPCRoute : claims.HTTPRoute;
      const winner = other.clash(a.hostnames);
      if (!winner) {
        claims[a.route.kind].add(a.route, a.hostnames);
        continue;
      }
      l.attached.delete(`${a.route.kind}/${a.route.namespace}/${a.route.name}`);
      losses.set(a.route, [...(losses.get(a.route) ?? []), { listener: l, winner }]);
    }
  }
  for (const [route, lost] of losses) {
    for (const p of route.parents) {
      const hit = lost.find((x) => p.listeners.includes(x.listener));
      if (!hit) continue;
      p.listeners = p.listeners.filter((l) => !lost.some((x) => x.listener === l));
      p.accepted =
        p.listeners.length > 0
          ? C.accepted(
              route.desc,
              p.parentDesc,
              p.listeners.map((l) => l.name),
            )
          : C.kindHostnameConflict(route.desc, p.parentDesc, hit.listener.desc, hit.winner.desc);
    }
  }
}

const byAge = (a: Attachment, b: Attachment): number =>
  cmp(a.route.created, b.route.created) ||
  cmp(a.route.namespace, b.route.namespace) ||
  cmp(a.route.name, b.route.name) ||
  cmp(a.route.kind, b.route.kind);
