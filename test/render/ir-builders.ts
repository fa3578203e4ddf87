/** Terse builders for hand-written IR in tests. */
import type {
  BackendIR,
  FilterIR,
  GatewayIR,
  ListenerIR,
  MatchIR,
  PortIR,
  RouteRuleIR,
  VirtualHostIR,
} from "../../capabilities/engine/ir";

let seq = 0;

export const svc = (
  name: string,
  endpoints: { ip: string; port: number }[],
  weight = 1,
  filters: FilterIR[] = [],
): BackendIR => ({
  kind: "service",
  id: `default/${name}/80`,
  service: { namespace: "default", name },
  port: 80,
  weight,
  endpoints,
  filters,
});

export const invalid = (weight = 1): BackendIR => ({
  kind: "invalid",
  id: `invalid-${seq++}`,
  weight,
  reason: "BackendNotFound",
});

export const match = (m: Partial<MatchIR> = {}): MatchIR => ({ headers: [], queryParams: [], ...m });
export const prefix = (value: string, m: Partial<MatchIR> = {}) => match({ path: { type: "PathPrefix", value }, ...m });
export const exact = (value: string, m: Partial<MatchIR> = {}) => match({ path: { type: "Exact", value }, ...m });
export const regex = (value: string, m: Partial<MatchIR> = {}) =>
  match({ path: { type: "RegularExpression", value }, ...m });

export function rule(
  m: MatchIR,
  backends: BackendIR[],
  filters: FilterIR[] = [],
  extra: Partial<RouteRuleIR> = {},
): RouteRuleIR {
  const n = seq++;
  return {
    id: `httproute/default/r${n}/r0/m0`,
    route: { kind: "HTTPRoute", namespace: "default", name: `r${n}` },
    ruleIndex: 0,
    matchIndex: 0,
    match: m,
    filters,
    backends,
    ...extra,
  };
}

export const vhost = (hostname: string, rules: RouteRuleIR[]): VirtualHostIR => ({ hostname, rules });

export const listener = (
  name: string,
  hostname: string | undefined,
  virtualHosts: VirtualHostIR[],
  tls?: ListenerIR["tls"],
): ListenerIR => ({
  id: `default/gw/${name}`,
  ...(hostname !== undefined ? { hostname } : {}),
  ...(tls ? { tls } : {}),
  virtualHosts,
});

export const port = (n: number, listeners: ListenerIR[], protocol: PortIR["protocol"] = "HTTP"): PortIR => ({
  port: n,
  protocol,
  listeners,
});

export const gateway = (ports: PortIR[]): GatewayIR => ({
  gateway: { namespace: "default", name: "gw" },
  generation: 1,
  ports,
});
