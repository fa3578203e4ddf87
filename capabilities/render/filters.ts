/**
 * HTTPRoute filters as backend-section lines (http-request / http-response). They are rendered
 * into the rule's own backend, so only requests that selected that rule run them.
 */
import { match } from "ts-pattern";
import type { FilterIR, HeaderModifierIR, PortIR, RouteRuleIR } from "../engine/ir";
import { escapeLogFormat, isPrintable, isSafeHeaderName, quoteLiteralFormat, quoteWord } from "./quote";
import { trimPrefix } from "./matching";
import { HOST_EXPR } from "./sections/frontend";
import { MIRROR_ACTION } from "./mirror-lua";
import { serviceBackendName } from "./targets";
import { corsLines } from "./cors";

type Redirect = Extract<FilterIR, { type: "RequestRedirect" }>;
type Rewrite = Extract<FilterIR, { type: "URLRewrite" }>;
type Mirror = Extract<FilterIR, { type: "RequestMirror" }>;
type PathModifier = NonNullable<Rewrite["path"]>;

export interface FilterLines {
  lines: string[];
  /** Set when the filter cannot be rendered: the backend answers 500 instead (fail closed). */
  error?: string;
}

function headerLines(dir: "request" | "response", m: HeaderModifierIR): FilterLines {
  const all = [...m.set, ...m.add];
  const bad = [...all.map((h) => h.name), ...m.remove].find((n) => !isSafeHeaderName(n));
  if (bad !== undefined) return { lines: [], error: `header name ${JSON.stringify(bad)} cannot be rendered` };
  const badValue = all.find((h) => !isPrintable(h.value));
  if (badValue) return { lines: [], error: `header ${badValue.name} has a value with control characters` };
  return {
    lines: [
      ...m.set.map((h) => `http-${dir} set-header ${h.name} ${quoteLiteralFormat(h.value)}`),
      ...m.add.map((h) => `http-${dir} add-header ${h.name} ${quoteLiteralFormat(h.value)}`),
      ...m.remove.map((n) => `http-${dir} del-header ${n}`),
    ],
  };
}

/** Bytes of the request path the rule's match consumed, for ReplacePrefixMatch. */
function matchedPrefixLength(rule: RouteRuleIR): number | undefined {
  const p = rule.match.path;
  if (p === undefined) return 0;
  return match(p)
    .with({ type: "PathPrefix" }, ({ value }) => Buffer.byteLength(trimPrefix(value)))
    .with({ type: "Exact" }, ({ value }) => Buffer.byteLength(value))
    .with({ type: "RegularExpression" }, () => undefined)
    .exhaustive();
}

type NewPath = { pre: string[]; format: string } | { error: string };

/**
 * Lines that leave in `txn.newpath` the log-format text of the new path, or an error.
 * ReplacePrefixMatch keeps the rest of the path after the matched prefix (element-wise).
 */
function newPath(rule: RouteRuleIR, path: PathModifier): NewPath {
  if (!isPrintable(path.value)) return { error: "path modifier has control characters" };
  return match(path)
    .with({ type: "ReplaceFullPath" }, ({ value }): NewPath => ({ pre: [], format: escapeLogFormat(value) }))
    .with({ type: "ReplacePrefixMatch" }, ({ value }) => replacePrefix(rule, value))
    .exhaustive();
}

function replacePrefix(rule: RouteRuleIR, value: string): NewPath {
  const len = matchedPrefixLength(rule);
  if (len === undefined) return { error: "ReplacePrefixMatch needs a PathPrefix match" };
  const replacement = trimPrefix(value);
  const pre = [`http-request set-var(txn.rest) path,bytes(${len})`];
  if (replacement === "")
    pre.push("http-request set-var(txn.rest) str(/) if !{ var(txn.rest) -m found } || { var(txn.rest) -m len 0 }");
  return { pre, format: `${escapeLogFormat(replacement)}%[var(txn.rest)]` };
}

const wellKnownPort = (scheme: string) => (scheme === "https" ? 443 : 80);

function redirectLines(port: PortIR, rule: RouteRuleIR, f: Redirect): FilterLines {
  const scheme = f.scheme ?? (port.protocol === "HTTPS" ? "https" : "http");
  const portNum = f.port ?? (f.scheme ? wellKnownPort(f.scheme) : port.port);
  const portPart = portNum === wellKnownPort(scheme) ? "" : `:${portNum}`;
  if (f.hostname !== undefined && !/^[A-Za-z0-9.-]+$/.test(f.hostname))
    return { lines: [], error: `redirect hostname ${JSON.stringify(f.hostname)} is not a hostname` };
  const host = f.hostname ?? `%[${HOST_EXPR}]`;
  const path = f.path ? newPath(rule, f.path) : { pre: [], format: "%[path]" };
  if ("error" in path) return { lines: [], error: path.error };
  return {
    lines: [
      ...path.pre,
      "http-request set-var(txn.qs) query",
      "http-request set-var(txn.q) str(?),concat(,txn.qs,) if { var(txn.qs) -m found }",
      `http-request redirect location ${quoteWord(`${scheme}://${host}${portPart}${path.format}%[var(txn.q)]`)} code ${f.statusCode}`,
    ],
  };
}

function rewriteLines(rule: RouteRuleIR, f: Rewrite): FilterLines {
  const lines: string[] = [];
  if (f.hostname !== undefined) {
    if (!/^[A-Za-z0-9.-]+$/.test(f.hostname))
      return { lines: [], error: `rewrite hostname ${JSON.stringify(f.hostname)} is not a hostname` };
    lines.push(`http-request set-header host ${quoteLiteralFormat(f.hostname)}`);
  }
  if (f.path) {
    const path = newPath(rule, f.path);
    if ("error" in path) return { lines: [], error: path.error };
    lines.push(...path.pre, `http-request set-path ${quoteWord(path.format)}`);
  }
  return { lines };
}

/** Copy the request to the mirror Service for `percent` % of requests (see mirror-lua.ts). */
function mirrorLines(f: Mirror): FilterLines {
  if (f.backend.kind !== "service" || f.percent <= 0) return { lines: [] };
  const sample = f.percent >= 100 ? "" : ` if { rand(10000) -m int lt ${Math.round(f.percent * 100)} }`;
  return { lines: [`http-request ${MIRROR_ACTION} ${serviceBackendName(f.backend)}${sample}`] };
}

export const filterLines = (port: PortIR, rule: RouteRuleIR, f: FilterIR): FilterLines =>
  match(f)
    .with({ type: "RequestHeaderModifier" }, (f) => headerLines("request", f.modifier))
    .with({ type: "ResponseHeaderModifier" }, (f) => headerLines("response", f.modifier))
    .with({ type: "RequestRedirect" }, (f) => redirectLines(port, rule, f))
    .with({ type: "URLRewrite" }, (f) => rewriteLines(rule, f))
    .with({ type: "RequestMirror" }, (f) => mirrorLines(f))
    .with({ type: "CORS" }, (f) => corsLines(f.cors))
    .exhaustive();
