/**
 * Property: the map-based dispatch the renderer precomputes (host → vhost → simple rule) picks
 * the same rule as a direct reading of the spec, for random listeners, vhosts, rules and requests.
 * The HAProxy lookups are simulated exactly as the frontend performs them (exact map, wildcard
 * suffixes longest first, fallback, `next` chain, exact then longest-prefix path maps), or, on
 * ports with only exact hostnames, with the path maps keyed by the Host itself.
 */
import { describe, expect, it } from "@jest/globals";
import fc from "fast-check";
import type { ListenerIR, PortIR, RouteRuleIR } from "../../capabilities/engine/ir";
import { hostDispatch, keyByHost, keyableByHost } from "../../capabilities/render/hosts";
import { portMatching } from "../../capabilities/render/matching";
import { exact, listener, prefix, rule, svc, vhost } from "./ir-builders";

const label = fc.constantFrom("a", "b", "c");
const name = fc.array(label, { minLength: 1, maxLength: 3 }).map((ls) => ls.join("."));
const pattern = fc.oneof(
  name,
  name.map((n) => `*.${n}`),
);
const path = fc.array(fc.constantFrom("x", "y", "xy"), { maxLength: 3 }).map((s) => `/${s.join("/")}`);

// --- the spec, read directly ---
const matches = (p: string | undefined, host: string) =>
  p === undefined || p === "*"
    ? true
    : p.startsWith("*.")
      ? host.endsWith(p.slice(1)) && host.length > p.length - 1
      : p === host;
const rank = (p: string | undefined) =>
  p === undefined || p === "*" ? [2, 0] : p.startsWith("*.") ? [1, -p.split(".").length] : [0, 0];
const cmp = (a: string | undefined, b: string | undefined) => rank(a)[0] - rank(b)[0] || rank(a)[1] - rank(b)[1];
const pathMatches = (r: RouteRuleIR, p: string) => {
  const m = r.match.path!;
  if (m.type === "Exact") return p === m.value;
  const pre = m.value.replace(/\/+$/, "");
  return p === pre || p.startsWith(`${pre}/`) || pre === "";
};

function specRule(port: PortIR, host: string, p: string): string | undefined {
  const l = [...port.listeners].filter((x) => matches(x.hostname, host)).sort((a, b) => cmp(a.hostname, b.hostname))[0];
  if (!l) return undefined;
  const vhs = l.virtualHosts.filter((v) => matches(v.hostname, host)).sort((a, b) => cmp(a.hostname, b.hostname));
  for (const v of vhs) {
    const r = v.rules.find((x) => pathMatches(x, p));
    if (r) return r.id;
  }
  return undefined;
}

// --- what HAProxy does with the rendered maps ---
let hostKeyedRuns = 0;

/** The path maps looked up as the frontend does: exact key first, then the longest prefix key. */
function lookup(exactMap: [string, number][], prefixMap: [string, number][], key: string): number | undefined {
  const hit = new Map(exactMap).get(key);
  if (hit !== undefined) return hit;
  return prefixMap.filter(([k]) => `${key}/`.startsWith(k)).sort((a, b) => b[0].length - a[0].length)[0]?.[1];
}

function haproxyRule(port: PortIR, host: string, p: string): string | undefined {
  const d = hostDispatch(port);
  const m = portMatching(d.vhosts);
  const ruleId = (no: number | undefined) => m.rules.find((r) => r.no === no)?.rule.id;
  if (keyableByHost(d, true)) {
    hostKeyedRuns++;
    return ruleId(lookup(keyByHost(d, m.exactMap), keyByHost(d, m.prefixMap), `${host}:${p}`));
  }
  const hosts = new Map(d.exact);
  const wild = new Map(d.wildcard);
  let vh = hosts.get(host);
  for (const depth of d.wildcardDepths) {
    if (vh !== undefined) break;
    const parts = host.split(".");
    if (parts.length > depth) vh = wild.get(`.${parts.slice(-depth).join(".")}`);
  }
  vh ??= d.fallback;
  if (vh === undefined) return undefined;
  const next = new Map(d.next);
  let best: number | undefined;
  for (let level = 1; level <= d.maxChain && best === undefined; level++) {
    if (level > 1) vh = next.get(vh!) ?? 0;
    best = lookup(m.exactMap, m.prefixMap, `${vh}:${p}`);
  }
  return ruleId(best);
}

/** Listeners and vhosts with hostnames from `hostnames` (plus "*" and no hostname). */
const arbPortOf = (hostnames: fc.Arbitrary<string>) =>
  fc
    .array(
      fc.record({
        hostname: fc.option(hostnames, { nil: undefined }),
        vhosts: fc.array(
          fc.record({
            hostname: fc.oneof(hostnames, fc.constant("*")),
            rules: fc.array(fc.record({ exact: fc.boolean(), path }), { minLength: 1, maxLength: 3 }),
          }),
          { maxLength: 3 },
        ),
      }),
      { minLength: 1, maxLength: 3 },
    )
    .map((ls): PortIR => {
      const seen = new Set<string>();
      const listeners: ListenerIR[] = [];
      ls.forEach((l, i) => {
        const key = l.hostname ?? "*";
        if (seen.has(key)) return; // conflicted listeners never reach the IR
        seen.add(key);
        const vhs = new Map<string, RouteRuleIR[]>();
        for (const v of l.vhosts) {
          // effective hostnames lie within the listener's; "*" only on a hostname-less listener
          const h = v.hostname === "*" ? (l.hostname ?? "*") : v.hostname;
          if (
            l.hostname !== undefined &&
            !(h === l.hostname || (l.hostname.startsWith("*.") && h.endsWith(l.hostname.slice(1))))
          )
            continue;
          const rules = v.rules.map((r) => rule(r.exact ? exact(r.path) : prefix(r.path), [svc("s", [])]));
          vhs.set(h, [...(vhs.get(h) ?? []), ...rules]);
        }
        const sorted = [...vhs.entries()].sort((a, b) => cmp(a[0], b[0]) || (a[0] < b[0] ? -1 : 1));
        listeners.push(
          listener(
            `l${i}`,
            l.hostname,
            sorted.map(([h, rules]) => vhost(h, sortRules(rules))),
          ),
        );
      });
      return { port: 80, protocol: "HTTP", listeners: listeners.sort((a, b) => cmp(a.hostname, b.hostname)) };
    });

/** Any patterns, and exact names only (which often get host-keyed maps). */
const arbPort = fc.oneof(arbPortOf(pattern), arbPortOf(name));

/** The engine's precedence for path-only rules: Exact first, then longer prefixes. */
function sortRules(rules: RouteRuleIR[]): RouteRuleIR[] {
  const key = (r: RouteRuleIR) => (r.match.path!.type === "Exact" ? 0 : 1) * 1e6 - r.match.path!.value.length;
  return rules
    .map((r, i) => ({ r, i }))
    .sort((a, b) => key(a.r) - key(b.r) || a.i - b.i)
    .map((x) => x.r);
}

describe("host and path dispatch", () => {
  it("matches the spec on random gateways and requests", () => {
    fc.assert(
      fc.property(arbPort, fc.array(fc.tuple(name, path), { minLength: 1, maxLength: 10 }), (port, requests) => {
        for (const [host, p] of requests) expect(haproxyRule(port, host, p)).toBe(specRule(port, host, p));
      }),
      { numRuns: 400, seed: 20261122 },
    );
    // both lookup schemes were exercised
    expect(hostKeyedRuns).toBeGreaterThan(100);
  });
});
