/**
 * Gateways of our classes: acceptance, their own listeners, and listener conflicts over the
 * merged listener list (Gateway first, then attached ListenerSets in precedence order).
 */
import type { Gateway } from "../../crd";
import { describe, gateway as C, listener as L } from "../conditions";
import { SUPPORTED_ADDRESS_TYPES } from "../features";
import { asArray, generationOf, nameOf, nsOf, objects } from "../meta";
import { buildListener, type ListenerSpec } from "./listener";
import type { Lookup } from "./lookup";
import { isListenerValid, type GatewayClassNode, type GatewayNode, type ListenerNode } from "./types";

export function buildGateway(gw: Gateway, gatewayClass: GatewayClassNode, lookup: Lookup): GatewayNode {
  const namespace = nsOf(gw);
  const name = nameOf(gw);
  const desc = describe.gateway(namespace, name);
  const node: GatewayNode = {
    obj: gw,
    namespace,
    name,
    generation: generationOf(gw),
    desc,
    gatewayClass,
    accepted: false,
    conditions: [],
    listeners: [],
    listenerSets: [],
  };
  const owner = { kind: "Gateway" as const, namespace, name, desc };
  node.listeners = objects(gw.spec?.listeners).map((l) => buildListener(l as ListenerSpec, owner, node, lookup));
  markConflicts([node.listeners]);

  const accepted = gatewayAcceptance(node);
  node.accepted = accepted.status === "True";
  node.conditions = [accepted, node.accepted ? C.programmed(desc) : C.notProgrammed(desc)];
  return node;
}

function gatewayAcceptance(node: GatewayNode) {
  const gw = node.obj;
  if (!node.gatewayClass.accepted) return C.classNotAccepted(node.desc, node.gatewayClass.name);
  const infraRef = gw.spec?.infrastructure?.parametersRef;
  if (infraRef) return C.invalidParameters(node.desc, describe.parametersRef(infraRef));
  const badTypes = asArray(gw.spec?.addresses)
    .map((a) => String(a?.type ?? "IPAddress"))
    .filter((t) => !SUPPORTED_ADDRESS_TYPES.includes(t));
  if (badTypes.length > 0) return C.unsupportedAddress(node.desc, [...new Set(badTypes)]);
  const invalid = node.listeners.filter((l) => !isListenerValid(l)).map((l) => l.name);
  const valid = node.listeners.filter(isListenerValid).map((l) => l.name);
  if (invalid.length === 0) return C.accepted(node.desc);
  if (valid.length === 0) return C.listenersNotValid(node.desc, invalid);
  return C.acceptedWithInvalidListeners(node.desc, invalid, valid);
}

/**
 * Mark conflicted listeners. `groups` are in precedence order: group 0 = the Gateway's own
 * listeners, then one group per attached ListenerSet. Inside a group every indistinct listener is
 * conflicted (no winner); a listener that is indistinct from one in an earlier group loses.
 * Distinct = same port with the same protocol and a different hostname.
 */
export function markConflicts(groups: ListenerNode[][]): void {
  const earlier = new Map<number, ListenerNode[]>();
  for (const group of groups) {
    const live = group.filter((l) => l.attachable);
    const byPort = new Map<number, ListenerNode[]>();
    for (const l of live) byPort.set(l.port, [...(byPort.get(l.port) ?? []), l]);
    for (const l of live) {
      const candidates = [...(earlier.get(l.port) ?? []), ...(byPort.get(l.port) ?? []).filter((o) => o !== l)];
      const protocolClash = candidates.filter((o) => o.protocol !== l.protocol);
      const hostClash = candidates.filter((o) => o.protocol === l.protocol && o.hostname === l.hostname);
      if (protocolClash.length > 0) {
        l.conflicted = L.protocolConflict(
          l.desc,
          l.port,
          l.protocol,
          protocolClash.map((o) => o.desc),
        );
      } else if (hostClash.length > 0) {
        l.conflicted = L.hostnameConflict(
          l.desc,
          l.port,
          l.hostname,
          hostClash.map((o) => o.desc),
        );
      } else continue;
      if (l.accepted.status === "True") l.accepted = L.notAcceptedConflict(l.desc, l.conflicted.reason as never);
    }
    for (const l of live) earlier.set(l.port, [...(earlier.get(l.port) ?? []), l]);
  }
}
