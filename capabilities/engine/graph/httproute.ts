/** HTTPRoute → RouteDraft: matches, filters, backends and timeouts of every rule. */
import type { HTTPRoute } from "../../crd";
import type { MatchIR, PathMatchIR, QueryParamMatchIR } from "../ir";
import { describe, valueProblem as V } from "../conditions";
import { nameOf, nsOf, objects } from "../meta";
import { convertFilters, usesPrefixReplace, type FilterSpec, type Findings } from "./filters";
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
import { parseDuration } from "./duration";
import { convertRetry, type RetrySpec } from "./retry";

export function draftHTTPRoute(r: HTTPRoute, lookup: Lookup): RouteDraft {
  const ctx: RouteCtx = { routeKind: "HTTPRoute", routeNs: nsOf(r), routeName: nameOf(r) };
  const found: Findings = { problems: [], refProblems: [] };
  const rules: RuleNode[] = objects(r.spec?.rules).map((rule, i) => {
    const problemsBefore = found.problems.length;
    const where = ruleWhere(i, rule?.name);
    const matches = objects(rule?.matches).length
      ? objects(rule.matches).map((m, j) => convertMatch(m, describe.match(where, j), lookup, found))
      : [{ path: { type: "PathPrefix", value: "/" }, headers: [], queryParams: [] } as MatchIR];
    const problemsAfterMatches = found.problems.length;
    const filters = convertFilters(
      rule?.filters as FilterSpec[] | undefined,
      "rule",
      where,
      `r${i}`,
      ctx,
      lookup,
      found,
    );
    const prefixFilter = usesPrefixReplace(filters);
    if (prefixFilter && matches.some((m) => m.path?.type !== "PathPrefix")) {
      found.problems.push(V.prefixRewriteWithoutPrefix(where, prefixFilter));
    }
    const node: RuleNode = {
      index: i,
      matches,
      filters,
      backends: convertBackends(rule?.backendRefs as never, i, where, ctx, lookup, found),
    };
    if (rule?.name) node.name = rule.name;
    const timeouts = convertTimeouts(rule?.timeouts, where, lookup, found);
    if (timeouts) node.timeouts = timeouts;
    const retry = convertRetry((rule as { retry?: RetrySpec } | undefined)?.retry, where, lookup, found);
    if (retry) node.retry = retry;
    classifyRule(found, i, problemsBefore, problemsAfterMatches);
    return node;
  });
  return routeDraft(r, ctx, rules, found);
}

type MatchSpec = NonNullable<NonNullable<NonNullable<HTTPRoute["spec"]>["rules"]>[number]["matches"]>[number];

function convertMatch(m: MatchSpec, where: string, lookup: Lookup, found: Findings): MatchIR {
  const v = lookup.validator;
  const pathType: string = m?.path?.type ?? "PathPrefix";
  const value = String(m?.path?.value ?? "/");
  let path: PathMatchIR;
  if (pathType === "Exact" || pathType === "PathPrefix") {
    path = { type: pathType, value };
    const p = v.path(value);
    if (p) found.problems.push(V.validator(where, p));
  } else if (pathType === "RegularExpression") {
    path = { type: pathType, value };
    const p = v.regex(value);
    if (p) found.problems.push(V.validator(where, p));
  } else {
    found.problems.push(V.pathMatchType(where, pathType));
    path = { type: "Exact", value };
  }
  const out: MatchIR = {
    path,
    headers: convertHeaderMatches(m?.headers, where, lookup, found),
    queryParams: convertQueryMatches(m?.queryParams, where, lookup, found),
  };
  if (m?.method) out.method = String(m.method);
  return out;
}

function convertQueryMatches(
  params: { name: string; type?: string; value: string }[] | undefined,
  where: string,
  lookup: Lookup,
  found: Findings,
): QueryParamMatchIR[] {
  const list = objects(params);
  if (list.length === 0) return [];
  const seen = new Set<string>();
  const out: QueryParamMatchIR[] = [];
  for (const q of list) {
    const name = String(q?.name ?? "");
    if (seen.has(name)) continue;
    seen.add(name);
    const type = q?.type === "RegularExpression" ? "RegularExpression" : "Exact";
    const value = String(q?.value ?? "");
    const problem =
      lookup.validator.queryParamName(name) ??
      (type === "RegularExpression" ? lookup.validator.regex(value) : lookup.validator.queryParamValue(name, value));
    if (problem) found.problems.push(V.validator(where, problem));
    out.push({ type, name, value });
  }
  return out;
}

function convertTimeouts(
  t: { request?: string; backendRequest?: string } | undefined,
  where: string,
  lookup: Lookup,
  found: Findings,
): RuleNode["timeouts"] {
  if (!t) return undefined;
  const out: NonNullable<RuleNode["timeouts"]> = {};
  for (const [field, outKey] of [
    ["request", "requestMs"],
    ["backendRequest", "backendRequestMs"],
  ] as const) {
    const raw = t[field];
    if (raw === undefined || raw === null) continue;
    const ms = parseDuration(String(raw));
    if (ms === undefined) {
      found.problems.push(V.timeout(where, field, String(raw)));
      continue;
    }
    const problem = lookup.validator.timeout(ms);
    if (problem) found.problems.push(V.validator(`${where} timeouts.${field}`, problem));
    out[outKey] = ms;
  }
  if (out.requestMs && out.backendRequestMs && out.backendRequestMs > out.requestMs) {
    found.problems.push(V.timeoutOrder(where));
  }
  return Object.keys(out).length ? out : undefined;
}
