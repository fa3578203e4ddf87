/**
 * Hostname matching per the Gateway API: a wildcard `*.example.com` matches one or more labels
 * in front of `.example.com` (so `a.b.example.com` too) but never `example.com` itself.
 */

export const CATCH_ALL = "*";

export const isWildcard = (h: string): boolean => h.startsWith("*.");

/** Does wildcard `pattern` (`*.suffix`) cover `host` (exact or wildcard, strictly more specific)? */
function covers(pattern: string, host: string): boolean {
  const suffix = pattern.slice(1); // ".example.com"
  if (!host.endsWith(suffix)) return false;
  const head = host.slice(0, host.length - suffix.length);
  return head !== "" && head !== "*";
}

/**
 * The intersection of a listener hostname (undefined = any) and one route hostname, or
 * undefined if they do not intersect. The result is the more specific of the two.
 */
export function intersect(listener: string | undefined, route: string): string | undefined {
  const l = listener?.toLowerCase();
  const r = route.toLowerCase();
  if (l === undefined || l === "") return r;
  if (l === r) return r;
  if (isWildcard(l) && covers(l, r)) return r;
  if (isWildcard(r) && covers(r, l)) return l;
  return undefined;
}

/**
 * Effective hostnames of a route on a listener, most specific first. A route without hostnames
 * takes the listener's (or the catch-all "*" when the listener has none).
 */
export function effectiveHostnames(listener: string | undefined, routeHostnames: string[]): string[] {
  if (routeHostnames.length === 0) return [listener ? listener.toLowerCase() : CATCH_ALL];
  if (routeHostnames.length === 1) {
    const only = intersect(listener, routeHostnames[0]);
    return only === undefined ? [] : [only];
  }
  const out = new Set<string>();
  for (const h of routeHostnames) {
    const i = intersect(listener, h);
    if (i !== undefined) out.add(i);
  }
  return [...out].sort(compareSpecificity);
}

/**
 * Most specific first: exact names (alphabetical), then wildcards with more labels first
 * (then longer, then alphabetical), then the catch-all "*" (or an undefined listener hostname).
 */
export function compareSpecificity(a: string | undefined, b: string | undefined): number {
  const rank = (h: string | undefined) => (h === undefined || h === CATCH_ALL ? 2 : isWildcard(h) ? 1 : 0);
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra - rb;
  if (a === undefined || b === undefined) return 0;
  if (ra === 1) {
    const da = a.split(".").length;
    const db = b.split(".").length;
    if (da !== db) return db - da;
    if (a.length !== b.length) return b.length - a.length;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}
