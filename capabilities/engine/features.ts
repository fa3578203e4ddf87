/**
 * What crossway claims to support, and the data-plane specific validation the engine needs
 * but must not know the details of (HAProxy's header, regex and path rules).
 */
import { dataplaneProblem } from "./conditions";
import { isSafeHeaderName, isSafeParamName } from "../render/quote";
import { regexProblem } from "../render/pcre";

/**
 * Limits a route must stay within to be served. The CRDs already bound rules (16), matches per
 * rule (64), header and query matches per match (16 each), filters (16) and backendRefs (16);
 * the renderer is built (and property-tested) to express all of those. These are crossway's own.
 */
export const LIMITS = {
  /** Longest RegularExpression (path, header or query match). */
  regexLength: 1024,
  /** Longest timeout HAProxy's timers hold (2^31-1 ms, about 24.8 days). */
  timeoutMs: 2_147_483_647,
  /** Most retries after the first attempt (each retry is another request to the tenant's backend). */
  retryAttempts: 10,
} as const;

/**
 * Gateway API feature names written to GatewayClass status.supportedFeatures.
 * Claim only what passes conformance end to end; extend as the data plane proves more.
 */
export const SUPPORTED_FEATURES: readonly string[] = [
  // core
  "Gateway",
  "GRPCRoute",
  "HTTPRoute",
  "ReferenceGrant",
  // extended, each proven by the unmodified v1.6.1 conformance suite (test/conformance, npm run conformance)
  "GatewayAddressEmpty",
  "GatewayHTTPListenerIsolation",
  "GatewayInfrastructurePropagation",
  "GatewayPort8080",
  "GRPCRouteNamedRouteRule",
  "HTTPRoute303RedirectStatusCode",
  "HTTPRoute307RedirectStatusCode",
  "HTTPRoute308RedirectStatusCode",
  "HTTPRouteBackendProtocolH2C",
  "HTTPRouteBackendProtocolWebSocket",
  "HTTPRouteBackendRequestHeaderModification",
  "HTTPRouteBackendTimeout",
  "HTTPRouteCORS",
  "HTTPRouteHostRewrite",
  "HTTPRouteMethodMatching",
  "HTTPRouteNamedRouteRule",
  "HTTPRouteParentRefPort",
  "HTTPRoutePathRedirect",
  "HTTPRoutePathRewrite",
  "HTTPRoutePortRedirect",
  "HTTPRouteQueryParamMatching",
  "HTTPRouteRequestMirror",
  "HTTPRouteRequestMultipleMirrors",
  "HTTPRouteRequestPercentageMirror",
  "HTTPRouteRequestTimeout",
  "HTTPRouteResponseHeaderModification",
  "HTTPRouteSchemeRedirect",
  "ListenerSet",
];

/** Gateway API CRD bundle version we ship and report in SupportedVersion. */
export const GATEWAY_API_BUNDLE_VERSION = "v1.6.1";

/** Gateway spec.addresses types crossway can honour (none yet: the data-plane Service assigns). */
export const SUPPORTED_ADDRESS_TYPES: readonly string[] = [];

/** Service port appProtocol values → IR appProtocol. Anything else → UnsupportedProtocol. */
export const SUPPORTED_APP_PROTOCOLS: Readonly<Record<string, string>> = {
  http: "http",
  "kubernetes.io/h2c": "h2c",
  "kubernetes.io/ws": "ws",
};

/**
 * Data-plane checks passed in through TranslateOptions.validator. Each returns undefined when
 * the value is fine, or a human sentence (from conditions.ts `dataplaneProblem`) saying why not.
 */
export interface DataplaneValidator {
  headerName(name: string): string | undefined;
  headerValue(name: string, value: string): string | undefined;
  queryParamName(name: string): string | undefined;
  /** An Exact query parameter match value. */
  queryParamValue(name: string, value: string): string | undefined;
  /** A RegularExpression path/header/query match value. */
  regex(pattern: string): string | undefined;
  /** An Exact/PathPrefix path match, or a rewrite/redirect path. */
  path(path: string): string | undefined;
  /** A listener port the data plane can bind. */
  port(port: number): string | undefined;
  /** An HTTPRoute retry status code the data plane can retry on (additive). */
  retryCode(code: number): string | undefined;
  /** An HTTPRoute retry backoff (ms > 0) the data plane can honour (additive). */
  retryBackoff(ms: number): string | undefined;
  /** A timeout (ms) the data plane's timers can hold. */
  timeout(ms: number): string | undefined;
  /** HTTPRoute retry attempts (after the first) the data plane will make. */
  retryAttempts(n: number): string | undefined;
}

export interface DefaultValidatorOptions {
  /** Ports the data plane uses itself (e.g. stats/health), unavailable to listeners. */
  reservedPorts?: number[];
  /** Status codes the data plane can retry on (default: HAProxy 2.6 `retry-on` status keywords). */
  retryCodes?: number[];
  /** The data plane can wait between retries (default false: HAProxy retries at once). */
  retryBackoff?: boolean;
}

/** Status codes HAProxy 2.6 `retry-on` accepts; the spec requires 500, 502, 503 and 504. */
export const HAPROXY_RETRY_CODES: readonly number[] = [401, 403, 404, 408, 425, 500, 501, 502, 503, 504];

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Permissive but safe: anything that could break out of a config line or a header (control
 * characters, whitespace in paths, non-token header names, regexes that do not compile) is refused.
 */
export function defaultValidator(opts: DefaultValidatorOptions = {}): DataplaneValidator {
  const reserved = new Set(opts.reservedPorts ?? []);
  const retryCodes = new Set(opts.retryCodes ?? HAPROXY_RETRY_CODES);
  return {
    // The renderer's own rule: an RFC 9110 token without `#` (a comment start in haproxy.cfg).
    headerName: (name) => (isSafeHeaderName(name) ? undefined : dataplaneProblem.headerName(name)),
    headerValue: (name, value) => (CONTROL.test(value) ? dataplaneProblem.headerValue(name) : undefined),
    // The renderer's own rule: characters it can write inside urlp(<name>).
    queryParamName: (name) => (isSafeParamName(name) ? undefined : dataplaneProblem.queryName(name)),
    queryParamValue: (name, value) => (CONTROL.test(value) ? dataplaneProblem.queryValue(name) : undefined),
    regex: (pattern) => {
      const why = regexProblem(pattern);
      return why === undefined ? undefined : dataplaneProblem.regex(pattern, why);
    },
    path: (path) => {
      if (!path.startsWith("/")) return dataplaneProblem.path(path, "it must start with /");
      if (CONTROL.test(path) || /\s/.test(path))
        return dataplaneProblem.path(path, "it contains whitespace or control characters");
      if (/[?#]/.test(path)) return dataplaneProblem.path(path, "it contains ? or #");
      return undefined;
    },
    port: (port) => (reserved.has(port) ? dataplaneProblem.port(port) : undefined),
    retryCode: (code) => (retryCodes.has(code) ? undefined : dataplaneProblem.retryCode(code, [...retryCodes])),
    retryBackoff: (ms) => (opts.retryBackoff || ms === 0 ? undefined : dataplaneProblem.retryBackoff(ms)),
    timeout: (ms) => (ms <= LIMITS.timeoutMs ? undefined : dataplaneProblem.timeout(ms, LIMITS.timeoutMs)),
    retryAttempts: (n) =>
      n <= LIMITS.retryAttempts ? undefined : dataplaneProblem.retryAttempts(n, LIMITS.retryAttempts),
  };
}
