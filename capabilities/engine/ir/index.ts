/**
 * Graph → data-plane IR (contract: ../ir.ts). Only accepted Gateways; per Gateway only valid,
 * non-conflicted listeners of the Gateway and its accepted ListenerSets; per listener only the
 * routes that attached to it (so a listener never carries a route it does not allow).
 */
import type { GatewayIR, ListenerIR, PortIR, RouteRuleIR, VirtualHostIR } from "../ir";
import { compareSpecificity } from "../graph/hostname";
import type { Graph } from "../graph";
import { isListenerValid, type GatewayNode, type ListenerNode, type RouteNode } from "../graph/types";
import { comparePrecedence, type Ranked } from "./precedence";

export function buildIR(g: Graph): GatewayIR[] {
  const ruleCache = new Map<RouteNode, Ranked[]>();
  return g.gateways.filter((gw) => gw.accepted).map((gw) => gatewayIR(gw, ruleCache));
}

function gatewayIR(gw: GatewayNode, cache: Map<RouteNode, Ranked[]>): GatewayIR {
  const listeners = [...gw.listeners, ...gw.listenerSets.flatMap((ls) => ls.listeners)].filter(isListenerValid);
  const byPort = new Map<number, ListenerNode[]>();
  for (const l of listeners) byPort.set(l.port, [...(byPort.get(l.port) ?? []), l]);
  const ports: PortIR[] = [...byPort.entries()]
    .sort(([a], [b]) => a - b)
    .map(([port, ls]) => ({
      port,
      protocol: ls[0].protocol as PortIR["protocol"],
      listeners: [...ls].sort((a, b) => compareSpecificity(a.hostname, b.hostname)).map((l) => listenerIR(l, cache)),
    }));
  return { gateway: { namespace: gw.namespace, name: gw.name }, generation: gw.generation, ports };
}

function listenerIR(l: ListenerNode, cache: Map<RouteNode, Ranked[]>): ListenerIR {
  const hosts = new Map<string, Ranked[]>();
  for (const { route, hostnames } of l.attached.values()) {
    const rules = routeRules(route, cache);
    for (const h of hostnames) {
      const list = hosts.get(h);
      if (list) list.push(...rules);
      else hosts.set(h, [...rules]);
    }
  }
  const virtualHosts: VirtualHostIR[] = [...hosts.entries()]
    .sort(([a], [b]) => compareSpecificity(a, b))
    .map(([hostname, ranked]) => ({ hostname, rules: ranked.sort(comparePrecedence).map((r) => r.rule) }));
  const out: ListenerIR = { id: l.id, virtualHosts };
  if (l.hostname) out.hostname = l.hostname;
  if (l.tls) out.tls = l.tls;
  // keep key order stable: id, hostname, tls, virtualHosts
  return {
    id: out.id,
    ...(out.hostname ? { hostname: out.hostname } : {}),
    ...(out.tls ? { tls: out.tls } : {}),
    virtualHosts,
  };
}

function routeRules(route: RouteNode, cache: Map<RouteNode, Ranked[]>): Ranked[] {
  const hit = cache.get(route);
  if (hit) return hit;
  const kind = route.kind.toLowerCase();
  const ref = { kind: route.kind, namespace: route.namespace, name: route.name };
  const out: Ranked[] = [];
  for (const rule of route.rules) {
    if (rule.invalid) continue; // PartiallyInvalid: only valid rules are served
    rule.matches.forEach((match, m) => {
      const ir: RouteRuleIR = {
        id: `${kind}/${route.namespace}/${route.name}/r${rule.index}/m${m}`,
        route: ref,
        ruleIndex: rule.index,
        matchIndex: m,
        ...(rule.name ? { ruleName: rule.name } : {}),
        match,
        filters: rule.filters,
        backends: rule.backends,
        ...(rule.timeouts ? { timeouts: rule.timeouts } : {}),
      };
      out.push({ rule: ir, created: route.created });
    });
  }
  cache.set(route, out);
  return out;
}
