/**
 * buildGraph: snapshot (already sorted) → the resolved graph of everything we own.
 * Order matters and is one-way: classes → gateways → listenerSets (merge, conflicts) → routes.
 */
import type { ClusterSnapshot } from "../snapshot";
import { keyOf, nsOf, nameOf, key, objects } from "../meta";
import { buildGatewayClasses } from "./gatewayclass";
import { buildGateway } from "./gateway";
import { buildListenerSets } from "./listenerset";
import { draftHTTPRoute } from "./httproute";
import { draftGRPCRoute } from "./grpcroute";
import { attachRoute, refersToUs } from "./route";
import type { ParentRefSpec } from "./rules";
import { resolveKindConflicts } from "./kindconflict";
import type { Lookup } from "./lookup";
import type { GatewayClassNode, GatewayNode, ListenerSetNode, RouteNode } from "./types";
import { applyOwnership, type PolicyNode } from "./ownership";

export interface Graph {
  classes: GatewayClassNode[];
  gateways: GatewayNode[];
  listenerSets: ListenerSetNode[];
  routes: RouteNode[];
  policies: PolicyNode[];
}

export function buildGraph(s: ClusterSnapshot, lookup: Lookup): Graph {
  const classes = buildGatewayClasses(s.gatewayClasses, lookup.controllerName);
  const gateways = new Map<string, GatewayNode>();
  for (const gw of s.gateways) {
    const cls = classes.get(String(gw?.spec?.gatewayClassName ?? ""));
    if (cls) gateways.set(keyOf(gw), buildGateway(gw, cls, lookup));
  }
  const listenerSets = buildListenerSets(s.listenerSets, gateways, lookup);
  const lsByKey = new Map(listenerSets.map((ls) => [key(ls.namespace, ls.name), ls]));
  const parents = { gateways, listenerSets: lsByKey };

  const routes: RouteNode[] = [];
  // Only routes with a parentRef to a parent of ours are drafted (others get no status from us).
  const ours = (r: { spec?: { parentRefs?: unknown[] }; metadata?: unknown }) =>
    hasParentRefs(r) && refersToUs(objects(r.spec?.parentRefs as ParentRefSpec[]), nsOf(r as never), parents);
  const drafts = [
    ...s.httpRoutes.filter(ours).map((r) => draftHTTPRoute(r, lookup)),
    ...s.grpcRoutes.filter(ours).map((r) => draftGRPCRoute(r, lookup)),
  ];
  for (const d of drafts) {
    const node = attachRoute(d, parents, lookup);
    if (node) routes.push(node);
  }
  resolveKindConflicts(allListeners(gateways.values(), listenerSets));
  const policies = applyOwnership(s.routeOwnershipPolicies ?? [], gateways, routes, lookup);
  return { classes: [...classes.values()], gateways: [...gateways.values()], listenerSets, routes, policies };
}

function* allListeners(gateways: Iterable<GatewayNode>, sets: ListenerSetNode[]) {
  for (const gw of gateways) yield* gw.listeners;
  for (const ls of sets) yield* ls.listeners;
}

/** Cheap pre-filter: a route with no parentRefs cannot be ours. */
function hasParentRefs(r: { spec?: { parentRefs?: unknown[] }; metadata?: unknown }): boolean {
  return (
    Array.isArray(r?.spec?.parentRefs) &&
    r.spec.parentRefs.length > 0 &&
    nameOf(r as never) !== "" &&
    nsOf(r as never) !== ""
  );
}
