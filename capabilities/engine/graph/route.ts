/**
 * Route attachment, common to HTTPRoute and GRPCRoute: each parentRef is resolved to a Gateway
 * or ListenerSet of ours, narrowed by sectionName/port, filtered by each listener's allowed kinds
 * and namespaces, then by hostname intersection. Only listeners that allow the route get it.
 */
import { Reason, describe, parentProblem as PP, route as C, listenerRefusal, valueProblem as V } from "../conditions";
import { routeKey } from "../snapshot";
import { GATEWAY_GROUP, key } from "../meta";
import { effectiveHostnames } from "./hostname";
import { kindRefusal, namespaceAdmits, namespaceRefusal } from "./listener";
import type { Lookup } from "./lookup";
import type { ParentRefSpec, RouteDraft } from "./rules";
import type { Condition } from "../conditions";
import type { GatewayNode, ListenerNode, ListenerSetNode, RouteNode } from "./types";

export interface Parents {
  gateways: Map<string, GatewayNode>;
  listenerSets: Map<string, ListenerSetNode>;
}

/** Attach one route; returns undefined when none of its parentRefs is ours (no status for it). */
export function attachRoute(d: RouteDraft, parents: Parents, lookup: Lookup): RouteNode | undefined {
  const desc = describe.route(d.kind, d.namespace, d.name);
  const node: RouteNode = {
    kind: d.kind,
    namespace: d.namespace,
    name: d.name,
    generation: d.generation,
    created: d.created,
    desc,
    hostnames: d.hostnames,
    rules: d.rules,
    problems: d.found.problems,
    allRulesInvalid: false,
    holdsMatches: false,
    resolvedRefs:
      d.found.refProblems.length === 0
        ? C.resolvedRefs(desc)
        : C.unresolvedRefs(
            d.found.refProblems[0].reason,
            d.found.refProblems.map((p) => p.message),
          ),
    parents: [],
  };
  const refused = lookup.excluded[routeKey(d.kind, d.namespace, d.name)];
  if (refused !== undefined) {
    // The data plane refused what this route renders: it is left out whole (a problem no rule owns).
    d.found.problems.unshift(V.refusedByDataplane(refused));
  }
  const dropped = d.found.invalidRules ?? new Set<number>();
  const failClosed = [...(d.found.failClosedRules ?? [])].filter((i) => !dropped.has(i));
  for (const i of dropped) d.rules[i].invalid = true;
  for (const i of failClosed) d.rules[i].failClosed = true;
  const unserved = dropped.size + failClosed.length;
  // A problem no rule owns (unserved = 0) invalidates the whole route.
  node.allRulesInvalid =
    refused !== undefined || (d.found.problems.length > 0 && (unserved === 0 || unserved >= d.rules.length));
  node.holdsMatches = node.allRulesInvalid && refused === undefined && failClosed.length > 0;
  if (d.found.problems.length > 0 && !node.allRulesInvalid)
    node.partiallyInvalid = C.partiallyInvalid(desc, d.found.problems);
  for (const ref of d.parentRefs) {
    const parent = resolveParent(ref, d.namespace, parents);
    if (!parent) continue;
    const parentDesc = parent.kind === "Gateway" ? parent.gw.desc : parent.ls.desc;
    const listeners: ListenerNode[] = []; // filled by acceptOn with the listeners it attached to
    const accepted = acceptOn(node, ref, parent, parentDesc, listeners, lookup);
    node.parents.push({ parentRef: echoParentRef(ref), parentDesc, accepted, listeners });
  }
  return node.parents.length > 0 ? node : undefined;
}

type Parent = { kind: "Gateway"; gw: GatewayNode } | { kind: "ListenerSet"; ls: ListenerSetNode };

/** Does any parentRef point at a Gateway or ListenerSet of ours? (cheap pre-filter before drafting) */
export function refersToUs(parentRefs: ParentRefSpec[], routeNs: string, parents: Parents): boolean {
  return parentRefs.some((ref) => resolveParent(ref, routeNs, parents) !== undefined);
}

function resolveParent(ref: ParentRefSpec, routeNs: string, parents: Parents): Parent | undefined {
  if ((ref?.group ?? GATEWAY_GROUP) !== GATEWAY_GROUP) return undefined;
  const k = key(ref.namespace ?? routeNs, String(ref.name ?? ""));
  const kind = ref.kind ?? "Gateway";
  if (kind === "Gateway") {
    const gw = parents.gateways.get(k);
    return gw ? { kind, gw } : undefined;
  }
  if (kind === "ListenerSet") {
    const ls = parents.listenerSets.get(k);
    return ls ? { kind, ls } : undefined;
  }
  return undefined;
}

function acceptOn(
  route: RouteNode,
  ref: ParentRefSpec,
  parent: Parent,
  parentDesc: string,
  attachedTo: ListenerNode[],
  lookup: Lookup,
): Condition {
  if (route.allRulesInvalid && !route.holdsMatches) return C.unsupportedValue(route.desc, route.problems);
  // A Gateway rejected only because its listeners are invalid still lets each listener speak for
  // itself (e.g. NotAllowedByListeners for a TLS-only listener; conformance HTTPRouteDisallowedKind).
  // It is not programmed either way, so nothing is served.
  if (parent.kind === "Gateway" && !parent.gw.accepted && parent.gw.conditions[0]?.reason !== Reason.ListenersNotValid)
    return C.noMatchingParent(route.desc, parentDesc, PP.notAccepted());
  if (parent.kind === "ListenerSet" && !parent.ls.accepted) {
    return C.noMatchingParent(route.desc, parentDesc, PP.listenerSetNotAttached(parent.ls.gateway.desc));
  }
  let candidates: ListenerNode[] = parent.kind === "Gateway" ? parent.gw.listeners : parent.ls.listeners;
  if (ref.sectionName !== undefined && ref.sectionName !== null) {
    candidates = candidates.filter((l) => l.name === ref.sectionName);
    if (candidates.length === 0) return C.noMatchingParent(route.desc, parentDesc, PP.noSection(ref.sectionName));
  }
  if (ref.port !== undefined && ref.port !== null) {
    candidates = candidates.filter((l) => l.port === Number(ref.port));
    if (candidates.length === 0)
      return C.noMatchingParent(route.desc, parentDesc, PP.noPort(Number(ref.port), ref.sectionName));
  }

  const allowed = candidates.filter(
    (l) => kindRefusal(l, route.kind) === undefined && namespaceAdmits(l, route.namespace, lookup),
  );
  if (allowed.length === 0) {
    // Messages are built only for the refusal that is reported.
    const refusals = candidates.map(
      (l) => kindRefusal(l, route.kind) ?? namespaceRefusal(l, route.namespace, lookup) ?? "",
    );
    return C.notAllowedByListeners(route.desc, parentDesc, refusals);
  }

  const matched: ListenerNode[] = [];
  const hostRefusals: string[] = [];
  for (const l of allowed) {
    const hostnames = effectiveHostnames(l.hostname, route.hostnames);
    if (hostnames.length === 0) {
      hostRefusals.push(listenerRefusal.hostnameMismatch(l.desc, l.hostname ?? "*"));
      continue;
    }
    matched.push(l);
    const routeKey = `${route.kind}/${route.namespace}/${route.name}`;
    const prev = l.attached.get(routeKey);
    const merged = prev ? [...new Set([...prev.hostnames, ...hostnames])] : hostnames;
    l.attached.set(routeKey, { route, hostnames: merged });
  }
  if (matched.length === 0) return C.noMatchingListenerHostname(route.desc, parentDesc, route.hostnames, hostRefusals);
  attachedTo.push(...matched);
  if (route.holdsMatches) return C.unsupportedValueFailClosed(route.desc, route.problems);
  return C.accepted(
    route.desc,
    parentDesc,
    matched.map((l) => l.name),
  );
}

/** The parentRef as written in spec (status.parents[].parentRef must identify it). */
function echoParentRef(ref: ParentRefSpec): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of ["group", "kind", "namespace", "name", "sectionName", "port"] as const) {
    if (ref[k] !== undefined && ref[k] !== null) out[k] = ref[k];
  }
  return out;
}
