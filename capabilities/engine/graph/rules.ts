/**
 * Shared per-rule pieces of HTTPRoute and GRPCRoute: header matches, backendRefs with their
 * filters, and the route draft both converters produce.
 */
import type { BackendIR, HeaderMatchIR } from "../ir";
import { describe, valueProblem as V } from "../conditions";
import { asArray, createdOf, generationOf, objects, type HasMeta } from "../meta";
import { resolveBackend, type BackendRefLike } from "./backend";
import { convertFilters, type FilterSpec, type Findings } from "./filters";
import type { Lookup } from "./lookup";
import type { RouteKind, RuleNode } from "./types";

export interface ParentRefSpec {
  group?: string;
  kind?: string;
  name: string;
  namespace?: string;
  port?: number;
  sectionName?: string;
}

/** A route converted on its own, before attachment to parents. */
export interface RouteDraft {
  kind: RouteKind;
  namespace: string;
  name: string;
  generation: number;
  created: string;
  hostnames: string[];
  parentRefs: ParentRefSpec[];
  rules: RuleNode[];
  found: Findings;
}

export interface RouteCtx {
  routeKind: RouteKind;
  routeNs: string;
  routeName: string;
}

export const ruleWhere = (i: number, name?: string) => describe.rule(i, name);

/**
 * Classify rule `i` after its conversion: problems found while converting its matches (from
 * `before` to `afterMatches`) drop it; problems found afterwards (filters, backendRef filters,
 * timeouts, retry) make it answer 500 for exactly its matches. The rule's last problem says which.
 */
export function classifyRule(found: Findings, i: number, before: number, afterMatches: number): void {
  if (found.problems.length === before) return;
  const dropped = afterMatches > before;
  (dropped ? (found.invalidRules ??= new Set()) : (found.failClosedRules ??= new Set())).add(i);
  const last = found.problems.length - 1;
  found.problems[last] = dropped ? V.ruleDropped(found.problems[last]) : V.ruleFailsClosed(found.problems[last]);
}

type RouteObject = HasMeta & { spec?: { hostnames?: string[]; parentRefs?: ParentRefSpec[] } };

/** The part of a draft that HTTPRoute and GRPCRoute share: identity, hostnames, parentRefs. */
export function routeDraft(r: RouteObject, ctx: RouteCtx, rules: RuleNode[], found: Findings): RouteDraft {
  return {
    kind: ctx.routeKind,
    namespace: ctx.routeNs,
    name: ctx.routeName,
    generation: generationOf(r),
    created: createdOf(r),
    hostnames: asArray(r.spec?.hostnames).map((h) => String(h).toLowerCase()),
    parentRefs: objects(r.spec?.parentRefs),
    rules,
    found,
  };
}

/** Header matches: names lower-cased; only the first match per name counts (spec). */
export function convertHeaderMatches(
  headers: { name: string; type?: string; value: string }[] | undefined,
  where: string,
  lookup: Lookup,
  found: Findings,
): HeaderMatchIR[] {
  const list = objects(headers);
  if (list.length === 0) return [];
  const seen = new Set<string>();
  const out: HeaderMatchIR[] = [];
  for (const h of list) {
    const name = String(h?.name ?? "").toLowerCase();
    if (seen.has(name)) continue;
    seen.add(name);
    const type = h?.type === "RegularExpression" ? "RegularExpression" : "Exact";
    const value = String(h?.value ?? "");
    const problem =
      lookup.validator.headerName(name) ??
      (type === "RegularExpression" ? lookup.validator.regex(value) : lookup.validator.headerValue(name, value));
    if (problem) found.problems.push(V.validator(where, problem));
    out.push({ type, name, value });
  }
  return out;
}

export function convertBackends(
  refs: (BackendRefLike & { filters?: FilterSpec[] })[] | undefined,
  ruleIndex: number,
  where: string,
  ctx: RouteCtx,
  lookup: Lookup,
  found: Findings,
): BackendIR[] {
  return objects(refs).map((ref, j) => {
    const slot = `r${ruleIndex}_b${j}`;
    const filters =
      ref.filters === undefined
        ? []
        : convertFilters(ref.filters, "backendRef", describe.backendRef(where, j), slot, ctx, lookup, found);
    const bctx = { routeKind: ctx.routeKind, routeNs: ctx.routeNs, routeName: ctx.routeName, where, slot };
    const r = resolveBackend(ref, filters, bctx, lookup);
    if (r.problem) found.refProblems.push(r.problem);
    return r.backend;
  });
}
