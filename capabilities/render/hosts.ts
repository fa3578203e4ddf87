/**
 * Host dispatch for one port: turns "most specific listener, then its virtual hosts matching the
 * host, most specific first" into HAProxy map lookups (exact host, then wildcard suffixes longest
 * first). The result is a vhost chain `:5:3:1:`: the request tries the rules of vhost 5, then
 * falls through to 3, then 1 (HTTPRoute hostname precedence across routes).
 *
 * Every listener or vhost hostname is a pattern. For a request host h, the first hit in the order
 * "exact h, then the longest wildcard suffix of h that is a key" is the most specific pattern P
 * matching h. Every other pattern matching h is a generalisation of P, so the listener and the
 * vhost chain for h depend only on P and are precomputed per key. Hosts matching no pattern go to
 * the hostname-less listener's catch-all vhost, if any.
 */
import type { ListenerIR, PortIR } from "../engine/ir";

/** A vhost numbered for the frontend (ids start at 1). */
export interface NumberedVhost {
  id: number;
  listener: ListenerIR;
  hostname: string;
}

export interface HostDispatch {
  /** exact host → vhost chain (`:0:` = matched a listener without a matching vhost: 404) */
  exact: [string, string][];
  /** `.suffix` (wildcard `*.suffix`) → vhost chain */
  wildcard: [string, string][];
  /** Label counts of the wildcard suffixes, longest first: one lookup per count. */
  wildcardDepths: number[];
  /** vhost chain for hosts that match no pattern, if any. */
  fallback?: string;
  /** Longest chain: how many vhost levels a request may try. */
  maxChain: number;
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
  let maxChain = 0;
  const chainOf = (listener: ListenerIR | undefined, p: string): string => {
    const own = bySpecificity(
      vhosts.filter((v) => v.listener === listener),
      (v) => v.hostname,
    );
    const ids = own.filter((v) => covers(v.hostname, p)).map((v) => v.id);
    maxChain = Math.max(maxChain, ids.length);
    return `:${(ids.length ? ids : [0]).join(":")}:`;
  };
  const resolve = (p: string): string => chainOf(listeners.find((l) => covers(l.hostname, p)), p);

  const patterns = new Set<string>();
  for (const l of port.listeners) if (l.hostname !== undefined && l.hostname !== "*") patterns.add(l.hostname);
  for (const v of vhosts) if (v.hostname !== "*") patterns.add(v.hostname);
  const sorted = [...patterns].sort();
  const exact = sorted.filter((p) => !isWildcard(p)).map((p): [string, string] => [p, resolve(p)]);
  const wildcard = sorted.filter(isWildcard).map((p): [string, string] => [p.slice(1), resolve(p)]);
  const wildcardDepths = [...new Set(wildcard.map(([s]) => labels(s.slice(1))))].sort((a, b) => b - a);

  const anyListener = listeners.find((l) => l.hostname === undefined || l.hostname === "*");
  const hasCatchAll = vhosts.some((v) => v.listener === anyListener && v.hostname === "*");
  const fallback = anyListener && hasCatchAll ? chainOf(anyListener, "*") : undefined;
  return { exact, wildcard, wildcardDepths, fallback, maxChain, vhosts };
}
