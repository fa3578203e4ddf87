/**
 * HTTPRoute rule precedence (Gateway API spec), first wins:
 * Exact path > longest PathPrefix (> RegularExpression, longest first) > method set >
 * most header matches > most query matches > oldest route > route namespace/name >
 * rule index > match index.
 *
 * Encoded as two numbers per rule match so sorting thousands of rules compares integers:
 * `primary` packs the match's own criteria, `secondary` the route's global age order and the
 * rule/match indexes.
 */
import type { MatchIR, RouteRuleIR } from "../ir";
import { cmp } from "../meta";
import type { RouteNode } from "../graph/types";

export interface Ranked {
  rule: RouteRuleIR;
  primary: number;
  secondary: number;
}

const PATH_RANK = { Exact: 0, PathPrefix: 1, RegularExpression: 2 } as const;
const MAX_LEN = 2047; // CRD caps path values at 1024
const MAX_COUNT = 31; // CRD caps header/query matches at 16
const MAX_INDEX = 255; // CRD caps rules at 16 and matches at 64

export function primaryKey(m: MatchIR): number {
  const rank = m.path ? PATH_RANK[m.path.type] : 3;
  const len = Math.min(m.path?.value.length ?? 0, MAX_LEN);
  const method = m.method ? 0 : 1;
  const headers = MAX_COUNT - Math.min(m.headers.length, MAX_COUNT);
  const query = MAX_COUNT - Math.min(m.queryParams.length, MAX_COUNT);
  return (
    (((rank * (MAX_LEN + 1) + (MAX_LEN - len)) * 2 + method) * (MAX_COUNT + 1) + headers) * (MAX_COUNT + 1) + query
  );
}

export function secondaryKey(routeOrder: number, ruleIndex: number, matchIndex: number): number {
  return (
    (routeOrder * (MAX_INDEX + 1) + Math.min(ruleIndex, MAX_INDEX)) * (MAX_INDEX + 1) + Math.min(matchIndex, MAX_INDEX)
  );
}

/** Every route's position by age: creationTimestamp, then namespace/name, then kind. */
export function routeOrder(routes: RouteNode[]): Map<RouteNode, number> {
  const sorted = [...routes].sort(
    (a, b) => cmp(a.created, b.created) || cmp(a.namespace, b.namespace) || cmp(a.name, b.name) || cmp(a.kind, b.kind),
  );
  return new Map(sorted.map((r, i) => [r, i]));
}

export const comparePrecedence = (a: Ranked, b: Ranked): number => a.primary - b.primary || a.secondary - b.secondary;
