/**
 * One frontend per port: Host → vhost id (maps; or the Host itself keys the path maps when only
 * exact hostnames are in play), path → first matching simple rule (maps), gated
 * complex rules, then the rule's backend (directly from the path maps, via a rule → backend map,
 * or a weighted random pick). Lines for empty maps are left out, so a simple gateway costs a
 * request a handful of actions.
 */
import type { PortView, RenderView } from "../view";
import { weightedMarker } from "../view";
import { BE_404, targetValue } from "../targets";
import { logLines } from "../access-log";
import type { ComplexRule } from "../matching";
import { MAX_LINE_WORDS, wordCount } from "../quote";

const NO_VH = "!{ var(txn.vh) -m found }";
const HOST_VAR = "%[var(txn.host)]";
const MAX_RULE = 2147483647;

/** `^<anything>.<n labels>$` → `.<n labels>`: the wildcard suffix key of that depth. */
const suffixRegex = (depth: number) =>
  `'var(txn.host),regsub("^.+?\\\\.((?:[^.]+\\\\.){${depth - 1}}[^.]+)$",".\\\\1")'`;

/** The Host header without port, lower-cased (HTTP/2 :authority arrives as Host). */
export const HOST_EXPR = "req.hdr(host),field(1,:),lower";

/**
 * The map key's host part as a log-format fragment, when host resolution needs no `set-var` of
 * its own: the Host itself (host-keyed maps), or the first vhost id from one exact-host lookup
 * (with the catch-all as default); undefined otherwise. With both path maps present the fragment
 * would be evaluated twice, so the Host goes into a variable first (`hostLines`).
 */
function inlineVhost(p: PortView): string | undefined {
  const onlyExact = p.hosts.wildcardDepths.length === 0 && p.hosts.maxChain <= 1 && p.direct;
  const bothMaps = p.exactMap.length > 0 && p.prefixMap.length > 0;
  const fallback = p.hosts.fallback ?? 0;
  if (p.hostKeyed) return bothMaps ? HOST_VAR : `%[${HOST_EXPR}]`;
  if (onlyExact && p.hosts.exact.length === 0) return String(fallback); // a constant: no lookup at all
  if (!onlyExact || bothMaps) return undefined;
  return p.hosts.exact.length ? `%[${HOST_EXPR},map_str_int(${p.files.hosts},${fallback})]` : String(fallback);
}

const SET_HOST = `  http-request set-var(txn.host) ${HOST_EXPR}`;

/** Host → first vhost id into txn.vh (see hosts.ts); for host-keyed maps, the Host into txn.host. */
function hostLines(p: PortView): string[] {
  if (p.hostKeyed) return [SET_HOST];
  const wild = p.hosts.wildcardDepths.length > 0;
  const out = wild ? [SET_HOST] : [];
  const host = wild ? "var(txn.host)" : HOST_EXPR;
  if (p.hosts.exact.length) out.push(`  http-request set-var(txn.vh) ${host},map_str_int(${p.files.hosts})`);
  for (const depth of p.hosts.wildcardDepths) {
    out.push(`  http-request set-var(txn.wh) ${suffixRegex(depth)} if ${NO_VH}`);
    out.push(`  http-request set-var(txn.vh) var(txn.wh),map_str_int(${p.files.wildcard}) if ${NO_VH}`);
  }
  if (p.hosts.fallback !== undefined) out.push(`  http-request set-var(txn.vh) int(${p.hosts.fallback}) if ${NO_VH}`);
  return out;
}

/**
 * Path → first simple rule, one vhost level at a time: rules of a more specific vhost come first,
 * so the first level with a hit wins. Then the complex rules, each gated on its vhost being in
 * the request's chain and on beating the current best.
 */
function ruleLines(p: PortView, vh: string): string[] {
  const out: string[] = [];
  const result = p.direct ? "txn.be" : "txn.best";
  const none = `!{ var(${result}) -m found }`;
  const [exactConv, prefixConv] = p.direct ? ["map_str", "map_beg"] : ["map_str_int", "map_beg_int"];
  // The chain of the first vhost, before the levels below move txn.vh along it.
  if (!p.direct) out.push(`  http-request set-var(txn.chain) var(txn.vh),map_str(${p.files.chains})`);
  // The path lookups in order: per vhost level, exact then prefix; each after the first only on a miss.
  const lookups: { before: string[]; key: string; lookup: string }[] = [];
  const levels = p.exactMap.length || p.prefixMap.length ? p.hosts.maxChain : 0;
  for (let level = 1; level <= levels; level++) {
    let before =
      level > 1 ? [`  http-request set-var(txn.vh) var(txn.vh),map_str_int(${p.files.next},0) if ${none}`] : [];
    if (p.exactMap.length) {
      lookups.push({ before, key: `${vh}:%[path]`, lookup: `var(txn.k),${exactConv}(${p.files.exact})` });
      before = [];
    }
    if (p.prefixMap.length)
      lookups.push({ before, key: `${vh}:%[path]/`, lookup: `var(txn.k),${prefixConv}(${p.files.prefix})` });
  }
  lookups.forEach((l, i) => {
    const guard = i === 0 ? "" : ` if ${none}`;
    out.push(...l.before, `  http-request set-var-fmt(txn.k) "${l.key}"${guard}`);
    out.push(`  http-request set-var(${result}) ${l.lookup}${guard}`);
  });
  if (!p.direct) {
    out.push(
      "  http-request set-var(txn.ps) path,concat(/)",
      `  http-request set-var(txn.best) int(${MAX_RULE}) if { var(txn.chain) -m found } ${none}`,
    );
    for (const c of p.matching.complex) out.push(...complexRuleLines(c));
    out.push(`  http-request set-var(txn.be) var(txn.best),map_str(${p.files.targets})`);
  }
  return out;
}

/** Words a complex-rule line may use: HAProxy's limit, less a margin for the leading indent. */
const LINE_WORD_BUDGET = MAX_LINE_WORDS - 2;

/**
 * One complex rule: its gates (vhost in the request's chain, beats the current best) and its
 * match terms, ANDed. A match with many header/query terms would pass HAProxy's 64-word line
 * limit, so the terms are then split over stages: each stage sets `txn.mc` to `<rule>.<stage>`
 * only if the previous stage did and its own terms hold; the last stage sets `txn.best`.
 */
function complexRuleLines(c: ComplexRule): string[] {
  const gates = `{ var(txn.chain) -m sub :${c.vhost}: } { var(txn.best) -m int gt ${c.no} }`;
  const single = `  http-request set-var(txn.best) int(${c.no}) if ${gates} ${c.conditions.join(" ")}`;
  if (wordCount(single) <= LINE_WORD_BUDGET) return [single];
  const stageHead = (stage: number, last: boolean) => {
    const action = last ? `set-var(txn.best) int(${c.no})` : `set-var(txn.mc) str(${c.no}.${stage})`;
    const guard = stage === 1 ? gates : `{ var(txn.mc) -m str ${c.no}.${stage - 1} }`;
    return `  http-request ${action} if ${guard}`;
  };
  // Pack terms greedily; a stage head is at most as long as the final one (same word count).
  const chunks: string[][] = [[]];
  let used = wordCount(stageHead(1, false));
  for (const term of c.conditions) {
    const n = wordCount(term);
    if (used + n > LINE_WORD_BUDGET && chunks[chunks.length - 1].length > 0) {
      chunks.push([]);
      used = wordCount(stageHead(chunks.length, false));
    }
    chunks[chunks.length - 1].push(term);
    used += n;
  }
  return chunks.map((terms, i) => `${stageHead(i + 1, i === chunks.length - 1)} ${terms.join(" ")}`);
}

/**
 * Backend switching: `txn.be` holds `<backend>/<rule no>` (targetValue); the rule number stays in
 * it for the access log. The map files of use_backend and log-format expressions are opened
 * relative to the working directory (HAProxy parses those after the config, where `default-path`
 * no longer applies): haproxy runs with `-C <config dir>`.
 */
const SWITCH = "  use_backend %[var(txn.be),field(1,/)] if { var(txn.be) -m found }";

/** Weighted rules: a random number into cumulative ranges, one backend per range. */
function weightedLines(p: PortView): string[] {
  const out: string[] = [];
  for (const t of p.targets.targets) {
    if (t.choices.length < 2) continue;
    const selected = p.direct ? `{ var(txn.be) -m str ${weightedMarker(t.no)} }` : `{ var(txn.best) -m int ${t.no} }`;
    const total = t.choices.reduce((s, c) => s + c.weight, 0);
    out.push(`  http-request set-var(txn.rnd) rand(${total}) if ${selected}`);
    let from = 0;
    for (const c of t.choices) {
      // once txn.be is set the marker no longer matches: ranges are disjoint anyway
      out.push(
        `  http-request set-var(txn.be) str(${targetValue(c.backend, t.no)}) if ${selected} { var(txn.rnd) -m int ${from}:${from + c.weight - 1} }`,
      );
      from += c.weight;
    }
  }
  return out;
}

/**
 * What the backends learn about the client: X-Forwarded-For is the address HAProxy accepted the
 * connection from (`option forwardfor` in defaults adds it after these rules) and X-Forwarded-Proto
 * the listener's scheme. Client-sent values are not trusted: they are removed (as is `Forwarded`,
 * which makes the same claims), so a client cannot pose as another address or as HTTPS.
 */
function forwardedLines(p: PortView): string[] {
  return [
    "  http-request del-header X-Forwarded-For",
    "  http-request del-header Forwarded",
    `  http-request set-header X-Forwarded-Proto ${p.crtList ? "https" : "http"}`,
  ];
}

export function renderFrontend(view: RenderView, p: PortView): string[] {
  const tls = p.crtList ? ` ssl crt-list ${p.files.crtList} alpn h2,http/1.1` : "";
  const inline = inlineVhost(p);
  return [
    `frontend fe_${p.port.port}`,
    `  bind ${p.bindAddress}:${p.port.port}${tls}`,
    ...logLines(view, p),
    ...forwardedLines(p),
    ...(inline === undefined || inline === HOST_VAR ? hostLines(p) : []),
    ...ruleLines(p, inline ?? "%[var(txn.vh)]"),
    ...weightedLines(p),
    SWITCH,
    `  default_backend ${BE_404}`,
    "",
  ];
}
