/**
 * Namespace admission for listeners (allowedRoutes.namespaces) and Gateways
 * (allowedListeners.namespaces): Kubernetes label selector semantics.
 */
import { asArray, objects } from "../meta";
import type { LabelSelector } from "./types";

/** matchLabels AND every matchExpression (In/NotIn/Exists/DoesNotExist); unknown operators match nothing. */
export function selectorMatches(sel: LabelSelector, labels: Record<string, string>): boolean {
  if (typeof sel !== "object" || sel === null) return false;
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of objects(sel.matchExpressions)) {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    const values = asArray(e.values);
    switch (e?.operator) {
      case "In":
        if (!has || !values.includes(labels[e.key])) return false;
        break;
      case "NotIn":
        if (has && values.includes(labels[e.key])) return false;
        break;
      case "Exists":
        if (!has) return false;
        break;
      case "DoesNotExist":
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/** kubectl-style rendering: `a=b,c in (x,y),!d`. */
export function formatSelector(sel: LabelSelector | undefined): string {
  if (typeof sel !== "object" || sel === null) return "(none)";
  const parts: string[] = [];
  for (const [k, v] of Object.entries(sel.matchLabels ?? {}).sort()) parts.push(`${k}=${v}`);
  for (const e of objects(sel.matchExpressions)) {
    const vals = asArray(e.values).join(",");
    switch (e?.operator) {
      case "In":
        parts.push(`${e.key} in (${vals})`);
        break;
      case "NotIn":
        parts.push(`${e.key} notin (${vals})`);
        break;
      case "Exists":
        parts.push(e.key);
        break;
      case "DoesNotExist":
        parts.push(`!${e.key}`);
        break;
      default:
        parts.push(`${e?.key} ${e?.operator} (${vals})`);
    }
  }
  return parts.length ? parts.join(",") : "(empty: everything)";
}
