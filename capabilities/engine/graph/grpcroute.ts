/**
 * GRPCRoute → RouteDraft with the HTTPRoute machinery: a gRPC method match becomes an HTTP/2
 * path match on `/<service>/<method>` (Exact when both are exact, PathPrefix `/<service>/` for a
 * service-only match, a RegularExpression otherwise).
 */
import type { GRPCRoute } from "../../crd";
import type { MatchIR, PathMatchIR } from "../ir";
import { describe, valueProblem as V } from "../conditions";
import { nameOf, nsOf, objects } from "../meta";
import { convertFilters, type FilterSpec, type Findings } from "./filters";
import type { Lookup } from "./lookup";
import {
  classifyRule,
  convertBackends,
  convertHeaderMatches,
  ruleWhere,
  routeDraft,
  type RouteCtx,
  type RouteDraft,
} from "./rules";
import type { RuleNode } from "./types";

export function draftGRPCRoute(r: GRPCRoute, lookup: Lookup): RouteDraft {
  const ctx: RouteCtx = { routeKind: "GRPCRoute", routeNs: nsOf(r), routeName: nameOf(r) };
  const found: Findings = { problems: [], refProblems: [] };
  const rules: RuleNode[] = objects(r.spec?.rules).map((rule, i) => {
    const problemsBefore = found.problems.length;
    const where = ruleWhere(i, rule?.name);
    const matches = objects(rule?.matches).length
      ? objects(rule.matches).map((m, j) => {
          const mw = describe.match(where, j);
          const out: MatchIR = { headers: convertHeaderMatches(m?.headers, mw, lookup, found), queryParams: [] };
          const path = methodPath(m?.method, mw, lookup, found);
          if (path) out.path = path;
          return out;
        })
      : [{ headers: [], queryParams: [] } as MatchIR];
    const problemsAfterMatches = found.problems.length;
    const node: RuleNode = {
      index: i,
      matches,
      filters: convertFilters(rule?.filters as FilterSpec[] | undefined, "rule", where, `r${i}`, ctx, lookup, found),
      backends: convertBackends(rule?.backendRefs as never, i, where, ctx, lookup, found),
    };
    if (rule?.name) node.name = rule.name;
    classifyRule(found, i, problemsBefore, problemsAfterMatches);
    return node;
  });
  return routeDraft(r, ctx, rules, found);
}

const SEGMENT = /^[A-Za-z0-9_.]+$/;
const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

function methodPath(
  m: { service?: string; method?: string; type?: string } | undefined,
  where: string,
  lookup: Lookup,
  found: Findings,
): PathMatchIR | undefined {
  if (!m || (!m.service && !m.method)) return undefined;
  const service = m.service ?? "";
  const method = m.method ?? "";
  if (m.type === "RegularExpression") {
    const value = `/${service || "[^/]+"}/${method || "[^/]+"}`;
    const p = lookup.validator.regex(value);
    if (p) found.problems.push(V.validator(where, p));
    return { type: "RegularExpression", value };
  }
  for (const seg of [service, method]) {
    if (seg && !SEGMENT.test(seg)) found.problems.push(V.grpcName(where, seg));
  }
  if (service && method) return { type: "Exact", value: `/${service}/${method}` };
  if (service) return { type: "PathPrefix", value: `/${service}` };
  return { type: "RegularExpression", value: `/[^/]+/${escapeRe(method)}` };
}
