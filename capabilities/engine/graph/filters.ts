/**
 * Route filters → FilterIR, shared by HTTPRoute and GRPCRoute. Unsupported filter types and
 * values the data plane cannot carry are reported (UnsupportedValue), never silently dropped.
 */
import { match } from "ts-pattern";
import type { FilterIR, HeaderModifierIR } from "../ir";
import { describe, valueProblem as V } from "../conditions";
import { asArray, objects } from "../meta";
import { resolveBackend, type BackendContext, type BackendProblem, type BackendRefLike } from "./backend";
import type { Lookup } from "./lookup";
import { convertCors, type CorsSpec } from "./cors";

/** Accumulates what a route's conversion found wrong. */
export interface Findings {
  /** UnsupportedValue sentences (route accepted nowhere). */
  problems: string[];
  /**
   * Rules whose matches cannot be served as written: dropped from the data plane (their requests
   * are not claimed by this route; the rest still serve: PartiallyInvalid).
   */
  invalidRules?: Set<number>;
  /**
   * Rules whose matches are fine but whose filters, timeouts or retry cannot be applied
   * faithfully: they keep their matches and answer HTTP 500, so their requests never fall
   * through to a broader rule (spec: a filter that cannot be applied MUST NOT be skipped).
   */
  failClosedRules?: Set<number>;
  /** Unresolved backend refs (ResolvedRefs=False), in rule order. */
  refProblems: BackendProblem[];
}

interface ModifierSpec {
  set?: { name: string; value: string }[];
  add?: { name: string; value: string }[];
  remove?: string[];
}

export interface FilterSpec {
  type: string;
  requestHeaderModifier?: ModifierSpec;
  responseHeaderModifier?: ModifierSpec;
  requestRedirect?: {
    scheme?: string;
    hostname?: string;
    port?: number;
    statusCode?: number;
    path?: { type: string; replaceFullPath?: string; replacePrefixMatch?: string };
  };
  urlRewrite?: { hostname?: string; path?: { type: string; replaceFullPath?: string; replacePrefixMatch?: string } };
  requestMirror?: {
    backendRef: BackendRefLike;
    percent?: number;
    fraction?: { numerator: number; denominator?: number };
  };
  cors?: CorsSpec;
}

export type FilterScope = "rule" | "backendRef";

const REDIRECT_CODES = [301, 302, 303, 307, 308] as const;

/** The filter types crossway serves: exactly the IR's filter union. */
const FILTER_TYPES: readonly FilterIR["type"][] = [
  "RequestHeaderModifier",
  "ResponseHeaderModifier",
  "RequestRedirect",
  "URLRewrite",
  "RequestMirror",
  "CORS",
];
const isFilterType = (t: string): t is FilterIR["type"] => (FILTER_TYPES as readonly string[]).includes(t);

function convertRedirect(
  r: NonNullable<FilterSpec["requestRedirect"]>,
  here: string,
  lookup: Lookup,
  found: Findings,
): Extract<FilterIR, { type: "RequestRedirect" }> {
  const statusCode = Number(r.statusCode ?? 302);
  if (!(REDIRECT_CODES as readonly number[]).includes(statusCode))
    found.problems.push(V.redirectStatus(here, statusCode));
  const ir: Extract<FilterIR, { type: "RequestRedirect" }> = {
    type: "RequestRedirect",
    statusCode: statusCode as (typeof REDIRECT_CODES)[number],
  };
  if (r.scheme === "http" || r.scheme === "https") ir.scheme = r.scheme;
  else if (r.scheme !== undefined && r.scheme !== null) found.problems.push(V.redirectScheme(here, String(r.scheme)));
  if (r.hostname) ir.hostname = r.hostname;
  if (r.port !== undefined && r.port !== null) ir.port = Number(r.port);
  const path = convertPathModifier(r.path, here, lookup, found);
  if (path) ir.path = path;
  return ir;
}

export function convertFilters(
  specs: FilterSpec[] | undefined,
  scope: FilterScope,
  where: string,
  /** Unique within the route (e.g. `r1`), for ids of mirror backends. */
  slot: string,
  ctx: Omit<BackendContext, "where" | "slot">,
  lookup: Lookup,
  found: Findings,
): FilterIR[] {
  const out: FilterIR[] = [];
  objects(specs).forEach((f, i) => {
    const type = String(f?.type ?? "");
    const here = describe.filter(where, i);
    if (scope === "backendRef" && type !== "RequestHeaderModifier" && type !== "ResponseHeaderModifier") {
      found.problems.push(V.backendFilter(where, type));
      return;
    }
    if (!isFilterType(type)) return void found.problems.push(V.filter(where, type || "(no type)"));
    // Exhaustive over the IR's filter union: a new FilterIR type does not compile until it is converted.
    match(type)
      .with("RequestHeaderModifier", "ResponseHeaderModifier", (t) => {
        const spec = t === "RequestHeaderModifier" ? f.requestHeaderModifier : f.responseHeaderModifier;
        if (!spec) return void found.problems.push(V.filterMissingConfig(here, t));
        out.push({ type: t, modifier: convertModifier(spec, here, lookup, found) });
      })
      .with("RequestRedirect", (t) => {
        const r = f.requestRedirect;
        if (!r) return void found.problems.push(V.filterMissingConfig(here, t));
        out.push(convertRedirect(r, here, lookup, found));
      })
      .with("URLRewrite", (t) => {
        const r = f.urlRewrite;
        if (!r) return void found.problems.push(V.filterMissingConfig(here, t));
        const ir: Extract<FilterIR, { type: "URLRewrite" }> = { type: t };
        if (r.hostname) ir.hostname = r.hostname;
        const path = convertPathModifier(r.path, here, lookup, found);
        if (path) ir.path = path;
        out.push(ir);
      })
      .with("RequestMirror", (t) => {
        const m = f.requestMirror;
        if (!m?.backendRef) return void found.problems.push(V.filterMissingConfig(here, t));
        const mirrorWhere = describe.mirror(here);
        const r = resolveBackend(m.backendRef, [], { ...ctx, where: mirrorWhere, slot: `${slot}_m${i}` }, lookup);
        // Spec: an unresolved mirror backendRef is dropped (ResolvedRefs=False), never configured.
        if (r.problem) found.refProblems.push(r.problem);
        else out.push({ type: t, backend: r.backend, percent: mirrorPercent(m) });
      })
      .with("CORS", (t) => {
        // GRPCRoute has no CORS filter in the spec
        if (ctx.routeKind !== "HTTPRoute") return void found.problems.push(V.filter(where, t));
        if (!f.cors) return void found.problems.push(V.filterMissingConfig(here, t));
        out.push({ type: t, cors: convertCors(f.cors, here, lookup, found) });
      })
      .exhaustive();
  });
  return out;
}

function mirrorPercent(m: NonNullable<FilterSpec["requestMirror"]>): number {
  if (m.percent !== undefined && m.percent !== null) return clampPercent(Number(m.percent));
  if (m.fraction) {
    const den = Number(m.fraction.denominator ?? 100);
    return den > 0 ? clampPercent((Number(m.fraction.numerator) / den) * 100) : 0;
  }
  return 100;
}

const clampPercent = (p: number) => (Number.isFinite(p) ? Math.min(100, Math.max(0, p)) : 0);

function convertModifier(spec: ModifierSpec, where: string, lookup: Lookup, found: Findings): HeaderModifierIR {
  const v = lookup.validator;
  const check = (name: string, value?: string) => {
    const p = v.headerName(name) ?? (value === undefined ? undefined : v.headerValue(name, value));
    if (p) found.problems.push(V.validator(where, p));
  };
  const pairs = (list: { name: string; value: string }[] | undefined) =>
    objects(list).map((h) => {
      const name = String(h?.name ?? "");
      const value = String(h?.value ?? "");
      check(name, value);
      return { name, value };
    });
  const remove = asArray(spec.remove).map((n) => {
    check(String(n));
    return String(n);
  });
  return { set: pairs(spec.set), add: pairs(spec.add), remove };
}

type PathModifier = { type: "ReplaceFullPath"; value: string } | { type: "ReplacePrefixMatch"; value: string };

function convertPathModifier(
  p: { type: string; replaceFullPath?: string; replacePrefixMatch?: string } | undefined,
  where: string,
  lookup: Lookup,
  found: Findings,
): PathModifier | undefined {
  if (!p) return undefined;
  if (p.type !== "ReplaceFullPath" && p.type !== "ReplacePrefixMatch") {
    found.problems.push(V.pathModifierType(where, String(p.type)));
    return undefined;
  }
  const value =
    p.type === "ReplaceFullPath"
      ? p.replaceFullPath
      : p.type === "ReplacePrefixMatch"
        ? p.replacePrefixMatch
        : undefined;
  if (value === undefined) {
    found.problems.push(V.pathModifierMissing(where, String(p.type)));
    return undefined;
  }
  const problem = lookup.validator.path(value);
  if (problem) found.problems.push(V.validator(where, problem));
  return p.type === "ReplaceFullPath" ? { type: "ReplaceFullPath", value } : { type: "ReplacePrefixMatch", value };
}

/** True when a filter list rewrites/redirects with ReplacePrefixMatch (needs PathPrefix matches). */
export function usesPrefixReplace(filters: FilterIR[]): string | undefined {
  for (const f of filters) {
    if ((f.type === "RequestRedirect" || f.type === "URLRewrite") && f.path?.type === "ReplacePrefixMatch")
      return f.type;
  }
  return undefined;
}
