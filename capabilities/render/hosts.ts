/**
 * Host dispatch for one port: "most specific listener, then its virtual hosts matching the host,
 * most specific first" as HAProxy map lookups (exact host, then wildcard suffixes longest first)
 * that yield the first vhost id; the request falls through to less specific vhosts of the same
 * listener through a `next` map (HTTPRoute hostname precedence across routes).
 *
 * Every listener or vhost hostname is a pattern. For a request host h, the first hit in the order
 * "exact h, then the longest wildcard suffix of h that is a key" is the most specific pattern P
 * matching h. Every other pattern matching h is a generalisation of P, so the listener and the
 * vhost chain for h depend only on P and are precomputed per key; and since the patterns matching
 * one host are totally ordered, the vhost after V in any chain is the same: `next(V)`. Hosts
 * matching no pattern go to the hostname-less listener's catch-all vhost, if any.
 */
import type { ListenerIR, PortIR, VirtualHostIR } from "../engine/ir";

/** A vhost numbered for the frontend (ids start at 1; 0 = no vhost: 404). */
export interface NumberedVhost {
  id: number;
  listener: ListenerIR;
  hostname: string;
  vhost: VirtualHostIR;
}

export interface HostDispatch {
  /** exact host → first vhost id (0 = matched a listener without a matching vhost) */
  exact: [string, number][];
  /** `.suffix` (wildcard `*.suffix`) → first vhost id */
  wildcard: [string, number][];
  /** Label counts of the wildcard suffixes, longest first: one lookup per count. */
  wildcardDepths: number[];
  /** vhost id for hosts that match no pattern, if any. */
  fallback?: number;
  /** vhost id → the next less specific vhost of its listener matching the same hosts. */
  next: [number, number][];
  /** vhost id → its whole chain `:<id>:<next>:...:`, for gating complex rules. */
  chains: [number, string][];
  /** Longest chain: how many vhost levels a request may try. */
  maxChain: number;
  vhosts: NumberedVhost[];
}

const isWildcard = (h: string) => h.startsWith("*.");
const labels = (h: string) => h.split(".").length;

/** A hostname pattern and every pattern that matches all its hosts, most specific first. */
export function generalisations(p: string): string[] {
  if (p === "*") return ["*"];
  const parts = (isWildcard(p) ? p.slice(2) : p).split(".");
  const out = [p];
  for (let i = 1; i < parts.length; i++) out.push(`*.${parts.slice(i).join(".")}`);
  if (isWildcard(p)) out[0] = p; // `*.a.b` itself, then `*.b`
  return [...new Set(out), "*"];
}

export function hostDispatch(port: PortIR): HostDispatch {
  const vhosts: NumberedVhost[] = [];
  let id = 1;
  for (const listener of port.listeners) {
    for (const vh of listener.virtualHosts)
      vhosts.push({ id: id++, listener, hostname: vh.hostname.toLowerCase(), vhost: vh });
  }
  const listenerByHost = new Map<string, ListenerIR>();
  for (const l of port.listeners) {
    const key = l.hostname?.toLowerCase() ?? "*"; // requests' Host is lower-cased
    if (!listenerByHost.has(key)) listenerByHost.set(key, l);
  }
  const vhostByKey = new Map<string, NumberedVhost>(); // `<listener id>\n<hostname>`
  for (const v of vhosts) {
    const key = `${v.listener.id}\n${v.hostname}`;
    if (!vhostByKey.has(key)) vhostByKey.set(key, v);
  }
  const chainOf = (listener: ListenerIR, p: string): NumberedVhost[] =>
    generalisations(p)
      .map((g) => vhostByKey.get(`${listener.id}\n${g}`))
      .filter((v): v is NumberedVhost => v !== undefined);
  const resolve = (p: string): number => {
    const listener = generalisations(p)
      .map((g) => listenerByHost.get(g))
      .find((l) => l !== undefined);
    return listener ? (chainOf(listener, p)[0]?.id ?? 0) : 0;
  };

  const patterns = new Set<string>();
  for (const l of port.listeners) if (l.hostname !== undefined) patterns.add(l.hostname.toLowerCase());
  for (const v of vhosts) if (v.hostname !== "*") patterns.add(v.hostname);
  const sorted = [...patterns].sort();
  const exact = sorted.filter((p) => !isWildcard(p)).map((p): [string, number] => [p, resolve(p)]);
  const wildcard = sorted.filter(isWildcard).map((p): [string, number] => [p.slice(1), resolve(p)]);
  const wildcardDepths = [...new Set(wildcard.map(([s]) => labels(s.slice(1))))].sort((a, b) => b - a);

  const next: [number, number][] = [];
  const chains: [number, string][] = [];
  let maxChain = 0;
  for (const v of vhosts) {
    const chain = chainOf(v.listener, v.hostname);
    maxChain = Math.max(maxChain, chain.length);
    if (chain.length > 1) next.push([v.id, chain[1].id]);
    chains.push([v.id, `:${chain.map((c) => c.id).join(":")}:`]);
  }
  const anyListener = listenerByHost.get("*");
  const fallback = anyListener ? vhostByKey.get(`${anyListener.id}\n*`)?.id : undefined;
  return { exact, wildcard, wildcardDepths, fallback, next, chains, maxChain, vhosts };
}

/**
 * Whether the port's path maps can be keyed by the request's Host itself instead of a vhost id:
 * only exact hostnames, one vhost level, no catch-all, and the maps yield targets directly. That
 * saves the Host → vhost lookup on every request (a tree lookup that costs ~7 % at 1,000 hosts).
 */
export const keyableByHost = (d: HostDispatch, direct: boolean): boolean =>
  direct && d.exact.length > 0 && d.wildcardDepths.length === 0 && d.maxChain <= 1 && d.fallback === undefined;

/**
 * `<vhost id>:<path>` map entries re-keyed as `<host>:<path>`, once per exact host that resolves
 * to that vhost (a listener hostname and a route hostname may both lead to one vhost). Hosts
 * resolving to no vhost (0) get no entries: no match, 404.
 */
export function keyByHost<V>(d: HostDispatch, entries: [string, V][]): [string, V][] {
  const byVhost = new Map<string, [string, V][]>();
  for (const [key, value] of entries) {
    const i = key.indexOf(":");
    const vh = key.slice(0, i);
    if (!byVhost.has(vh)) byVhost.set(vh, []);
    byVhost.get(vh)!.push([key.slice(i), value]);
  }
  const out: [string, V][] = [];
  for (const [host, vh] of d.exact)
    for (const [rest, value] of byVhost.get(String(vh)) ?? []) out.push([`${host}${rest}`, value]);
  return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}
