/**
 * Folds what the data plane really serves into the engine's Gateway and ListenerSet statuses:
 * `status.addresses` and the Programmed condition (Gateway, its listeners, and the listeners of
 * ListenerSets attached to it). A Programmed=False the engine computed (invalid listener) wins.
 */
import { match } from "ts-pattern";
import type { ObjectStatus } from "../engine/result";
import type { GatewayDataPlane } from "./dataplane";
import type { Condition } from "./status-merge";

type Listener = { name: string; conditions?: Condition[]; [k: string]: unknown };

function withProgrammed(conditions: Condition[] | undefined, dp: GatewayDataPlane, generation: number): Condition[] {
  const list = conditions ?? [];
  const engine = list.find((c) => c.type === "Programmed");
  if (engine?.status === "False") return list;
  const ours: Condition = { ...dp.programmed, observedGeneration: generation };
  return engine ? list.map((c) => (c.type === "Programmed" ? ours : c)) : [...list, ours];
}

/** A listener whose Accepted is False is not programmed whatever the data plane does. */
function listenerProgrammed(l: Listener, dp: GatewayDataPlane, generation: number): Listener {
  if (l.conditions?.some((c) => c.type === "Accepted" && c.status === "False")) return l;
  return { ...l, conditions: withProgrammed(l.conditions, dp, generation) };
}

export function foldDataPlane(
  statuses: ObjectStatus[],
  planes: GatewayDataPlane[],
  listenerSetParent: (namespace: string, name: string) => { namespace: string; name: string } | undefined,
): ObjectStatus[] {
  const byGateway = new Map(planes.map((p) => [`${p.namespace}/${p.name}`, p]));
  /** The data plane that serves the object: a Gateway's own, a ListenerSet's parent's, none for the rest. */
  const planeOf = (s: ObjectStatus): GatewayDataPlane | undefined =>
    match(s.kind)
      .with("Gateway", () => byGateway.get(`${s.namespace}/${s.name}`))
      .with("ListenerSet", () => {
        const parent = listenerSetParent(s.namespace ?? "", s.name);
        return parent && byGateway.get(`${parent.namespace}/${parent.name}`);
      })
      .with("GatewayClass", "HTTPRoute", "GRPCRoute", "RouteOwnershipPolicy", () => undefined)
      .exhaustive();
  return statuses.map((s) => {
    const dp = planeOf(s);
    if (!dp) return s;
    const status = { ...s.status } as Record<string, unknown> & {
      conditions?: Condition[];
      listeners?: Listener[];
    };
    const accepted = status.conditions?.find((c) => c.type === "Accepted");
    if (accepted?.status === "False") return s;
    status.conditions = withProgrammed(status.conditions, dp, s.generation);
    if (Array.isArray(status.listeners)) {
      status.listeners = status.listeners.map((l) => listenerProgrammed(l, dp, s.generation));
    }
    if (s.kind === "Gateway") {
      if (dp.addresses.length > 0) status.addresses = dp.addresses;
      else delete status.addresses;
    }
    return { ...s, status };
  });
}
