/**
 * Graph → desired `.status` of every object we own. Conditions get observedGeneration here;
 * lastTransitionTime is left to the status writer (it knows the previous status).
 *
 * Programmed: the engine reports its own view (True when valid and the configuration is built).
 * The shell replaces a Programmed=True of a Gateway, its listeners and its ListenerSets' listeners
 * with what the data plane reports (reconcilers/dataplane.ts `programmedState`, folded in by
 * reconcilers/gateway-status.ts): True only once a ready pod serves the published generation.
 */
import type { ConditionOut, ObjectStatus } from "../result";
import { listener as L, listenerNotProgrammedWhy as Why, ownership as O, type Condition } from "../conditions";
import { SUPPORTED_FEATURES } from "../features";
import { cmp } from "../meta";
import type { Graph } from "../graph";
import { isListenerValid, type ListenerNode, type ParentStatus } from "../graph/types";

export function buildStatuses(g: Graph, controllerName: string): ObjectStatus[] {
  const out: ObjectStatus[] = [];
  const features = [...SUPPORTED_FEATURES].sort(cmp).map((name) => ({ name }));
  for (const c of g.classes) {
    out.push({
      kind: "GatewayClass",
      name: c.name,
      generation: c.generation,
      status: { conditions: stamp(c.conditions, c.generation), supportedFeatures: features },
    });
  }
  for (const gw of g.gateways) {
    out.push({
      kind: "Gateway",
      namespace: gw.namespace,
      name: gw.name,
      generation: gw.generation,
      status: {
        conditions: stamp(gw.conditions, gw.generation),
        listeners: gw.listeners.map((l) => listenerStatus(l, gw.accepted, gw.desc, gw.generation)),
        attachedListenerSets: gw.listenerSets.length,
      },
    });
  }
  for (const ls of g.listenerSets) {
    const status: Record<string, unknown> = { conditions: stamp(ls.conditions, ls.generation) };
    // Listener entries only once the ListenerSet is admitted by its Gateway (else they say nothing).
    if (ls.allowed && ls.gateway.accepted) {
      status.listeners = ls.listeners.map((l) => listenerStatus(l, ls.accepted, ls.desc, ls.generation));
    }
    out.push({ kind: "ListenerSet", namespace: ls.namespace, name: ls.name, generation: ls.generation, status });
  }
  for (const r of g.routes) {
    out.push({
      kind: r.kind,
      namespace: r.namespace,
      name: r.name,
      generation: r.generation,
      status: {
        parents: r.parents.map((p) => ({
          parentRef: p.parentRef,
          controllerName,
          conditions: stamp(routeConditions(p, r.resolvedRefs, r.partiallyInvalid), r.generation),
        })),
      },
    });
  }
  for (const p of g.policies) {
    out.push({
      kind: "RouteOwnershipPolicy",
      namespace: p.namespace,
      name: p.name,
      generation: p.generation,
      status: {
        ancestors: p.ancestors.map((a) => ({
          ancestorRef: a.ancestorRef,
          controllerName,
          conditions: stamp(a.conditions, p.generation),
        })),
      },
    });
  }
  return out.sort((a, b) => cmp(a.kind, b.kind) || cmp(a.namespace ?? "", b.namespace ?? "") || cmp(a.name, b.name));
}

function listenerStatus(l: ListenerNode, ownerAccepted: boolean, ownerDesc: string, generation: number) {
  return {
    name: l.name,
    supportedKinds: l.supportedKinds.map((k) => ({ group: k.group, kind: k.kind })),
    // Routes that only hold their matches to answer 500 (fail closed) are not Accepted: not counted.
    attachedRoutes: countAccepted(l),
    conditions: stamp([l.accepted, l.conflicted, l.resolvedRefs, programmed(l, ownerAccepted, ownerDesc)], generation),
  };
}

function programmed(l: ListenerNode, ownerAccepted: boolean, ownerDesc: string): Condition {
  if (isListenerValid(l))
    return ownerAccepted ? L.programmed(l.desc) : L.invalid(l.desc, Why.ownerNotAccepted(ownerDesc));
  // A conflict is reported with its own reason (conformance: Programmed=False/HostnameConflict).
  if (l.conflicted.status !== "False")
    return L.invalid(l.desc, Why.conflicted(l.conflicted.reason), l.conflicted.reason);
  if (l.accepted.status !== "True") return L.invalid(l.desc, Why.notAccepted(l.accepted.reason));
  return L.invalid(l.desc, Why.unresolved(l.resolvedRefs.reason));
}

const stamp = (conds: Condition[], observedGeneration: number): ConditionOut[] =>
  conds.map((c) => ({ type: c.type, status: c.status, reason: c.reason, message: c.message, observedGeneration }));

function countAccepted(l: ListenerNode): number {
  let n = 0;
  for (const a of l.attached.values()) if (!a.route.holdsMatches) n++;
  return n;
}

/**
 * A route parent's conditions: Accepted, ResolvedRefs, then (while accepted) one PartiallyInvalid
 * joining unsupported values and ownership refusals (the ownership reason wins: it is the one
 * the route's author can act on by asking the platform team), and a Warn-mode ownership report.
 */
function routeConditions(p: ParentStatus, resolvedRefs: Condition, invalid: Condition | undefined): Condition[] {
  const out = [p.accepted, resolvedRefs];
  if (p.accepted.status !== "True") return out;
  if (invalid && p.ownership) out.push(O.alsoInvalid(p.ownership, invalid));
  else if (invalid ?? p.ownership) out.push((invalid ?? p.ownership)!);
  if (p.ownershipWarning) out.push(p.ownershipWarning);
  return out;
}
