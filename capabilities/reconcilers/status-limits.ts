/**
 * What the Gateway API v1.6.1 CRDs let a status hold (vendor/gateway-api/v1.6.1), and the one place
 * the status writer makes what it sends fit. A status the API server rejects (422) is rejected on
 * every reconcile, so the writer never sends one that is too long.
 *
 * The API server measures a string's length in Unicode code points (kube-openapi's MaxLength is
 * `utf8.RuneCount`), so this module does too: never UTF-16 units, and never half a surrogate pair.
 */
import type { ParentStatus } from "./status-merge";

/** `conditions[].message` maxLength, on every kind we write. */
export const CONDITION_MESSAGE_MAX = 32768;
/** `status.parents` maxItems on HTTPRoute and GRPCRoute. */
export const ROUTE_PARENTS_MAX = 32;

const grouped = (n: number) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");

/** Appended to a cut message: says that, and how much, was cut. */
export const truncationMarker = (more: number) => `… (truncated: ${grouped(more)} more characters)`;

const codePoints = (s: string) => Array.from(s).length;

/**
 * `message` if it fits in `max` code points; otherwise as much of its start as fits followed by
 * the truncation marker, `max` code points at most in all.
 */
export function fitMessage(message: string, max = CONDITION_MESSAGE_MAX): string {
  if (message.length <= max) return message; // code points <= UTF-16 units
  const points = Array.from(message);
  if (points.length <= max) return message;
  const fits = (keep: number) => keep + codePoints(truncationMarker(points.length - keep)) <= max;
  // the marker only gets shorter as more is kept, so start from its longest form and grow
  let keep = Math.max(0, max - codePoints(truncationMarker(points.length)));
  while (keep + 1 < points.length && fits(keep + 1)) keep++;
  if (!fits(keep)) return points.slice(0, max).join(""); // max shorter than any marker
  return points.slice(0, keep).join("") + truncationMarker(points.length - keep);
}

/**
 * A route's `status.parents` holds 32 entries at most. Other controllers' entries are never ours
 * to drop, so when theirs and ours together exceed it, the last of ours are left out.
 */
export function fitRouteParents(
  parents: ParentStatus[],
  controllerName: string,
): { parents: ParentStatus[]; omitted: number } {
  if (parents.length <= ROUTE_PARENTS_MAX) return { parents, omitted: 0 };
  const theirs = parents.filter((p) => p.controllerName !== controllerName);
  const ours = parents.filter((p) => p.controllerName === controllerName);
  const room = Math.max(0, ROUTE_PARENTS_MAX - theirs.length);
  return { parents: [...theirs, ...ours.slice(0, room)], omitted: ours.length - room };
}
