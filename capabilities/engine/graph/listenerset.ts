/**
 * ListenerSets (GEP-1713, standard since v1.5): attach to a Gateway of ours when the Gateway's
 * spec.allowedListeners admits their namespace; their listeners merge into the Gateway after the
 * Gateway's own, oldest ListenerSet first, then by namespace/name.
 */
import type { ListenerSet } from "../../crd";
import { describe, listenerSet as C, listenerSetNotAllowedWhy as Why } from "../conditions";
import { GATEWAY_GROUP, cmp, createdOf, generationOf, key, nameOf, nsOf, objects } from "../meta";
import { markConflicts } from "./gateway";
import { buildListener, type ListenerSpec } from "./listener";
import type { Lookup } from "./lookup";
import { formatSelector, selectorMatches } from "./selector";
import { isListenerValid, type GatewayNode, type ListenerSetNode } from "./types";

export function buildListenerSets(
  sets: ListenerSet[],
  gateways: Map<string, GatewayNode>,
  lookup: Lookup,
): ListenerSetNode[] {
  const ordered = [...sets].sort(
    (a, b) => cmp(createdOf(a), createdOf(b)) || cmp(nsOf(a), nsOf(b)) || cmp(nameOf(a), nameOf(b)),
  );
  const nodes: ListenerSetNode[] = [];
  for (const ls of ordered) {
    const parent = parentGatewayKey(ls);
    const gw = parent === undefined ? undefined : gateways.get(parent);
    if (!gw) continue; // not a Gateway of ours: not ours to report on
    const namespace = nsOf(ls);
    const name = nameOf(ls);
    const desc = describe.listenerSet(namespace, name);
    const node: ListenerSetNode = {
      obj: ls,
      namespace,
      name,
      generation: generationOf(ls),
      desc,
      gateway: gw,
      allowed: false,
      accepted: false,
      conditions: [],
      listeners: [],
    };
    const owner = { kind: "ListenerSet" as const, namespace, name, desc };
    node.listeners = objects(ls.spec?.listeners).map((l) => buildListener(l as ListenerSpec, owner, gw, lookup));
    const why = notAllowedWhy(gw, namespace, lookup);
    node.allowed = why === undefined;
    if (!gw.accepted) node.conditions = [C.parentNotAccepted(desc, gw.desc)];
    else if (why !== undefined) node.conditions = [C.notAllowed(desc, gw.desc, why)];
    if (node.allowed && gw.accepted) gw.listenerSets.push(node);
    nodes.push(node);
  }

  for (const gw of gateways.values()) {
    if (gw.listenerSets.length === 0) continue;
    markConflicts(
      gw.listeners,
      gw.listenerSets.map((ls) => ls.listeners),
    );
    for (const ls of gw.listenerSets) {
      const invalid = ls.listeners.filter((l) => !isListenerValid(l)).map((l) => l.name);
      const accepted =
        invalid.length === 0
          ? C.accepted(ls.desc, gw.desc)
          : invalid.length === ls.listeners.length
            ? C.listenersNotValid(ls.desc, invalid)
            : C.acceptedWithInvalidListeners(ls.desc, gw.desc, invalid);
      ls.conditions = [accepted];
      ls.accepted = accepted.status === "True";
    }
    gw.listenerSets = gw.listenerSets.filter((ls) => ls.accepted);
  }
  for (const ls of nodes)
    ls.conditions.push(ls.accepted ? C.programmed(ls.desc) : C.notProgrammed(ls.desc, ls.conditions[0].reason));
  return nodes;
}

/** `namespace/name` of the Gateway a ListenerSet's parentRef names (undefined: not a Gateway). */
export function parentGatewayKey(ls: ListenerSet): string | undefined {
  const ref = ls?.spec?.parentRef;
  if (!ref || (ref.group ?? GATEWAY_GROUP) !== GATEWAY_GROUP || (ref.kind ?? "Gateway") !== "Gateway") return undefined;
  return key(ref.namespace ?? nsOf(ls), String(ref.name ?? ""));
}

function notAllowedWhy(gw: GatewayNode, lsNs: string, lookup: Lookup): string | undefined {
  const policy = gw.obj.spec?.allowedListeners?.namespaces;
  const from: string = policy?.from ?? "None";
  switch (from) {
    case "All":
      return undefined;
    case "Same":
      return lsNs === gw.namespace ? undefined : Why.same(lsNs, gw.namespace);
    case "Selector": {
      const labels = lookup.namespaceLabels.get(lsNs);
      if (!labels) return Why.unknownNamespace(lsNs);
      const sel = policy?.selector;
      return sel && selectorMatches(sel, labels) ? undefined : Why.selector(lsNs, formatSelector(sel));
    }
    default:
      return Why.none();
  }
}
