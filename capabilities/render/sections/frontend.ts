/**
 * One frontend per port: Host → vhost id (maps; or the Host itself keys the path maps when only
 * exact hostnames are in play), path → first matching simple rule (maps), gated
 * complex rules, then the rule's backend (directly from the path maps, via a rule → backend map,
 * or a weighted random pick). Lines for empty maps are left out, so a simple gateway costs a
 * request a handful of actions.
 */
import type { PortView } from "../view";
import { weightedMarker } from "../view";
import { BE_404 } from "../targets";
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
 * Whether the port's last path lookup can be the `use_backend` itself: its value is then a
 * backend name as is (direct mode, no weighted pick to make), so storing it in txn.be first would
 * only cost a variable per request. A miss gives no name, and HAProxy then uses default_backend.
 */
const lookupInUseBackend = (p: PortView): boolean => p.direct && p.targets.targets.every((t) => t.choices.length < 2);

interface RuleLines {
  lines: string[];
  /** The last path lookup (`var(txn.k),<conv>(<file>)`) when it is left to `use_backend`. */
  finalLookup?: string;
  /** Lookups before the final one may already have stored a hit in txn.be. */
  earlierHits: boolean;
}

/**
 * Path → first simple rule, one vhost level at a time: rules of a more specific vhost come first,
 * so the first level with a hit wins. Then the complex rules, each gated on its vhost being in
 * the request's chain and on beating the current best.
 */
function ruleLines(p: PortView, vh: string): RuleLines {
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
  const finalLookup = lookupInUseBackend(p) ? lookups.at(-1)?.lookup : undefined;
  lookups.forEach((l, i) => {
    const guard = i === 0 ? "" : ` if ${none}`;
    out.push(...l.before, `  http-request set-var-fmt(txn.k) "${l.key}"${guard}`);
    if (i < lookups.length - 1 || finalLookup === undefined)
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
  return { lines: out, finalLookup, earlierHits: lookups.length > 1 };
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
 * Backend switching. All http-request rules run before any use_backend, so a hit stored in txn.be
 * is taken first; then the final lookup, if left to use_backend. That expression's map file is
 * opened relative to the working directory (HAProxy reads use_backend expressions after the
 * config, where `default-path` no longer applies): haproxy runs with `-C <config dir>`.
 */
function switchingLines(r: RuleLines): string[] {
  const hit = "  use_backend %[var(txn.be)] if { var(txn.be) -m found }";
  if (r.finalLookup === undefined) return [hit];
  return [...(r.earlierHits ? [hit] : []), `  use_backend %[${r.finalLookup}]`];
}

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
        `  http-request set-var(txn.be) str(${c.backend}) if ${selected} { var(txn.rnd) -m int ${from}:${from + c.weight - 1} }`,
      );
      from += c.weight;
    }
  }
  return out;
}

export function renderFrontend(p: PortView): string[] {
  const tls = p.crtList ? ` ssl crt-list ${p.files.crtList} alpn h2,http/1.1` : "";
  const inline = inlineVhost(p);
  const rules = ruleLines(p, inline ?? "%[var(txn.vh)]");
  return [
    `frontend fe_${p.port.port}`,
    `  bind ${p.bindAddress}:${p.port.port}${tls}`,
    ...(inline === undefined || inline === HOST_VAR ? hostLines(p) : []),
    ...rules.lines,
    ...weightedLines(p),
    ...switchingLines(rules),
    `  default_backend ${BE_404}`,
    "",
  ];
}
