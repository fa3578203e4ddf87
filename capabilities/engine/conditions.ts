/**
 * The ONE catalogue of condition types, reasons and messages the engine writes.
 * Types and reasons are the upstream Gateway API v1.6.1 names. Every message is built here
 * (they surface as kubectl output and admission warnings), so they must name the object,
 * the listener or rule, and the reason in plain words. No inline messages elsewhere.
 */

export const ConditionType = {
  Accepted: "Accepted",
  Programmed: "Programmed",
  SupportedVersion: "SupportedVersion",
  Conflicted: "Conflicted",
  ResolvedRefs: "ResolvedRefs",
  PartiallyInvalid: "PartiallyInvalid",
  /** crossway: a RouteOwnershipPolicy in Warn mode reports a match another namespace owns. */
  OwnershipConflict: "crossway.dev/OwnershipConflict",
} as const;

export const Reason = {
  // shared
  Accepted: "Accepted",
  Programmed: "Programmed",
  Invalid: "Invalid",
  Pending: "Pending",
  ResolvedRefs: "ResolvedRefs",
  RefNotPermitted: "RefNotPermitted",
  InvalidParameters: "InvalidParameters",
  UnsupportedValue: "UnsupportedValue",
  // GatewayClass
  SupportedVersion: "SupportedVersion",
  // Gateway
  ListenersNotValid: "ListenersNotValid",
  UnsupportedAddress: "UnsupportedAddress",
  /** Programmed=False, set only by the shell (`dataPlane` below): no load-balancer address yet. */
  AddressNotAssigned: "AddressNotAssigned",
  // Listener
  PortUnavailable: "PortUnavailable",
  UnsupportedProtocol: "UnsupportedProtocol",
  NoConflicts: "NoConflicts",
  HostnameConflict: "HostnameConflict",
  ProtocolConflict: "ProtocolConflict",
  InvalidCertificateRef: "InvalidCertificateRef",
  InvalidRouteKinds: "InvalidRouteKinds",
  // ListenerSet
  NotAllowed: "NotAllowed",
  ParentNotAccepted: "ParentNotAccepted",
  ParentNotProgrammed: "ParentNotProgrammed",
  // Route
  NotAllowedByListeners: "NotAllowedByListeners",
  NoMatchingListenerHostname: "NoMatchingListenerHostname",
  NoMatchingParent: "NoMatchingParent",
  BackendNotFound: "BackendNotFound",
  InvalidKind: "InvalidKind",
  // crossway: RouteOwnershipPolicy (route side, and the policy's own status)
  /** A match claims a hostname or path a RouteOwnershipPolicy gives to other namespaces. */
  ClaimedByAnotherNamespace: "ClaimedByAnotherNamespace",
  TargetNotFound: "TargetNotFound",
  Conflicted: "Conflicted",
} as const;

export type ReasonName = (typeof Reason)[keyof typeof Reason];
export type ConditionTypeName = (typeof ConditionType)[keyof typeof ConditionType];

/** A condition before the status stage stamps observedGeneration. */
export interface Condition {
  type: ConditionTypeName;
  status: "True" | "False" | "Unknown";
  reason: ReasonName;
  message: string;
}

const c = (type: ConditionTypeName, ok: boolean, reason: ReasonName, message: string): Condition => ({
  type,
  status: ok ? "True" : "False",
  reason,
  message,
});

/** Human descriptions of objects, used inside messages. */
export const describe = {
  gateway: (ns: string, name: string) => `Gateway ${ns}/${name}`,
  listenerSet: (ns: string, name: string) => `ListenerSet ${ns}/${name}`,
  /** e.g. `listener "http" of Gateway infra-ns/shared-gateway` */
  listener: (listener: string, owner: string) => `listener "${listener}" of ${owner}`,
  route: (kind: string, ns: string, name: string) => `${kind} ${ns}/${name}`,
  rule: (ruleIndex: number, ruleName?: string) =>
    ruleName ? `rule ${ruleIndex} ("${ruleName}")` : `rule ${ruleIndex}`,
  backend: (ns: string, name: string, port?: number) => `backend ${ns}/${name}${port === undefined ? "" : `:${port}`}`,
  secret: (ns: string, name: string) => `Secret ${ns}/${name}`,
  match: (where: string, j: number) => `${where} match ${j}`,
  filter: (where: string, i: number) => `${where} filter ${i}`,
  mirror: (filterWhere: string) => `${filterWhere} (RequestMirror)`,
  backendRef: (where: string, j: number) => `${where} backendRef ${j}`,
  /** `group/Kind [namespace/]name`, "core" for the core group. */
  parametersRef: (ref: { group?: string; kind?: string; namespace?: string; name?: string }) =>
    `${ref.group || "core"}/${ref.kind ?? ""} ${ref.namespace ? `${ref.namespace}/` : ""}${ref.name ?? ""}`,
};

// ---------------------------------------------------------------------------------------------
// GatewayClass
export const gatewayClass = {
  accepted: (name: string) => c("Accepted", true, Reason.Accepted, `GatewayClass ${name} is accepted by crossway`),
  invalidParameters: (name: string, ref: string) =>
    c(
      "Accepted",
      false,
      Reason.InvalidParameters,
      `GatewayClass ${name} sets parametersRef ${ref}, but crossway takes no parameters; remove spec.parametersRef`,
    ),
  supportedVersion: (bundleVersion: string) =>
    c("SupportedVersion", true, Reason.SupportedVersion, `Gateway API CRDs ${bundleVersion} are supported`),
};

// ---------------------------------------------------------------------------------------------
// Gateway
export const gateway = {
  accepted: (gw: string) => c("Accepted", true, Reason.Accepted, `${gw} is accepted`),
  acceptedWithInvalidListeners: (gw: string, invalid: string[], valid: string[]) =>
    c(
      "Accepted",
      true,
      Reason.ListenersNotValid,
      `${gw} is accepted with listeners ${quoteList(valid)} only; listeners ${quoteList(invalid)} are not valid (see status.listeners)`,
    ),
  listenersNotValid: (gw: string, invalid: string[]) =>
    c(
      "Accepted",
      false,
      Reason.ListenersNotValid,
      `${gw} has no valid listener (not valid: ${quoteList(invalid)}; see status.listeners)`,
    ),
  unsupportedAddress: (gw: string, types: string[]) =>
    c(
      "Accepted",
      false,
      Reason.UnsupportedAddress,
      `${gw} requests spec.addresses of type ${quoteList(types)}, which crossway cannot assign; remove spec.addresses to get an address from the data-plane Service`,
    ),
  invalidParameters: (gw: string, ref: string) =>
    c(
      "Accepted",
      false,
      Reason.InvalidParameters,
      `${gw} sets spec.infrastructure.parametersRef ${ref}, but crossway takes no parameters`,
    ),
  classNotAccepted: (gw: string, className: string) =>
    c("Accepted", false, Reason.Pending, `${gw} waits for its GatewayClass ${className}, which is not accepted`),
  programmed: (gw: string) => c("Programmed", true, Reason.Programmed, `${gw} is valid and its configuration is built`),
  notProgrammed: (gw: string) =>
    c("Programmed", false, Reason.Invalid, `${gw} is not programmed because it is not accepted`),
};

// ---------------------------------------------------------------------------------------------
// Programmed as the shell sees it (reconcilers/dataplane.ts): the engine's Programmed=True only
// says the Gateway is valid and its configuration built; the shell replaces it, on the Gateway,
// its listeners and its ListenerSets, with one of these, from what the data-plane pods report.
export const dataPlane = {
  /** Ready pods serve the published config generation and the Service has an address. */
  serving: (generation: number, readyPods: number) =>
    c(
      "Programmed",
      true,
      Reason.Programmed,
      `${readyPods} ready data-plane pod(s) serve config generation ${generation}`,
    ),
  /** A pod's HAProxy refused the published config (ANN_REJECTED); it keeps serving its last one. */
  podRejected: (pod: string, generation: number, why: string) =>
    c("Programmed", false, Reason.Invalid, `data-plane pod ${pod} rejected config generation ${generation}: ${why}`),
  noReadyPod: (generation: number, pods: number) =>
    c(
      "Programmed",
      false,
      Reason.Pending,
      `waiting for a ready data-plane pod to serve config generation ${generation} (${pods} pod(s), none ready)`,
    ),
  podsBehind: (generation: number, readyPods: number, behind: { pod: string; serves: number }[]) =>
    c(
      "Programmed",
      false,
      Reason.Pending,
      `waiting for ${behind.length} of ${readyPods} ready data-plane pod(s) to serve config generation ${generation} (${behind.map((b) => `${b.pod} serves ${b.serves}`).join(", ")})`,
    ),
  addressNotAssigned: (generation: number, service: string) =>
    c(
      "Programmed",
      false,
      Reason.AddressNotAssigned,
      `config generation ${generation} is served; waiting for Service ${service} to get a load-balancer address`,
    ),
  /** The controller's own check (config-vet.ts) refuses the Gateway's own parts: nothing new is published. */
  configRefused: (generation: number, why: string) =>
    c(
      "Programmed",
      false,
      Reason.Invalid,
      `the data plane refuses this Gateway's own configuration (listeners, certificates), so it is not published; config generation ${generation} keeps serving: ${why}`,
    ),
  /** A controller built without a data plane (ControllerDeps.dataPlane unset). */
  notWiredIn: () =>
    c(
      "Programmed",
      false,
      Reason.Pending,
      "this crossway build has no data plane wired in; nothing serves this Gateway",
    ),
};

// ---------------------------------------------------------------------------------------------
// Listeners (on Gateways and ListenerSets)
export const listener = {
  accepted: (l: string) => c("Accepted", true, Reason.Accepted, `${l} is accepted`),
  unsupportedProtocol: (l: string, protocol: string) =>
    c(
      "Accepted",
      false,
      Reason.UnsupportedProtocol,
      `${l} uses protocol "${protocol}"; crossway supports HTTP and HTTPS`,
    ),
  unsupportedTLSMode: (l: string, mode: string) =>
    c(
      "Accepted",
      false,
      Reason.UnsupportedProtocol,
      `${l} uses TLS mode "${mode}"; HTTPS listeners support only mode Terminate`,
    ),
  clientValidationUnsupported: (l: string, gw: string) =>
    c(
      "Accepted",
      false,
      Reason.UnsupportedValue,
      `${l} would need client certificate validation (spec.tls.frontend of ${gw}), which crossway does not support yet; it is not served rather than served without mutual TLS`,
    ),
  portUnavailable: (l: string, port: number, why: string) =>
    c("Accepted", false, Reason.PortUnavailable, `${l} cannot use port ${port}: ${why}`),
  /** A conflicted listener is not accepted (conformance: Accepted=False with the conflict reason). */
  notAcceptedConflict: (l: string, reason: typeof Reason.HostnameConflict | typeof Reason.ProtocolConflict) =>
    c("Accepted", false, reason, `${l} is not accepted because it conflicts with another listener (see Conflicted)`),
  noConflicts: (l: string) => c("Conflicted", false, Reason.NoConflicts, `${l} does not conflict with other listeners`),
  hostnameConflict: (l: string, port: number, hostname: string | undefined, others: string[]) =>
    c(
      "Conflicted",
      true,
      Reason.HostnameConflict,
      `${l} conflicts with ${others.join(", ")}: both use port ${port} with ${hostname ? `hostname "${hostname}"` : "no hostname"}`,
    ),
  protocolConflict: (l: string, port: number, protocol: string, others: string[]) =>
    c(
      "Conflicted",
      true,
      Reason.ProtocolConflict,
      `${l} uses protocol ${protocol} on port ${port}, where ${others.join(", ")} ${others.length === 1 ? "uses" : "use"} another protocol`,
    ),
  resolvedRefs: (l: string) => c("ResolvedRefs", true, Reason.ResolvedRefs, `${l} has all its references resolved`),
  invalidRouteKinds: (l: string, protocol: string, invalid: string[], valid: string[]) =>
    c(
      "ResolvedRefs",
      false,
      Reason.InvalidRouteKinds,
      `${l} allows route kinds ${quoteList(invalid)}, which crossway cannot serve on a "${protocol}" listener; supported: ${valid.length ? quoteList(valid) : "none of the listed kinds"}`,
    ),
  invalidCertificateRef: (l: string, what: string) =>
    c("ResolvedRefs", false, Reason.InvalidCertificateRef, `${l}: ${what}`),
  certRefNotPermitted: (l: string, secret: string, fromKind: string, fromNs: string) =>
    c(
      "ResolvedRefs",
      false,
      Reason.RefNotPermitted,
      `${l} references ${secret} in another namespace, but no ReferenceGrant there allows ${fromKind}s from namespace "${fromNs}" to use it`,
    ),
  programmed: (l: string) => c("Programmed", true, Reason.Programmed, `${l} is programmed`),
  invalid: (l: string, why: string, reason: ReasonName = Reason.Invalid) =>
    c("Programmed", false, reason, `${l} is not programmed: ${why}`),
};

/** Why a listener is not programmed (for `listener.invalid`). */
export const listenerNotProgrammedWhy = {
  notAccepted: (reason: string) => `it is not accepted (${reason})`,
  conflicted: (reason: string) => `it conflicts with another listener (${reason})`,
  unresolved: (reason: string) => `its references do not resolve (${reason})`,
  ownerNotAccepted: (owner: string) => `${owner} is not accepted`,
};

/** Human reasons (for the messages above) why a listener certificateRef does not resolve. */
export const certProblem = {
  noRefs: () => "HTTPS needs at least one tls.certificateRefs entry",
  wrongKind: (group: string, kind: string) =>
    `certificateRef of kind "${kind}"${group ? ` (group "${group}")` : ""} is not supported; use a core Secret`,
  notFound: (secret: string) => `${secret} does not exist`,
  wrongType: (secret: string, type: string) => `${secret} has type "${type}"; it must be "kubernetes.io/tls"`,
  badPem: (secret: string, field: string) =>
    `${secret} field "${field}" does not hold a PEM ${field === "tls.key" ? "private key" : "certificate"}`,
};

// ---------------------------------------------------------------------------------------------
// ListenerSet
export const listenerSet = {
  accepted: (ls: string, gw: string) => c("Accepted", true, Reason.Accepted, `${ls} is attached to ${gw}`),
  acceptedWithInvalidListeners: (ls: string, gw: string, invalid: string[]) =>
    c(
      "Accepted",
      true,
      Reason.ListenersNotValid,
      `${ls} is attached to ${gw}, but listeners ${quoteList(invalid)} are not valid (see status.listeners)`,
    ),
  notAllowed: (ls: string, gw: string, why: string) =>
    c("Accepted", false, Reason.NotAllowed, `${ls} is not allowed by ${gw}: ${why}`),
  parentNotAccepted: (ls: string, gw: string) =>
    c("Accepted", false, Reason.ParentNotAccepted, `${ls} cannot attach: ${gw} is not accepted`),
  listenersNotValid: (ls: string, invalid: string[]) =>
    c(
      "Accepted",
      false,
      Reason.ListenersNotValid,
      `${ls} has no valid listener (not valid: ${quoteList(invalid)}; see status.listeners)`,
    ),
  programmed: (ls: string) => c("Programmed", true, Reason.Programmed, `${ls} is programmed`),
  /** Programmed=False mirrors the Accepted reason (conformance), ParentNotAccepted → ParentNotProgrammed. */
  notProgrammed: (ls: string, acceptedReason: ReasonName) =>
    c(
      "Programmed",
      false,
      acceptedReason === Reason.ParentNotAccepted ? Reason.ParentNotProgrammed : acceptedReason,
      `${ls} is not programmed because it is not accepted`,
    ),
};

/** Why a Gateway's allowedListeners does not admit a ListenerSet's namespace. */
export const listenerSetNotAllowedWhy = {
  none: () => `the Gateway's spec.allowedListeners does not allow ListenerSets (from: None)`,
  same: (ns: string, gwNs: string) =>
    `namespace "${ns}" is not the Gateway's namespace "${gwNs}" (allowedListeners from: Same)`,
  selector: (ns: string, selector: string) => `namespace "${ns}" does not match allowedListeners selector ${selector}`,
  unknownNamespace: (ns: string) => `namespace "${ns}" is unknown`,
};

// ---------------------------------------------------------------------------------------------
// Routes (HTTPRoute, GRPCRoute): one entry per parentRef
export const route = {
  accepted: (r: string, parent: string, listeners: string[]) =>
    c(
      "Accepted",
      true,
      Reason.Accepted,
      `${r} is accepted by ${parent} on listener${listeners.length === 1 ? "" : "s"} ${quoteList(listeners)}`,
    ),
  notAllowedByListeners: (r: string, parent: string, why: string[]) =>
    c("Accepted", false, Reason.NotAllowedByListeners, `${r} is not attached to ${parent}: ${why.join("; ")}`),
  noMatchingListenerHostname: (r: string, parent: string, hostnames: string[], why: string[]) =>
    c(
      "Accepted",
      false,
      Reason.NoMatchingListenerHostname,
      `${r} hostnames ${quoteList(hostnames)} match no listener hostname of ${parent}: ${why.join("; ")}`,
    ),
  noMatchingParent: (r: string, parent: string, why: string) =>
    c("Accepted", false, Reason.NoMatchingParent, `${r} cannot attach to ${parent}: ${why}`),
  kindHostnameConflict: (r: string, parent: string, l: string, winner: string) =>
    c(
      "Accepted",
      false,
      Reason.NotAllowedByListeners,
      `${r} is not attached to ${parent}: ${l} already serves ${winner} on an intersecting hostname, and one listener cannot serve an HTTPRoute and a GRPCRoute on the same hostname (the older route wins)`,
    ),
  partiallyInvalid: (r: string, problems: string[]) =>
    c(
      "PartiallyInvalid",
      true,
      Reason.UnsupportedValue,
      `${r} has rules that cannot be served as written (its other rules are served): ${problems.join("; ")}`,
    ),
  unsupportedValue: (r: string, problems: string[]) =>
    c("Accepted", false, Reason.UnsupportedValue, `${r} is not accepted: ${problems.join("; ")}`),
  /** Not accepted, but its rules still hold their matches and answer 500 (fail closed). */
  unsupportedValueFailClosed: (r: string, problems: string[]) =>
    c(
      "Accepted",
      false,
      Reason.UnsupportedValue,
      `${r} is not accepted: ${problems.join("; ")}. Rules that answer HTTP 500 keep their matches, so those requests never reach another route's backends`,
    ),
  resolvedRefs: (r: string) =>
    c("ResolvedRefs", true, Reason.ResolvedRefs, `${r} has all its backend references resolved`),
  unresolvedRefs: (reason: BackendReason, problems: string[]) => c("ResolvedRefs", false, reason, problems.join("; ")),
};

/** Why one listener does not take a route (joined into NotAllowedByListeners / hostname messages). */
export const listenerRefusal = {
  namespaceNotSame: (routeNs: string, l: string, ownerNs: string) =>
    `namespace "${routeNs}" is not allowed by ${l}: it only allows routes from its own namespace "${ownerNs}"`,
  namespaceSelector: (routeNs: string, l: string, selector: string) =>
    `namespace "${routeNs}" is not allowed by ${l}: it does not match selector ${selector}`,
  selectorMissing: (routeNs: string, l: string) =>
    `namespace "${routeNs}" is not allowed by ${l}: allowedRoutes.namespaces.from is Selector but no selector is set, which admits nothing`,
  unknownFrom: (routeNs: string, l: string, from: string) =>
    `namespace "${routeNs}" is not allowed by ${l}: allowedRoutes.namespaces.from "${from}" admits nothing`,
  namespaceUnknown: (routeNs: string, l: string) =>
    `namespace "${routeNs}" is not allowed by ${l}: the namespace is unknown`,
  kindNotAllowed: (kind: string, l: string, kinds: string[]) =>
    `${l} does not allow kind ${kind} (allows ${kinds.length ? quoteList(kinds) : "no route kinds"})`,
  listenerNotAccepted: (l: string) => `${l} is not accepted`,
  hostnameMismatch: (l: string, hostname: string) => `${l} has hostname "${hostname}"`,
};

/** Why a parentRef selects no listener (NoMatchingParent). */
export const parentProblem = {
  noSection: (section: string) => `it has no listener named "${section}"`,
  noPort: (port: number, section?: string) =>
    section ? `listener "${section}" does not use port ${port}` : `it has no listener on port ${port}`,
  notAccepted: () => `it is not accepted`,
  listenerSetNotAttached: (gw: string) => `it is not attached to ${gw}`,
};

export type BackendReason =
  | typeof Reason.RefNotPermitted
  | typeof Reason.BackendNotFound
  | typeof Reason.InvalidKind
  | typeof Reason.UnsupportedProtocol;

/** Why one backendRef (or mirror backendRef) did not resolve, naming rule and backend. */
/** A description rendered only when a message is built (e.g. a backend on the hot path). */
export type Describable = string | { toString(): string };

export const backendProblem = {
  refNotPermitted: (where: string, backend: Describable, backendNs: string, fromKind: string, fromNs: string) =>
    `${where} ${backend}: no ReferenceGrant in namespace "${backendNs}" allows ${fromKind}s from namespace "${fromNs}" to reference this Service`,
  invalidKind: (where: string, group: string, kind: string, name: string) =>
    `${where} backendRef ${name} has kind "${kind}"${group ? ` (group "${group}")` : ""}; only core Services are supported`,
  serviceNotFound: (where: string, backend: Describable) => `${where} ${backend}: the Service does not exist`,
  externalName: (where: string, backend: Describable) =>
    `${where} ${backend}: the Service is of type ExternalName, which crossway does not route to (it may point outside the cluster, CVE-2021-25740)`,
  portMissing: (where: string, backend: Describable) =>
    `${where} ${backend}: backendRef port is required for a Service`,
  portNotFound: (where: string, backend: Describable, port: number) =>
    `${where} ${backend}: the Service has no port ${port}`,
  unsupportedProtocol: (where: string, backend: Describable, appProtocol: string) =>
    `${where} ${backend}: Service port appProtocol "${appProtocol}" is not supported`,
};

/** Unsupported values inside a route (joined into UnsupportedValue messages). */
export const valueProblem = {
  filter: (where: string, type: string) => `${where} uses filter ${type}, which crossway does not support`,
  backendFilter: (where: string, type: string) =>
    `${where} uses backendRef filter ${type}, which crossway does not support on backendRefs`,
  filterMissingConfig: (where: string, type: string) =>
    `${where} filter ${type} has no ${type === "CORS" ? "cors" : `${type.charAt(0).toLowerCase()}${type.slice(1)}`} configuration`,
  timeout: (where: string, field: string, value: string) =>
    `${where} timeouts.${field} "${value}" is not a Gateway API duration (e.g. "10s", "1m30s", "500ms")`,
  timeoutOrder: (where: string) => `${where} timeouts.backendRequest must not be longer than timeouts.request`,
  validator: (where: string, what: string) => `${where}: ${what}`,
  redirectStatus: (where: string, code: number) =>
    `${where} RequestRedirect statusCode ${code} is not supported (use 301, 302, 303, 307 or 308)`,
  pathModifierType: (where: string, type: string) =>
    `${where} path modifier type "${type}" is not supported (use ReplaceFullPath or ReplacePrefixMatch)`,
  redirectScheme: (where: string, scheme: string) =>
    `${where} RequestRedirect scheme "${scheme}" is not supported (use http or https)`,
  pathModifierMissing: (where: string, type: string) => `${where} path modifier of type "${type}" has no value`,
  pathMatchType: (where: string, type: string) => `${where}: path match type "${type}" is not supported`,
  grpcName: (where: string, name: string) => `${where}: gRPC name "${name}" is not a valid service or method name`,
  cors: (where: string, field: string, value: string, why: string) => `${where} CORS ${field} "${value}" ${why}`,
  retryCodeRange: (where: string, code: string) =>
    `${where} retry code "${code}" is not an HTTP status code in 400-599`,
  retryAttempts: (where: string, value: string) => `${where} retry attempts "${value}" is not a non-negative integer`,
  retryBackoff: (where: string, value: string) =>
    `${where} retry.backoff "${value}" is not a Gateway API duration (e.g. "100ms", "1s")`,
  /** The shell's data-plane check refused the configuration this route renders (TranslateOptions.excluded). */
  refusedByDataplane: (why: string) =>
    `the data plane refused the configuration this route renders, so it is left out and the rest of the Gateway keeps serving: ${why}`,
  /** Suffix of a rule's last problem: its matches could not be expressed, so it is not served. */
  ruleDropped: (problem: string) => `${problem} (this rule is not served)`,
  /** Suffix of a rule's last problem: its matches are kept and answer 500 (fail closed). */
  ruleFailsClosed: (problem: string) => `${problem} (requests matching this rule answer HTTP 500)`,
  prefixRewriteWithoutPrefix: (where: string, filter: string) =>
    `${where} ${filter} uses ReplacePrefixMatch, which needs every match of the rule to be a PathPrefix match`,
};

/** Data-plane validator findings (the validator returns these strings). */
export const dataplaneProblem = {
  headerName: (name: string) => `header name "${name}" is not a valid HTTP header name`,
  headerValue: (name: string) => `value of header "${name}" contains control characters`,
  regex: (pattern: string, err: string) => `regular expression "${pattern}" is not supported: ${err}`,
  path: (path: string, why: string) => `path "${path}" is not supported: ${why}`,
  port: (port: number) => `port ${port} is reserved by the crossway data plane`,
  queryName: (name: string) =>
    `query parameter name "${name}" is not supported (letters, digits and . _ ~ ! * + - only)`,
  queryValue: (name: string) => `value of query parameter "${name}" contains control characters`,
  retryCode: (code: number, supported: number[]) =>
    `retry code ${code} is not supported by the data plane (supported: ${supported.join(", ")})`,
  timeout: (ms: number, max: number) =>
    `timeout ${ms}ms is longer than the data plane's timers hold (at most ${max}ms, about 24.8 days)`,
  retryAttempts: (n: number, max: number) => `retry attempts ${n} exceed crossway's limit of ${max}`,
  retryBackoff: (ms: number) =>
    `retry backoff ${ms}ms cannot be honoured: the data plane retries at once, so a minimum wait between attempts would not be kept`,
};

function quoteList(items: string[]): string {
  return items.map((i) => `"${i}"`).join(", ");
}

/** RouteOwnershipPolicy: the route side (which match, which owner, which policy) and the policy's own status. */
export const ownership = {
  /** One match a policy refuses: `where` is e.g. `rule 0 match 1`. */
  claim: (where: string, host: string, path: string, listener: string, owners: string, policy: string) =>
    `${where} (path ${path} on hostname "${host}") on ${listener} is claimed by ${owners} in ${policy}`,
  unclaimed: (where: string, host: string, path: string, listener: string, policy: string) =>
    `${where} (path ${path} on hostname "${host}") on ${listener} is claimed by no namespace, and ${policy} denies unclaimed hostnames and paths`,
  regexContested: (where: string, host: string, listener: string, owners: string, policy: string) =>
    `${where} (a RegularExpression path on hostname "${host}") on ${listener} may match paths claimed by ${owners} in ${policy}; regular expressions cannot be checked against claimed prefixes, so only those namespaces may use them there`,
  partial: (r: string, problems: string[]) =>
    c(
      "PartiallyInvalid",
      true,
      Reason.ClaimedByAnotherNamespace,
      `${r} has matches that are not served because another namespace owns them (its other matches are served): ${problems.join("; ")}`,
    ),
  none: (r: string, problems: string[]) =>
    c(
      "Accepted",
      false,
      Reason.ClaimedByAnotherNamespace,
      `${r} is not accepted: every match claims what another namespace owns: ${problems.join("; ")}`,
    ),
  warn: (r: string, problems: string[]) =>
    c(
      "crossway.dev/OwnershipConflict",
      true,
      Reason.ClaimedByAnotherNamespace,
      `${r} is served, but would be cut back if the policy were in Enforce mode: ${problems.join("; ")}`,
    ),
  /** One PartiallyInvalid for a route with both ownership refusals and unsupported values. */
  alsoInvalid: (ownershipCond: Condition, invalid: Condition): Condition => ({
    ...ownershipCond,
    message: `${ownershipCond.message}; ${invalid.message}`,
  }),
  policyAccepted: (policy: string, gateway: string, listeners: string[], butConflicted?: string) =>
    c(
      "Accepted",
      true,
      Reason.Accepted,
      `${policy} applies to ${listeners.length === 1 ? "listener" : "listeners"} ${listeners.map((l) => `"${l}"`).join(", ")} of ${gateway}${butConflicted ? `; but ${butConflicted}` : ""}`,
    ),
  targetNotFound: (policy: string, target: string, why: string) =>
    c("Accepted", false, Reason.TargetNotFound, `${policy} targets ${target}, which ${why}`),
  conflicted: (policy: string, gateway: string, listeners: string[], older: string) =>
    c(
      "Accepted",
      false,
      Reason.Conflicted,
      `${policy} does not apply to ${listeners.map((l) => `"${l}"`).join(", ")} of ${gateway}: ${older} is older and already applies there (the oldest policy wins)`,
    ),
};
