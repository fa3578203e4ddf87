/**
 * One listener (of a Gateway or a ListenerSet) on its own: protocol, port, TLS certificate refs,
 * allowed route kinds and namespaces. Conflicts between listeners are decided in gateway.ts,
 * which sees the merged list.
 */
import type { ListenerTLSIR } from "../ir";
import { certProblem, describe, listener as L, listenerRefusal } from "../conditions";
import { CORE_GROUP, GATEWAY_GROUP, key, objects } from "../meta";
import { referenceAllowed, type GrantIndex } from "./referencegrant";
import { formatSelector, selectorMatches } from "./selector";
import type { Lookup } from "./lookup";
import type { GatewayNode, GroupKind, LabelSelector, ListenerNode, OwnerKind, RouteKind } from "./types";

/** The fields Gateway and ListenerSet listeners share (both generated types fit). */
export interface ListenerSpec {
  name: string;
  port: number;
  protocol: string;
  hostname?: string;
  allowedRoutes?: {
    kinds?: { group?: string; kind: string }[];
    namespaces?: { from?: string; selector?: LabelSelector };
  };
  tls?: { mode?: string; certificateRefs?: { group?: string; kind?: string; name: string; namespace?: string }[] };
}

export interface ListenerOwner {
  kind: OwnerKind;
  namespace: string;
  name: string;
  desc: string;
}

const ROUTE_KINDS: readonly RouteKind[] = ["HTTPRoute", "GRPCRoute"];
const PROTOCOL_KINDS: Record<string, readonly RouteKind[]> = { HTTP: ROUTE_KINDS, HTTPS: ROUTE_KINDS };

export function buildListener(
  spec: ListenerSpec,
  owner: ListenerOwner,
  gateway: GatewayNode,
  lookup: Lookup,
): ListenerNode {
  const name = String(spec?.name ?? "");
  const port = Number(spec?.port ?? 0);
  const protocol = String(spec?.protocol ?? "");
  const desc = describe.listener(name, owner.desc);
  const node: ListenerNode = {
    id: `${owner.namespace}/${owner.name}/${name}`,
    name,
    port,
    protocol,
    hostname: spec?.hostname ? String(spec.hostname).toLowerCase() : undefined,
    ownerKind: owner.kind,
    ownerNs: owner.namespace,
    ownerName: owner.name,
    desc,
    gateway,
    attachable: false,
    supportedKinds: [],
    namespaces: {
      from: String(spec?.allowedRoutes?.namespaces?.from ?? "Same"),
      ownerNs: owner.namespace,
      selector: spec?.allowedRoutes?.namespaces?.selector,
    },
    accepted: L.accepted(desc),
    conflicted: L.noConflicts(desc),
    resolvedRefs: L.resolvedRefs(desc),
    attached: new Map(),
  };

  const mode = tlsMode(spec);
  const served = PROTOCOL_KINDS[protocol] !== undefined && (protocol !== "HTTPS" || mode === "Terminate");
  // Route kinds are checked whatever the protocol: an HTTPRoute on a TLS listener is an invalid
  // kind there (conformance ListenerSetAllowedRoutesSupportedKinds).
  const kinds = resolveKinds(spec, served ? PROTOCOL_KINDS[protocol] : []);
  node.supportedKinds = kinds.valid;
  if (kinds.invalid.length > 0) {
    node.resolvedRefs = L.invalidRouteKinds(
      desc,
      protocol,
      kinds.invalid,
      kinds.valid.map((k) => k.kind),
    );
  }
  if (!PROTOCOL_KINDS[protocol]) {
    node.accepted = L.unsupportedProtocol(desc, protocol);
    return node;
  }
  if (!served) {
    node.accepted = L.unsupportedTLSMode(desc, mode);
    return node;
  }
  // Listener status does not impact attachment (spec, ListenerStatus.attachedRoutes): routes may
  // attach to a listener with an unavailable port; it is simply not programmed.
  const portProblem = lookup.validator.port(port);
  if (portProblem) node.accepted = L.portUnavailable(desc, port, portProblem);
  else if (protocol === "HTTPS" && wantsClientValidation(gateway, port)) {
    node.accepted = L.clientValidationUnsupported(desc, gateway.desc);
  }
  node.attachable = true;
  if (terminatesTLS(spec)) {
    const certs = resolveCertificates(spec, owner, desc, lookup);
    if ("problem" in certs) node.resolvedRefs = certs.problem;
    else node.tls = certs.tls;
  }
  return node;
}

/** Does the Gateway ask for client certificate validation on HTTPS listeners of `port`? */
function wantsClientValidation(gateway: GatewayNode, port: number): boolean {
  const frontend = gateway.obj.spec?.tls?.frontend;
  if (!frontend) return false;
  const perPort = objects(frontend.perPort).find((p) => Number(p.port) === port);
  return Boolean(perPort ? perPort.tls?.validation : frontend.default?.validation);
}

function resolveKinds(spec: ListenerSpec, allowed: readonly RouteKind[]): { valid: GroupKind[]; invalid: string[] } {
  const requested = objects(spec?.allowedRoutes?.kinds);
  if (requested.length === 0) return { valid: allowed.map((kind) => ({ group: GATEWAY_GROUP, kind })), invalid: [] };
  const valid: GroupKind[] = [];
  const invalid: string[] = [];
  for (const k of requested) {
    const group = k?.group ?? GATEWAY_GROUP;
    const kind = String(k?.kind ?? "");
    if (group === GATEWAY_GROUP && (allowed as readonly string[]).includes(kind)) {
      if (!valid.some((v) => v.kind === kind)) valid.push({ group, kind });
    } else invalid.push(group === GATEWAY_GROUP ? kind : `${group}/${kind}`);
  }
  return { valid, invalid };
}

const tlsMode = (spec: ListenerSpec): string => String(spec?.tls?.mode ?? "Terminate");

/** A listener whose certificates the engine resolves: HTTPS, terminated here. */
export const terminatesTLS = (spec: ListenerSpec): boolean =>
  String(spec?.protocol ?? "") === "HTTPS" && tlsMode(spec) === "Terminate";

type CertResult = { tls: ListenerTLSIR } | { problem: ListenerNode["resolvedRefs"] };

/** A certificateRef the listener may use: the core Secret it names, as `describe.secret` words it. */
type CertTarget = { namespace: string; name: string; desc: string };

/**
 * The listener's certificateRefs in order, each either a Secret it may use (same namespace, or a
 * ReferenceGrant permits it) or the problem that stops resolution there. The one place that decides
 * which Secrets a listener may read: resolution below and `secretsToRead` (the shell fetches
 * exactly those) both walk it.
 */
export function* certificateTargets(
  spec: ListenerSpec,
  owner: Pick<ListenerOwner, "kind" | "namespace">,
  desc: string,
  grants: GrantIndex,
): Generator<CertTarget | { problem: ListenerNode["resolvedRefs"] }> {
  const refs = objects(spec?.tls?.certificateRefs);
  if (refs.length === 0) {
    yield { problem: L.invalidCertificateRef(desc, certProblem.noRefs()) };
    return;
  }
  for (const ref of refs) {
    const group = ref?.group ?? CORE_GROUP;
    const kind = ref?.kind ?? "Secret";
    if (group !== CORE_GROUP || kind !== "Secret") {
      yield { problem: L.invalidCertificateRef(desc, certProblem.wrongKind(group, kind)) };
      return;
    }
    const namespace = ref.namespace ?? owner.namespace;
    const name = String(ref.name ?? "");
    const secretDesc = describe.secret(namespace, name);
    const permitted = referenceAllowed(
      grants,
      { group: GATEWAY_GROUP, kind: owner.kind, namespace: owner.namespace },
      { group: CORE_GROUP, kind: "Secret", namespace, name },
    );
    if (!permitted) {
      yield { problem: L.certRefNotPermitted(desc, secretDesc, owner.kind, owner.namespace) };
      return;
    }
    yield { namespace, name, desc: secretDesc };
  }
}

function resolveCertificates(spec: ListenerSpec, owner: ListenerOwner, desc: string, lookup: Lookup): CertResult {
  const certificates: ListenerTLSIR["certificates"] = [];
  for (const target of certificateTargets(spec, owner, desc, lookup.grants)) {
    if ("problem" in target) return { problem: target.problem };
    const { namespace, name, desc: secretDesc } = target;
    const secret = lookup.secrets.get(key(namespace, name));
    if (!secret) return { problem: L.invalidCertificateRef(desc, certProblem.notFound(secretDesc)) };
    if (secret.type !== "kubernetes.io/tls") {
      return { problem: L.invalidCertificateRef(desc, certProblem.wrongType(secretDesc, String(secret.type ?? ""))) };
    }
    const certPem = decode(secret.data?.["tls.crt"]);
    const keyPem = decode(secret.data?.["tls.key"]);
    if (!/-----BEGIN CERTIFICATE-----/.test(certPem)) {
      return { problem: L.invalidCertificateRef(desc, certProblem.badPem(secretDesc, "tls.crt")) };
    }
    // `[ ]`, not a space: the bundle in dist/ must not contain the marker of a committed key
    // (dist/ is checked for it; this is the pattern, not a key).
    if (!/-----BEGIN ([A-Z]+ )?PRIVATE[ ]KEY-----/.test(keyPem)) {
      return { problem: L.invalidCertificateRef(desc, certProblem.badPem(secretDesc, "tls.key")) };
    }
    certificates.push({ ref: { namespace, name }, certPem, keyPem });
  }
  return { tls: { certificates } };
}

function decode(b64: string | undefined): string {
  if (typeof b64 !== "string") return "";
  try {
    return Buffer.from(b64, "base64").toString("utf8");
  } catch {
    return "";
  }
}

/** Fast check (no message): does the listener admit routes from `routeNs`? */
export function namespaceAdmits(l: ListenerNode, routeNs: string, lookup: Lookup): boolean {
  const p = l.namespaces;
  if (p.from === "All") return true;
  if (p.from === "Same") return routeNs === p.ownerNs;
  if (p.from !== "Selector" || !p.selector) return false;
  const labels = lookup.namespaceLabels.get(routeNs);
  return labels !== undefined && selectorMatches(p.selector, labels);
}

/** Undefined if the listener admits routes from `routeNs`, else the human reason it does not. */
export function namespaceRefusal(l: ListenerNode, routeNs: string, lookup: Lookup): string | undefined {
  const p = l.namespaces;
  switch (p.from) {
    case "All":
      return undefined;
    case "Same":
      return routeNs === p.ownerNs ? undefined : listenerRefusal.namespaceNotSame(routeNs, l.desc, p.ownerNs);
    case "Selector": {
      const labels = lookup.namespaceLabels.get(routeNs);
      if (!labels) return listenerRefusal.namespaceUnknown(routeNs, l.desc);
      if (!p.selector) return listenerRefusal.selectorMissing(routeNs, l.desc);
      return selectorMatches(p.selector, labels)
        ? undefined
        : listenerRefusal.namespaceSelector(routeNs, l.desc, (p.selectorText ??= formatSelector(p.selector)));
    }
    default:
      return listenerRefusal.unknownFrom(routeNs, l.desc, p.from);
  }
}

/** Undefined if the listener takes routes of `kind`, else why not. */
export function kindRefusal(l: ListenerNode, kind: RouteKind): string | undefined {
  if (!l.attachable) return listenerRefusal.listenerNotAccepted(l.desc);
  for (const k of l.supportedKinds) if (k.kind === kind) return undefined;
  return listenerRefusal.kindNotAllowed(
    kind,
    l.desc,
    l.supportedKinds.map((k) => k.kind),
  );
}
