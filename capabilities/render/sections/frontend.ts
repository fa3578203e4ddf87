/**
 * One frontend per port: Host → vhost id (maps), path → best simple rule (maps), gated complex
 * rules, then rule → backend (map, or a weighted random pick).
 */
import type { PortView } from "../view";
import { BE_404 } from "../targets";

const NO_VH = "!{ var(txn.vh) -m found }";
const NO_BEST = "!{ var(txn.best) -m found }";
const MAX_RULE = 2147483647;

/** `^<anything>.<n labels>$` → `.<n labels>`: the wildcard suffix key of that depth. */
const suffixRegex = (depth: number) =>
  `'var(txn.host),regsub("^.+?\\\\.((?:[^.]+\\\\.){${depth - 1}}[^.]+)$",".\\\\1")'`;

/** The Host header without port, lower-cased (HTTP/2 :authority arrives as Host). */
export const HOST_EXPR = "req.hdr(host),field(1,:),lower";

/** Host → first vhost id (see hosts.ts). Lines for empty maps are left out. */
function hostLines(p: PortView): string[] {
  const wild = p.hosts.wildcardDepths.length > 0;
  const out = wild ? [`  http-request set-var(txn.host) ${HOST_EXPR}`] : [];
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
 * Path → smallest-numbered simple rule, one vhost level at a time: rules of a more specific vhost
 * have smaller numbers, so the first level with a hit wins. Then the complex rules, each gated on
 * its vhost being in the request's chain and on beating the current best.
 */
function ruleLines(p: PortView): string[] {
  const out: string[] = [];
  // The chain of the first vhost, before the levels below move txn.vh along it.
  if (p.matching.complex.length > 0) out.push(`  http-request set-var(txn.chain) var(txn.vh),map_str(${p.files.chains})`);
  const hasExact = p.matching.exactMap.length > 0;
  const hasPrefix = p.matching.prefixMap.length > 0;
  for (let level = 1; level <= p.hosts.maxChain && (hasExact || hasPrefix); level++) {
    if (level > 1) out.push(`  http-request set-var(txn.vh) var(txn.vh),map_str_int(${p.files.next},0) if ${NO_BEST}`);
    const guard = level === 1 ? "" : ` if ${NO_BEST}`;
    if (hasExact)
      out.push(
        `  http-request set-var-fmt(txn.k) "%[var(txn.vh)]:%[path]"${guard}`,
        `  http-request set-var(txn.best) var(txn.k),map_str_int(${p.files.exact})${guard}`,
      );
    if (hasPrefix)
      out.push(
        `  http-request set-var-fmt(txn.k) "%[var(txn.vh)]:%[path]/"${hasExact || level > 1 ? ` if ${NO_BEST}` : ""}`,
        `  http-request set-var(txn.best) var(txn.k),map_beg_int(${p.files.prefix})${hasExact || level > 1 ? ` if ${NO_BEST}` : ""}`,
      );
  }
  if (p.matching.complex.length > 0) {
    out.push(
      "  http-request set-var(txn.ps) path,concat(/)",
      `  http-request set-var(txn.best) int(${MAX_RULE}) if { var(txn.chain) -m found } ${NO_BEST}`,
    );
    for (const c of p.matching.complex) {
      out.push(
        `  http-request set-var(txn.best) int(${c.no}) if { var(txn.chain) -m sub :${c.vhost}: } { var(txn.best) -m int gt ${c.no} } ${c.conditions.join(" ")}`,
      );
    }
  }
  return out;
}

/** Rule number → backend: a map, or for weighted rules a random pick into cumulative ranges. */
function dispatchLines(p: PortView): string[] {
  // Not `use_backend %[...,map_str(file)]`: HAProxy parses use_backend expressions after the
  // config is read, where `default-path config` no longer applies to the map file name.
  const weighted = p.targets.targets.filter((t) => t.choices.length > 1);
  const out = [`  http-request set-var(txn.be) var(txn.best),map_str(${p.files.targets})`];
  for (const t of weighted) {
    const total = t.choices.reduce((s, c) => s + c.weight, 0);
    out.push(`  http-request set-var(txn.rnd) rand(${total}) if { var(txn.best) -m int ${t.no} }`);
    let from = 0;
    for (const c of t.choices) {
      out.push(
        `  http-request set-var(txn.be) str(${c.backend}) if { var(txn.best) -m int ${t.no} } { var(txn.rnd) -m int ${from}:${from + c.weight - 1} }`,
      );
      from += c.weight;
    }
  }
  out.push("  use_backend %[var(txn.be)] if { var(txn.be) -m found }", `  default_backend ${BE_404}`);
  return out;
}

export function renderFrontend(p: PortView): string[] {
  const tls = p.crtList ? ` ssl crt-list ${p.files.crtList} alpn h2,http/1.1` : "";
  return [
    `frontend fe_${p.port.port}`,
    `  bind ${p.bindAddress}:${p.port.port}${tls}`,
    ...hostLines(p),
    ...ruleLines(p),
    ...dispatchLines(p),
    "",
  ];
}
