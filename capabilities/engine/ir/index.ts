/**
 * Graph → data-plane IR (contract: ../ir.ts). Only accepted Gateways; per Gateway only valid,
 * non-conflicted listeners of the Gateway and its accepted ListenerSets; per listener only the
 * routes that attached to it (so a listener never carries a route it does not allow).
 */
import type { GatewayIR, ListenerIR, PortIR, RouteRuleIR, VirtualHostIR } from "../ir";
import { compareSpecificity } from "../graph/hostname";
import type { Graph } from "../graph";
import { isListenerValid, type GatewayNode, type ListenerNode, type RouteNode } from "../graph/types";
import { comparePrecedence, primaryKey, routeOrder, secondaryKey, type Ranked } from "./precedence";
import { deniedKey, guardsFor, type Guard } from "../graph/ownership";

/** Guards lose every tie: their secondary key is past every route's. */
const GUARD_ORDER = Number.MAX_SAFE_INTEGER;

/**
 * A RouteOwnershipPolicy guard: its claim's prefix on its hostname answers 404 when no rule of
 * the owners matches first, so owned requests never fall to another namespace's broader route.
 */
function guardRule(g: Guard, owner: RouteRuleIR | undefined): Ranked {
  const match = { path: { type: "PathPrefix" as const, value: g.prefix || "/" }, headers: [], queryParams: [] };
  const id = `routeownershippolicy/${g.policy.namespace}/${g.policy.name}/c${g.claim}/${g.hostname}${g.prefix || "/"}`;
  // An owner's own broader rule (say `/` on a wildcard host) keeps serving the claimed prefix.
  const rule: RouteRuleIR = owner
    ? { ...owner, id, match }
    : {
        id,
        route: { kind: "RouteOwnershipPolicy", namespace: g.policy.namespace, name: g.policy.name },
        ruleIndex: g.claim,
        matchIndex: 0,
        match,
        filters: [],
        backends: [],
        notFound: true,
      };
  return { rule, primary: primaryKey(match), secondary: GUARD_ORDER };
}

/**
 * The owners' most specific plain PathPrefix rule broader than the guard's prefix (no method,
 * header or query terms, no prefix rewrite), which a 404 guard would otherwise shadow.
 */
function ownerCatchAll(rules: Ranked[], g: Guard): RouteRuleIR | undefined {
  const broader = rules.filter(({ rule: r }) => {
    const p = r.match.path;
    if (!p || p.type !== "PathPrefix" || r.notFound || !g.owns(r.route.namespace)) return false;
    if (r.match.method || r.match.headers.length || r.match.queryParams.length) return false;
    const rewrites = r.filters.some(
      (f) => (f.type === "URLRewrite" || f.type === "RequestRedirect") && f.path?.type === "ReplacePrefixMatch",
    );
    if (rewrites) return false;
    const q = p.value.replace(/\/+$/, "");
    return q.length < g.prefix.length && (q === "" || g.prefix.startsWith(`${q}/`));
  });
  return broader.sort(comparePrecedence)[0]?.rule;
}

interface Ctx {
  order: Map<RouteNode, number>;
  rules: Map<RouteNode, Ranked[]>;
}

export function buildIR(g: Graph): GatewayIR[] {
  const ctx: Ctx = { order: routeOrder(g.routes), rules: new Map() };
  return g.gateways.filter((gw) => gw.accepted).map((gw) => gatewayIR(gw, ctx));
}

function gatewayIR(gw: GatewayNode, ctx: Ctx): GatewayIR {
  const all = [...gw.listeners, ...gw.listenerSets.flatMap((ls) => ls.listeners)];
  const byPort = new Map<number, ListenerNode[]>();
  for (const l of all.filter(isListenerValid)) byPort.set(l.port, [...(byPort.get(l.port) ?? []), l]);
  // An invalid listener keeps its hostname's dispatch slot on a port that is served, so its
  // requests answer 404 instead of falling to a less specific listener with broader allowedRoutes.
  const closed = new Set<ListenerNode>();
  for (const l of all) {
    const served = byPort.get(l.port);
    if (isListenerValid(l) || !served || l.hostname === undefined || l.conflicted.status === "True") continue;
    if (l.protocol !== served[0].protocol || served.some((v) => v.hostname === l.hostname)) continue;
    served.push(l);
    closed.add(l);
  }
  const ports: PortIR[] = [...byPort.entries()]
    .sort(([a], [b]) => a - b)
    .map(([port, ls]) => ({
      port,
      protocol: ls[0].protocol as PortIR["protocol"],
      listeners: [...ls]
        .sort((a, b) => compareSpecificity(a.hostname, b.hostname))
        .map((l) => (closed.has(l) ? closedListenerIR(l) : listenerIR(l, ctx))),
    }));
  return { gateway: { namespace: gw.namespace, name: gw.name }, generation: gw.generation, ports };
}

/** An invalid listener's hostname slot: no routes, no certificate; its requests answer 404. */
const closedListenerIR = (l: ListenerNode): ListenerIR => ({
  id: l.id,
  hostname: l.hostname,
  closed: true,
  virtualHosts: [],
});

function listenerIR(l: ListenerNode, ctx: Ctx): ListenerIR {
  const hosts = new Map<string, Ranked[]>();
  for (const { route, hostnames } of l.attached.values()) {
    const rules = routeRules(route, ctx);
    for (const h of hostnames) {
      // Matches a RouteOwnershipPolicy refuses on this listener and hostname are not served.
      const served = route.denied
        ? rules.filter((r) => !route.denied!.has(deniedKey(l.id, h, r.rule.ruleIndex, r.rule.matchIndex)))
        : rules;
      const list = hosts.get(h);
      if (list) for (const r of served) list.push(r);
      else hosts.set(h, served.slice());
    }
  }
  for (const g of guardsFor(l, [...hosts.keys()])) {
    const list = hosts.get(g.hostname) ?? [];
    list.push(guardRule(g, ownerCatchAll(list, g)));
    hosts.set(g.hostname, list);
  }
  const virtualHosts: VirtualHostIR[] = [...hosts.entries()]
    .sort(([a], [b]) => compareSpecificity(a, b))
    .map(([hostname, ranked]) => ({ hostname, rules: ranked.sort(comparePrecedence).map((r) => r.rule) }));
  // key order is part of the byte-identical output: id, hostname, tls, virtualHosts
  if (l.hostname && l.tls) return { id: l.id, hostname: l.hostname, tls: l.tls, virtualHosts };
  if (l.hostname) return { id: l.id, hostname: l.hostname, virtualHosts };
  if (l.tls) return { id: l.id, tls: l.tls, virtualHosts };
  return { id: l.id, virtualHosts };
}

function routeRules(route: RouteNode, ctx: Ctx): Ranked[] {
  const hit = ctx.rules.get(route);
  if (hit) return hit;
  const kind = route.kind.toLowerCase();
  const ref = { kind: route.kind, namespace: route.namespace, name: route.name };
  const order = ctx.order.get(route) ?? 0;
  const out: Ranked[] = [];
  for (const rule of route.rules) {
    if (rule.invalid) continue; // PartiallyInvalid: rules whose matches cannot be served are dropped
    // Fail closed: the rule keeps its matches, with no filters and no backends, so it answers 500.
    const filters = rule.failClosed ? [] : rule.filters;
    const backends = rule.failClosed ? [] : rule.backends;
    for (let m = 0; m < rule.matches.length; m++) {
      const match = rule.matches[m];
      const id = `${kind}/${route.namespace}/${route.name}/r${rule.index}/m${m}`;
      // key order is part of the byte-identical output (ruleName sits before match)
      const ir: RouteRuleIR = rule.name
        ? {
            id,
            route: ref,
            ruleIndex: rule.index,
            matchIndex: m,
            ruleName: rule.name,
            match,
            filters,
            backends,
          }
        : {
            id,
            route: ref,
            ruleIndex: rule.index,
            matchIndex: m,
            match,
            filters,
            backends,
          };
      if (rule.timeouts && !rule.failClosed) ir.timeouts = rule.timeouts;
      if (rule.retry && !rule.failClosed) ir.retry = rule.retry;
      out.push({ rule: ir, primary: primaryKey(match), secondary: secondaryKey(order, rule.index, m) });
    }
  }
  ctx.rules.set(route, out);
  return out;
}
