/**
 * HTTPRoute rule precedence (Gateway API spec), first wins:
 * Exact path > longest PathPrefix (> RegularExpression, longest first) > method set >
 * most header matches > most query matches > oldest route > route namespace/name >
 * rule index > match index.
 */
import type { RouteRuleIR } from "../ir";
import { cmp } from "../meta";

export interface Ranked {
  rule: RouteRuleIR;
  created: string;
}

const PATH_RANK = { Exact: 0, PathPrefix: 1, RegularExpression: 2 } as const;

function pathRank(r: RouteRuleIR): number {
  return r.match.path ? PATH_RANK[r.match.path.type] : 3;
}

export function comparePrecedence(a: Ranked, b: Ranked): number {
  const x = a.rule;
  const y = b.rule;
  return (
    pathRank(x) - pathRank(y) ||
    (y.match.path?.value.length ?? 0) - (x.match.path?.value.length ?? 0) ||
    (x.match.method ? 0 : 1) - (y.match.method ? 0 : 1) ||
    y.match.headers.length - x.match.headers.length ||
    y.match.queryParams.length - x.match.queryParams.length ||
    cmp(a.created, b.created) ||
    cmp(x.route.namespace, y.route.namespace) ||
    cmp(x.route.name, y.route.name) ||
    cmp(x.route.kind, y.route.kind) ||
    x.ruleIndex - y.ruleIndex ||
    x.matchIndex - y.matchIndex
  );
}
