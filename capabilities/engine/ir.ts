/**
 * The data-plane intermediate representation (IR): what the engine hands the renderer.
 *
 * Contract between `capabilities/engine` (producer) and `capabilities/render` (consumer).
 * Everything here is plain data: no functions, no classes, YAML-serialisable, deterministic
 * (arrays are sorted by the engine; same snapshot → byte-identical IR).
 *
 * Dispatch model (spec: Gateway listener matching, then HTTPRoute hostname/rule precedence):
 *   port → listener (most specific listener hostname wins) → virtual host (most specific
 *   effective route hostname within that listener wins) → first matching rule in precedence order.
 */

export interface ObjectRef {
  namespace: string;
  name: string;
}

/** One Gateway's whole data plane. Only Gateways of our GatewayClass with Accepted=True appear. */
export interface GatewayIR {
  gateway: ObjectRef;
  /** metadata.generation of the Gateway the IR was built from (informational). */
  generation: number;
  /** One HAProxy frontend per distinct port. Sorted by port. */
  ports: PortIR[];
}

export type ListenerProtocolIR = "HTTP" | "HTTPS";

export interface PortIR {
  port: number;
  protocol: ListenerProtocolIR;
  /**
   * Listeners sharing this port (from the Gateway and from attached ListenerSets), valid and
   * non-conflicted only. Sorted most specific hostname first: exact hostnames, then wildcards by
   * descending length, then the hostname-less listener (matches any Host) last.
   */
  listeners: ListenerIR[];
}

export interface ListenerIR {
  /** Stable, unique within the Gateway: `<gwNs>/<gwName>/<listener>` or `<lsNs>/<lsName>/<listener>`. */
  id: string;
  /** The listener's hostname: exact (`foo.example.com`), wildcard (`*.example.com`), or undefined = any. */
  hostname?: string;
  /** HTTPS termination; present iff protocol is HTTPS and the certificateRefs resolved. */
  tls?: ListenerTLSIR;
  /**
   * The listener is invalid (e.g. its certificate did not resolve) but keeps its hostname's
   * dispatch slot: requests for it answer 404 and never fall to a less specific listener.
   */
  closed?: true;
  /**
   * Virtual hosts: the effective hostnames of the routes attached to this listener (route
   * hostnames intersected with the listener hostname). Sorted most specific first, with the
   * catch-all `"*"` (route without hostnames on a listener without hostname) last.
   * A listener with no routes has no virtual hosts: its requests answer 404.
   */
  virtualHosts: VirtualHostIR[];
}

export interface ListenerTLSIR {
  /** PEM certificate chain + private key, one per resolved certificateRef, in ref order. */
  certificates: { ref: ObjectRef; certPem: string; keyPem: string }[];
}

export interface VirtualHostIR {
  /** `foo.example.com`, `*.example.com` (matches one or more labels), or `*` (anything). */
  hostname: string;
  /** All rule matches of all routes for this host, sorted by the spec's precedence (first wins). */
  rules: RouteRuleIR[];
}

export interface RouteRef extends ObjectRef {
  /** A RouteOwnershipPolicy's guard rules name the policy. */
  kind: "HTTPRoute" | "GRPCRoute" | "RouteOwnershipPolicy";
}

export type PathMatchIR =
  | { type: "Exact"; value: string }
  | { type: "PathPrefix"; value: string } // element-wise: /foo matches /foo and /foo/bar, not /foobar
  | { type: "RegularExpression"; value: string };

export interface HeaderMatchIR {
  type: "Exact" | "RegularExpression";
  /** Header names are case-insensitive; the engine lower-cases them. */
  name: string;
  value: string;
}

export interface QueryParamMatchIR {
  type: "Exact" | "RegularExpression";
  /** Query parameter names are case-sensitive. */
  name: string;
  value: string;
}

export interface MatchIR {
  path?: PathMatchIR; // undefined = any path
  method?: string;
  headers: HeaderMatchIR[];
  queryParams: QueryParamMatchIR[];
}

export interface HeaderModifierIR {
  set: { name: string; value: string }[];
  add: { name: string; value: string }[];
  remove: string[];
}

export type FilterIR =
  | { type: "RequestHeaderModifier"; modifier: HeaderModifierIR }
  | { type: "ResponseHeaderModifier"; modifier: HeaderModifierIR }
  | {
      type: "RequestRedirect";
      scheme?: "http" | "https";
      hostname?: string;
      port?: number;
      path?: { type: "ReplaceFullPath"; value: string } | { type: "ReplacePrefixMatch"; value: string };
      statusCode: 301 | 302 | 303 | 307 | 308;
    }
  | {
      type: "URLRewrite";
      hostname?: string;
      path?: { type: "ReplaceFullPath"; value: string } | { type: "ReplacePrefixMatch"; value: string };
    }
  | { type: "RequestMirror"; backend: BackendIR; percent: number }
  | { type: "CORS"; cors: CorsIR };

/**
 * HTTPRoute CORS filter (additive). The gateway answers preflights (OPTIONS with Origin and
 * Access-Control-Request-Method) itself and adds Access-Control-* headers to other responses
 * when the request's Origin matches `allowOrigins`.
 */
export interface CorsIR {
  /** `*` (any origin), or `<scheme>://<host>[:<port>]` where host may be `*` or start with `*.`. */
  allowOrigins: string[];
  /** Method names, or `["*"]` (echo the requested method). */
  allowMethods: string[];
  /** Header names, or `["*"]` (echo the requested headers). */
  allowHeaders: string[];
  exposeHeaders: string[];
  allowCredentials: boolean;
  /** Access-Control-Max-Age in seconds (spec default 5). */
  maxAgeSeconds: number;
}

/** HTTPRoute rule `retry` (additive). */
export interface RetryIR {
  /** HTTP status codes that are retried, ascending. Empty = only connection errors are retried. */
  codes: number[];
  /** Retries after the first attempt; undefined = implementation default. */
  attempts?: number;
}

export interface EndpointIR {
  ip: string;
  port: number;
}

/**
 * One weighted backend of a rule. `kind: "invalid"` is a backendRef that did not resolve
 * (RefNotPermitted / BackendNotFound / InvalidKind / no such port): it MUST answer HTTP 500 for
 * exactly its share of the traffic. A valid Service with zero ready endpoints keeps kind
 * "service" with `endpoints: []` (the data plane answers 503 for its share).
 */
export type BackendIR =
  | {
      kind: "service";
      /** Stable id, unique within the Gateway, usable as an HAProxy backend name suffix. */
      id: string;
      service: ObjectRef;
      port: number;
      weight: number;
      /** Ready endpoints from EndpointSlices, sorted by ip then port. */
      endpoints: EndpointIR[];
      /** backendRef-level filters (RequestHeaderModifier, ResponseHeaderModifier). */
      filters: FilterIR[];
      /** Service appProtocol / backend protocol hint: "http" (default), "h2c", "ws". */
      appProtocol?: string;
    }
  | { kind: "invalid"; id: string; weight: number; reason: string };

export interface RouteRuleIR {
  /** Stable unique id within the Gateway, e.g. `httproute/ns/name/r0/m1`. */
  id: string;
  route: RouteRef;
  ruleIndex: number;
  matchIndex: number;
  /** HTTPRoute rule `name` (sectionName), if set. */
  ruleName?: string;
  match: MatchIR;
  filters: FilterIR[];
  /**
   * Weighted backends. Empty list = the rule has no backendRefs: answer 500, unless a filter
   * (RequestRedirect) answers the request itself. All weights 0 = answer 500.
   */
  backends: BackendIR[];
  timeouts?: { requestMs?: number; backendRequestMs?: number };
  /** Retry policy of the rule (additive): connection errors, and the listed status codes. */
  retry?: RetryIR;
  /**
   * A RouteOwnershipPolicy guard (additive): the rule answers 404 (an owned hostname/path that
   * none of its owners' rules matched must not fall to another namespace's broader rule).
   */
  notFound?: true;
}
