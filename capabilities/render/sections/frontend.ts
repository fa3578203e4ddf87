/**
 * One frontend per port: Host → vhost id (maps), path → best simple rule (maps), gated complex
 * rules, then rule → backend (map, or a weighted random pick).
 */
import type { PortView } from "../view";
import { BE_404 } from "../targets";

const NO_CHAIN = "!{ var(txn.chain) -m found }";
const NO_BEST = "!{ var(txn.best) -m found }";
const MAX_RULE = 2147483647;

/** `^<anything>.<n labels>$` → `.<n labels>`: the wildcard suffix key of that depth. */
const suffixRegex = (depth: number) =>
  `'var(txn.host),regsub("^.+?\\\\.((?:[^.]+\\\\.){${depth - 1}}[^.]+)$",".\\\\1")'`;

/** Host → vhost chain `:<most specific>:...:<least specific>:` (see hosts.ts). */
function hostLines(p: PortView): string[] {
  const out = [
    "  http-request set-var(txn.host) req.hdr(host),field(1,:),lower",
    `  http-request set-var(txn.chain) var(txn.host),map_str(${p.files.hosts})`,
  ];
  for (const depth of p.hosts.wildcardDepths) {
    out.push(`  http-request set-var(txn.wh) ${suffixRegex(depth)} if ${NO_CHAIN}`);
    out.push(`  http-request set-var(txn.chain) var(txn.wh),map_str(${p.files.wildcard}) if ${NO_CHAIN}`);
  }
  if (p.hosts.fallback !== undefined) out.push(`  http-request set-var(txn.chain) str(${p.hosts.fallback}) if ${NO_CHAIN}`);
  return out;
}

/**
 * Path → smallest-numbered simple rule, one vhost level at a time: rules of a more specific vhost
 * have smaller numbers, so the first level with a hit wins. Then the complex rules, each gated on
 * its vhost being in the chain and on beating the current best.
 */
function ruleLines(p: PortView): string[] {
  const out = ["  http-request set-var(txn.p) path", "  http-request set-var(txn.ps) path,concat(/)"];
  for (let level = 1; level <= p.hosts.maxChain; level++) {
    const guard = level === 1 ? "" : ` if ${NO_BEST}`;
    out.push(
      `  http-request set-var(txn.vh) var(txn.chain),field(${level + 1},:)${guard}`,
      `  http-request set-var(txn.k) var(txn.vh),concat(:,txn.p,)${guard}`,
      `  http-request set-var(txn.best) var(txn.k),map_str_int(${p.files.exact})${guard}`,
      `  http-request set-var(txn.k) var(txn.vh),concat(:,txn.ps,) if ${NO_BEST}`,
      `  http-request set-var(txn.best) var(txn.k),map_beg_int(${p.files.prefix}) if ${NO_BEST}`,
    );
  }
  if (p.matching.complex.length > 0) {
    out.push(`  http-request set-var(txn.best) int(${MAX_RULE}) if { var(txn.chain) -m found } ${NO_BEST}`);
    for (const c of p.matching.complex) {
      out.push(
        `  http-request set-var(txn.best) int(${c.no}) if { var(txn.chain) -m sub :${c.vhost}: } { var(txn.best) -m int gt ${c.no} } ${c.conditions.join(" ")}`,
      );
    }
  }
  return out;
}

function dispatchLines(p: PortView): string[] {
  const out = [`  http-request set-var(txn.be) var(txn.best),map_str(${p.files.targets})`];
  for (const t of p.targets.targets) {
    if (t.choices.length < 2) continue;
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
