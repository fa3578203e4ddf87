/**
 * Access log: one JSON object per request on stdout (the container log).
 *
 * HAProxy 2.6 has no JSON encoding for log lines (`%{+json}` came with 3.0), so each listener
 * frontend's `log-format` is a JSON template. Nothing a tenant or client wrote ever enters that
 * template, so nothing can add fields or log-format expressions:
 *   - client-sent values (method, Host, path) go through HAProxy's `json` converter;
 *   - route and Service names are JSON-encoded here into map files (`p<port>-routes.map`,
 *     `backends.map`) that HAProxy reads only when it writes the line: the rule number in `txn.be`
 *     (see targetValue) names the route, the backend's name its Service;
 *   - every `%[...]` sits inside a JSON string: HAProxy writes `-` for a sample it cannot fetch
 *     (no route matched, or a request so broken that no transaction exists), which stays valid JSON.
 */
import type { RouteRuleIR } from "../engine/ir";
import type { PortView, RenderView } from "./view";
import { escapeLogFormat } from "./quote";

/** Map of backend name → its Service `<namespace>/<name>:<port>`, shared by all frontends. */
export const BACKENDS_MAP = "backends.map";

/**
 * Log lines are cut at this length; a cut line is not JSON. The longest possible line stays below
 * it: the path is at most `tune.http.logurilen` (1024) bytes and Host 256, each at most 6× longer
 * once escaped, plus the route (Kubernetes names are at most 253 characters) and fixed fields.
 */
export const LOG_LINE_MAX = 16384;

const HOST_CAPTURE_LEN = 256;

/**
 * `value` as JSON in printable ASCII without spaces: a map file value ends at a line break and
 * loses leading spaces, and a single-quoted config word ends at `'`, so all of these are escaped.
 */
export const asciiJson = (value: unknown): string =>
  JSON.stringify(value).replace(/[^\x21-\x26\x28-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);

/** The body of a JSON string (no surrounding quotes) holding `s`. */
const jsonText = (s: string) => asciiJson(s).slice(1, -1);

/**
 * A rule's value in `p<port>-routes.map`, written where the template says `"route":"<here>"`. It
 * ends the route string and adds the rule's other fields, stopping inside the last string so that
 * the template's closing quote ends it: `team-a/web","rule":0,"kind":"HTTPRoute`. One lookup per
 * log line gives all of them; on a miss the line keeps `"route":"-"`.
 */
export function routeFragment(rule: RouteRuleIR): string {
  const fields = {
    route: `${rule.route.namespace}/${rule.route.name}`,
    rule: rule.ruleIndex,
    ...(rule.ruleName !== undefined ? { rule_name: rule.ruleName } : {}),
    kind: rule.route.kind,
  };
  return asciiJson(fields).slice('{"route":"'.length, -'"}'.length);
}

/** `p<port>-routes.map`: rule number → its route fragment. */
export const routesMap = (p: PortView): [number, string][] =>
  p.matching.rules.map(({ no, rule }) => [no, routeFragment(rule)]);

/** `backends.map`: every backend that sends to a Service → that Service port. */
export function backendsMap(view: RenderView): [string, string][] {
  const service = (s: { service: { namespace: string; name: string }; port: number }) =>
    jsonText(`${s.service.namespace}/${s.service.name}:${s.port}`);
  return [
    ...view.services.map((s): [string, string] => [s.name, service(s)]),
    ...view.ports.flatMap((p) =>
      p.ruleBackends.flatMap((rb): [string, string][] => (rb.service ? [[rb.name, service(rb.service)]] : [])),
    ),
  ];
}

/** A constant string field of the template: JSON-encoded, then `%` made literal for log-format. */
const constant = (s: string) => `"${escapeLogFormat(jsonText(s))}"`;

/**
 * The listener frontend's capture and log-format lines. The whole template is one single-quoted
 * config word (no escapes or `$` expansion inside; asciiJson leaves no `'` in it).
 */
export function logLines(view: RenderView, p: PortView): string[] {
  const route = routesMap(p).length ? `%[var(txn.be),field(2,/),map(${p.files.routes})]` : "-";
  const backend = backendsMap(view).length ? `%[be_name,map(${BACKENDS_MAP})]` : "-";
  const fields = [
    `"time":"%[date,utime(%Y-%m-%dT%H:%M:%SZ)]"`,
    `"gateway":${constant(`${view.gateway.namespace}/${view.gateway.name}`)}`,
    `"port":${p.port.port}`,
    `"client":"%ci"`,
    `"client_port":%cp`,
    `"method":"%[capture.req.method,json(utf8s)]"`,
    `"host":"%[capture.req.hdr(0),json(utf8s)]"`,
    // the path without the query string, which may carry credentials
    `"path":"%[capture.req.uri,field(1,?),json(utf8s)]"`,
    `"status":%ST`,
    `"bytes_in":%U`,
    `"bytes_out":%B`,
    `"duration_ms":%Ta`,
    `"upstream_ms":%Tr`,
    `"termination":"%ts"`,
    `"proxy":"%b"`,
    `"endpoint":"%si:%sp"`,
    `"backend":"${backend}"`,
    `"route":"${route}"`,
  ];
  return [`  capture request header Host len ${HOST_CAPTURE_LEN}`, `  log-format '{${fields.join(",")}}'`];
}
