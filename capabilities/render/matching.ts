/**
 * Rule matching for one port. Rules are numbered 1..n in listener → vhost → IR order, so within
 * a vhost a smaller number means higher precedence; the request's winner is the smallest-numbered
 * matching rule of its vhost.
 *
 * - Simple rules (only an Exact or PathPrefix path) go into two maps keyed `<vhost>:<path>`:
 *   exact paths (tree lookup) and element-wise prefixes stored with a trailing `/` and looked up
 *   with `map_beg` (longest prefix) against `<vhost>:<path>/`. Each key's value is precomputed as
 *   the smallest rule number among all simple rules matching that key, so one lookup gives the
 *   first simple match in IR order, whatever the engine's sort.
 * - Other rules (regex path, method, headers, query params) are tested one by one, gated first on
 *   the vhost id and on "beats the current best", so they only cost a request two integer
 *   compares unless they belong to its vhost.
 */
import { match } from "ts-pattern";
import type { MatchIR, PathMatchIR, RouteRuleIR } from "../engine/ir";
import type { NumberedVhost } from "./hosts";
import { aclLiteral, isMapKeySafe, isPrintable, isSafeHeaderName, isSafeParamName, quoteWord } from "./quote";

export interface NumberedRule {
  no: number;
  vhost: number;
  rule: RouteRuleIR;
}

export interface ComplexRule {
  no: number;
  vhost: number;
  /** ACL terms ANDed after the gates; undefined = the rule can never match (unrenderable). */
  conditions: string[];
}

export interface PortMatching {
  rules: NumberedRule[];
  exactMap: [string, number][];
  prefixMap: [string, number][];
  complex: ComplexRule[];
  warnings: string[];
}

/** `/foo/` → `/foo`, `/` → `` (element-wise prefix without trailing slashes). */
export const trimPrefix = (p: string): string => p.replace(/\/+$/, "");

const isSimple = (m: MatchIR): boolean =>
  m.method === undefined &&
  m.headers.length === 0 &&
  m.queryParams.length === 0 &&
  (m.path === undefined || ((m.path.type === "Exact" || m.path.type === "PathPrefix") && isMapKeySafe(m.path.value)));

const effectivePath = (m: MatchIR): PathMatchIR => m.path ?? { type: "PathPrefix", value: "/" };

/** Element-wise ancestors of a path, most specific first: `/a/b` → [`/a/b`, `/a`, ``]. */
function ancestors(path: string): string[] {
  const out: string[] = [];
  let p = trimPrefix(path);
  for (;;) {
    out.push(p);
    if (p === "") return out;
    p = p.slice(0, p.lastIndexOf("/"));
  }
}

const pathConditions = (path: PathMatchIR): string[] =>
  match(path)
    .with({ type: "Exact" }, ({ value }) => [`{ path -m str -- ${quoteWord(value)} }`])
    .with({ type: "PathPrefix" }, ({ value }) => [`{ var(txn.ps) -m beg -- ${quoteWord(`${trimPrefix(value)}/`)} }`])
    .with({ type: "RegularExpression" }, ({ value }) => [`{ path -m reg -- ${quoteWord(`^(?:${value})$`)} }`])
    .exhaustive();

/** ACL terms for a non-simple match, or a reason it cannot be rendered. */
export function matchConditions(m: MatchIR): { conditions: string[] } | { error: string } {
  const path = effectivePath(m);
  if (!isPrintable(path.value)) return { error: `path ${JSON.stringify(path.value)} has control characters` };
  const out = pathConditions(path);
  if (m.method !== undefined) {
    if (!/^[A-Z]+$/.test(m.method)) return { error: `method ${JSON.stringify(m.method)} is not a token` };
    out.push(`{ method ${m.method} }`);
  }
  for (const h of m.headers) {
    if (!isSafeHeaderName(h.name) || !isPrintable(h.value))
      return { error: `header match ${JSON.stringify(h.name)} cannot be rendered` };
    const value = h.type === "Exact" ? h.value : `^(?:${h.value})$`;
    out.push(`{ req.fhdr(${h.name}) -m ${h.type === "Exact" ? "str" : "reg"} -- ${aclLiteral(value)} }`);
  }
  for (const q of m.queryParams) {
    if (!isSafeParamName(q.name) || !isPrintable(q.value))
      return { error: `query param match ${JSON.stringify(q.name)} cannot be rendered` };
    const value = q.type === "Exact" ? q.value : `^(?:${q.value})$`;
    out.push(`{ urlp(${q.name}) -m ${q.type === "Exact" ? "str" : "reg"} -- ${aclLiteral(value)} }`);
  }
  return { conditions: out };
}

export function portMatching(vhosts: NumberedVhost[]): PortMatching {
  const rules: NumberedRule[] = [];
  const exactMap: [string, number][] = [];
  const prefixMap: [string, number][] = [];
  const complex: ComplexRule[] = [];
  const warnings: string[] = [];
  let no = 1;
  for (const vh of vhosts) {
    const exactFirst = new Map<string, number>();
    const prefixFirst = new Map<string, number>(); // trimmed prefix → first rule no
    for (const rule of vh.vhost.rules) {
      const n = no++;
      rules.push({ no: n, vhost: vh.id, rule });
      if (isSimple(rule.match)) {
        const path = effectivePath(rule.match);
        const table = path.type === "Exact" ? exactFirst : prefixFirst;
        const key = path.type === "Exact" ? path.value : trimPrefix(path.value);
        if (!table.has(key)) table.set(key, n);
        continue;
      }
      const c = matchConditions(rule.match);
      if ("error" in c) {
        warnings.push(`rule ${rule.id}: ${c.error}; it matches nothing`);
        continue;
      }
      complex.push({ no: n, vhost: vh.id, conditions: c.conditions });
    }
    const bestPrefix = (path: string): number | undefined => {
      const hits = ancestors(path)
        .map((a) => prefixFirst.get(a))
        .filter((x): x is number => x !== undefined);
      return hits.length ? Math.min(...hits) : undefined;
    };
    for (const [path, n] of exactFirst) {
      const p = bestPrefix(path);
      exactMap.push([`${vh.id}:${path}`, p === undefined ? n : Math.min(n, p)]);
    }
    for (const prefix of prefixFirst.keys()) prefixMap.push([`${vh.id}:${prefix}/`, bestPrefix(prefix)!]);
  }
  const byKey = (a: [string, number], b: [string, number]) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
  return { rules, exactMap: exactMap.sort(byKey), prefixMap: prefixMap.sort(byKey), complex, warnings };
}
