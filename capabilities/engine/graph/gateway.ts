/**
 * Gateways of our classes: acceptance, their own listeners, and listener conflicts over the
 * merged listener list (Gateway first, then attached ListenerSets in precedence order).
 */
import type { Gateway } from "../../crd";
import { describe, gateway as C, listener as L, Reason } from "../conditions";
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
  markConflicts(node.listeners);

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
 * Mark conflicted listeners (Conflicted=True, and Accepted=False with the same reason).
 * Distinct = same port with the same protocol and a different hostname; a different protocol on
 * the same port is a ProtocolConflict (whatever the protocol, even one we do not support).
 *
 * - The Gateway's own listeners: every indistinct listener is conflicted, there is no winner
 *   (Gateway spec, "Handling indistinct Listeners").
 * - ListenerSet listeners, in merge precedence order (ListenerSets oldest first, then by
 *   namespace/name; listeners in spec order): a listener indistinct from one already accepted
 *   loses; otherwise it is accepted and later ones must be distinct from it (ListenerSet spec;
 *   conformance ListenerSetHostnameConflict / ListenerSetProtocolConflict).
 */
export function markConflicts(gatewayListeners: ListenerNode[], listenerSets: ListenerNode[][] = []): void {
  const live = (l: ListenerNode) => Number.isInteger(l.port) && l.port > 0;
  const own = gatewayListeners.filter(live);
  for (const l of own)
    markIfClashing(
      l,
      own.filter((o) => o !== l && o.port === l.port),
    );

  const accepted = new Map<number, ListenerNode[]>();
  const admit = (l: ListenerNode) => {
    if (l.accepted.status === "True") accepted.set(l.port, [...(accepted.get(l.port) ?? []), l]);
  };
  own.forEach(admit);
  for (const group of listenerSets) {
    for (const l of group.filter(live)) {
      if (!markIfClashing(l, accepted.get(l.port) ?? [])) admit(l);
    }
  }
}

/** Conflict `l` with any indistinct listener among `others` (all on its port); true if it clashed. */
function markIfClashing(l: ListenerNode, others: ListenerNode[]): boolean {
  const protocolClash = others.filter((o) => o.protocol !== l.protocol);
  const hostClash = others.filter((o) => o.protocol === l.protocol && o.hostname === l.hostname);
  if (protocolClash.length > 0) {
    l.conflicted = L.protocolConflict(
      l.desc,
      l.port,
      l.protocol,
      protocolClash.map((o) => o.desc),
    );
    l.accepted = L.notAcceptedConflict(l.desc, Reason.ProtocolConflict);
  } else if (hostClash.length > 0) {
    l.conflicted = L.hostnameConflict(
      l.desc,
      l.port,
      l.hostname,
      hostClash.map((o) => o.desc),
    );
    l.accepted = L.notAcceptedConflict(l.desc, Reason.HostnameConflict);
  } else return false;
  return true;
}
