/**
 * Host dispatch for one port: turns "most specific listener, then most specific virtual host
 * within it" into two HAProxy map lookups (exact host, then wildcard suffixes longest first).
 *
 * Every listener or vhost hostname is a pattern. For a request host h, the first hit in the order
 * "exact h, then the longest wildcard suffix of h that is a key" is the most specific pattern P
 * matching h. Every other pattern matching h is a generalisation of P, so the (listener, vhost)
 * pair for h depends only on P and can be precomputed per key. Hosts matching no pattern go to
 * the hostname-less listener's catch-all vhost, if any.
 */
import type { ListenerIR, PortIR } from "../engine/ir";

/** A vhost numbered for the frontend; id 0 means "no vhost": answer 404. */
export interface NumberedVhost {
  id: number;
  listener: ListenerIR;
  hostname: string;
}

export interface HostDispatch {
  /** exact host → vhost id (0 = matched a listener without a matching vhost) */
  exact: [string, number][];
  /** `.suffix` (wildcard `*.suffix`) → vhost id */
  wildcard: [string, number][];
  /** Label counts of the wildcard suffixes, longest first: one lookup per count. */
  wildcardDepths: number[];
  /** vhost id for hosts that match no pattern, if any. */
  fallback?: number;
  vhosts: NumberedVhost[];
}

const isWildcard = (h: string) => h.startsWith("*.");
const labels = (h: string) => h.split(".").length;

/** Specificity rank: exact first, then wildcards by length descending, then any (`*`/undefined). */
export function specificity(h: string | undefined): [number, number] {
  if (h === undefined || h === "*") return [2, 0];
  if (isWildcard(h)) return [1, -h.length];
  return [0, 0];
}

function bySpecificity<T>(items: T[], host: (t: T) => string | undefined): T[] {
  return items
    .map((item, i) => ({ item, i, s: specificity(host(item)) }))
    .sort((a, b) => a.s[0] - b.s[0] || a.s[1] - b.s[1] || a.i - b.i)
    .map((x) => x.item);
}

/** Does hostname pattern `general` match every host that pattern `p` matches? */
export function covers(general: string | undefined, p: string): boolean {
  if (general === undefined || general === "*") return true;
  if (!isWildcard(general)) return !isWildcard(p) && general === p;
  const suffix = general.slice(1); // ".example.com"
  const pDomain = isWildcard(p) ? p.slice(1) : p; // a wildcard p covers hosts ending in p.slice(1)
  return isWildcard(p) ? pDomain === suffix || pDomain.endsWith(suffix) : pDomain.endsWith(suffix);
}

export function hostDispatch(port: PortIR): HostDispatch {
  const vhosts: NumberedVhost[] = [];
  let next = 1;
  for (const listener of port.listeners) {
    for (const vh of listener.virtualHosts) vhosts.push({ id: next++, listener, hostname: vh.hostname });
  }
  const listeners = bySpecificity(port.listeners, (l) => l.hostname);
  const resolve = (p: string): number => {
    const listener = listeners.find((l) => covers(l.hostname, p));
    if (!listener) return 0;
    const own = bySpecificity(
      vhosts.filter((v) => v.listener === listener),
      (v) => v.hostname,
    );
    return own.find((v) => covers(v.hostname, p))?.id ?? 0;
  };

  const patterns = new Set<string>();
  for (const l of port.listeners) if (l.hostname !== undefined && l.hostname !== "*") patterns.add(l.hostname);
  for (const v of vhosts) if (v.hostname !== "*") patterns.add(v.hostname);
  const sorted = [...patterns].sort();
  const exact = sorted.filter((p) => !isWildcard(p)).map((p): [string, number] => [p, resolve(p)]);
  const wildcard = sorted.filter(isWildcard).map((p): [string, number] => [p.slice(1), resolve(p)]);
  const wildcardDepths = [...new Set(wildcard.map(([s]) => labels(s.slice(1))))].sort((a, b) => b - a);

  const anyListener = listeners.find((l) => l.hostname === undefined || l.hostname === "*");
  const fallback = anyListener ? vhosts.find((v) => v.listener === anyListener && v.hostname === "*")?.id : undefined;
  return { exact, wildcard, wildcardDepths, fallback, vhosts };
}
