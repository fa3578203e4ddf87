/**
 * RouteOwnershipPolicy (crossway.dev/v1alpha1): which namespaces may claim which hostnames and
 * path prefixes on a Gateway's listeners. Applied after routes attach, per listener:
 *
 * - Each route match is checked per effective hostname: the most specific claims covering it
 *   (hostname, then path prefix length) decide. A match entirely inside a claim of other
 *   namespaces, and not of its own, is not served there (Enforce) or reported (Warn). A match no
 *   claim covers follows `unclaimed` (Allow or Deny). A RegularExpression path cannot be checked
 *   against prefixes: on a hostname with path claims only their owners may use one.
 * - In Enforce mode each claim also puts a guard on the listener: a rule for its prefixes on its
 *   hostnames that answers 404 and loses every tie, so requests for owned hostnames and paths
 *   that the owners do not route never fall to another namespace's broader route.
 * - One policy per listener: when several target the same listener, the oldest wins there and
 *   the others say Conflicted.
 */
import type { MatchIR, PathMatchIR } from "../ir";
import type { OwnershipClaim, RouteOwnershipPolicy } from "../../crd/routeownershippolicy";
import { describe, ownership as O, type Condition } from "../conditions";
import { GATEWAY_GROUP, asArray, cmp, createdOf, generationOf, key, nameOf, nsOf, objects } from "../meta";
import { selectorMatches } from "./selector";
import { intersect } from "./hostname";
import type { Lookup } from "./lookup";
import type { GatewayNode, ListenerNode, RouteNode } from "./types";

export interface ClaimNode {
  index: number;
  owns: (namespace: string) => boolean;
  /** For messages: `namespace "careers"`, `namespaces matching team=careers`. */
  ownersDesc: string;
  /** Lower-cased; empty = every hostname. */
  hostnames: string[];
  /** Trimmed element-wise prefixes (`/careers`, `` for `/`); empty = every path. */
  prefixes: string[];
  /** As written (for the admission index, which evaluates it against live namespace labels). */
  namespaces: OwnershipClaim["namespaces"];
}

/** The one policy in force on a listener. */
export interface ListenerOwnership {
  policy: PolicyNode;
  enforce: boolean;
  denyUnclaimed: boolean;
  /** `admission: Deny` (with Enforce): route writes it would cut back are refused at admission. */
  admissionDeny: boolean;
  claims: ClaimNode[];
}

export interface AncestorStatus {
  ancestorRef: Record<string, unknown>;
  conditions: Condition[];
}

export interface PolicyNode {
  namespace: string;
  name: string;
  generation: number;
  created: string;
  desc: string;
  ancestors: AncestorStatus[];
}

/** A guard rule for the IR: requests for an owned hostname/prefix nobody routes answer 404. */
export interface Guard {
  policy: PolicyNode;
  claim: number;
  /** Whether a namespace owns the claim (an owner's broader rule is copied, not shadowed). */
  owns: (namespace: string) => boolean;
  hostname: string;
  prefix: string;
}

const trim = (p: string) => p.replace(/\/+$/, "");

/** Is every host of `h` (exact, `*.x` or `*`) inside pattern `p`? */
export function hostWithin(h: string, p: string): boolean {
  if (h === p) return true;
  if (!p.startsWith("*.") || h === "*") return false;
  const suffix = p.slice(1); // `.example.com`
  return h.startsWith("*.") ? h.slice(1).endsWith(suffix) : h.endsWith(suffix);
}

/** Is every path the match can take inside element-wise prefix `prefix`? undefined = cannot tell (regex). */
export function pathWithin(path: PathMatchIR | undefined, prefix: string): boolean | undefined {
  if (prefix === "") return true;
  if (!path) return false;
  if (path.type === "RegularExpression") return undefined;
  const v = path.type === "Exact" ? path.value : trim(path.value);
  return v === prefix || v.startsWith(`${prefix}/`);
}

function claimNode(c: OwnershipClaim, index: number, lookup: Lookup): ClaimNode {
  const names = new Set(asArray(c?.namespaces?.names).map(String));
  const selector = c?.namespaces?.selector;
  const owns = selector
    ? (ns: string) => selectorMatches(selector, lookup.namespaceLabels.get(ns) ?? {})
    : (ns: string) => names.has(ns);
  const ownersDesc = selector
    ? `namespaces matching ${JSON.stringify(selector.matchLabels ?? {})}${selector.matchExpressions?.length ? " (and expressions)" : ""}`
    : `${names.size === 1 ? "namespace" : "namespaces"} ${[...names].map((n) => `"${n}"`).join(", ")}`;
  return {
    index,
    owns,
    ownersDesc,
    hostnames: asArray(c?.hostnames).map((h) => String(h).toLowerCase()),
    prefixes: asArray(c?.pathPrefixes).map((p) => trim(String(p))),
    namespaces: c?.namespaces ?? {},
  };
}

/** How specific a claimed hostname pattern is: exact beats any wildcard, deeper wildcards beat shallower. */
export const patternRank = (p: string): number => (p.startsWith("*.") ? 1 + p.split(".").length - 1 : 1000);

/**
 * Specificity of a claim for a hostname: its most specific pattern covering the host (a claim
 * without hostnames covers every host, least specifically), then the prefix length.
 */
function specificity(claim: ClaimNode, host: string, prefix: string): number {
  const hostRank = Math.max(0, ...claim.hostnames.filter((p) => hostWithin(host, p)).map(patternRank));
  return hostRank * 10_000 + (prefix === "" && claim.prefixes.length === 0 ? 0 : prefix.length + 1);
}

/** The most specific claims covering every request of this host and path (none: unclaimed). */
function mostSpecific(claims: ClaimNode[], host: string, path: PathMatchIR | undefined): ClaimNode[] {
  let best = -1;
  let owners: ClaimNode[] = [];
  for (const claim of claims) {
    if (claim.hostnames.length > 0 && !claim.hostnames.some((p) => hostWithin(host, p))) continue;
    for (const prefix of claim.prefixes.length ? claim.prefixes : [""]) {
      if (pathWithin(path, prefix) !== true) continue;
      const s = specificity(claim, host, claim.prefixes.length ? prefix : "");
      if (s > best) [best, owners] = [s, [claim]];
      else if (s === best && !owners.includes(claim)) owners.push(claim);
    }
  }
  return owners;
}

type Verdict = { allowed: true } | { allowed: false; problem: string };

function judge(
  o: ListenerOwnership,
  l: ListenerNode,
  host: string,
  match: MatchIR,
  namespace: string,
  where: string,
): Verdict {
  const owners = mostSpecific(o.claims, host, match.path);
  let contested = o.claims.filter(
    (c) =>
      (c.hostnames.length === 0 || c.hostnames.some((p) => hostWithin(host, p))) &&
      c.prefixes.some((prefix) => pathWithin(match.path, prefix) === undefined),
  );
  const path = match.path ? `${match.path.value}` : "/";
  const policy = o.policy.desc;
  contested = contested.filter((c) => c.prefixes.length > 0);
  if (contested.length > 0 && !contested.every((c) => c.owns(namespace)))
    return {
      allowed: false,
      problem: O.regexContested(
        where,
        host,
        l.desc,
        contested
          .filter((c) => !c.owns(namespace))
          .map((c) => c.ownersDesc)
          .join(" and "),
        policy,
      ),
    };
  if (owners.length === 0)
    return o.denyUnclaimed
      ? { allowed: false, problem: O.unclaimed(where, host, path, l.desc, policy) }
      : { allowed: true };
  if (owners.some((c) => c.owns(namespace))) return { allowed: true };
  return {
    allowed: false,
    problem: O.claim(where, host, path, l.desc, owners.map((c) => c.ownersDesc).join(" and "), policy),
  };
}

/** Key of a denied match in RouteNode.denied: listener, effective hostname, rule and match. */
export const deniedKey = (listenerId: string, host: string, ruleIndex: number, matchIndex: number) =>
  `${listenerId}\n${host}\n${ruleIndex}/${matchIndex}`;

/**
 * Resolve policies against our Gateways, then judge every attached route's matches. Sets
 * `l.ownership` and `l.guards` on listeners and `denied`/`ownership` on routes and their parents.
 */
export function applyOwnership(
  policies: RouteOwnershipPolicy[],
  gateways: Map<string, GatewayNode>,
  routes: RouteNode[],
  lookup: Lookup,
): PolicyNode[] {
  const nodes: PolicyNode[] = [];
  let inForce = false;
  const sorted = [...policies].sort(
    (a, b) => cmp(createdOf(a), createdOf(b)) || cmp(nsOf(a), nsOf(b)) || cmp(nameOf(a), nameOf(b)),
  );
  for (const p of sorted) {
    const node: PolicyNode = {
      namespace: nsOf(p),
      name: nameOf(p),
      generation: generationOf(p),
      created: createdOf(p),
      desc: `RouteOwnershipPolicy ${nsOf(p)}/${nameOf(p)}`,
      ancestors: [],
    };
    const spec = p.spec;
    const claims = objects(spec?.claims).map((c, i) => claimNode(c, i, lookup));
    for (const ref of objects(spec?.targetRefs)) {
      const ancestorRef: Record<string, unknown> = {
        group: GATEWAY_GROUP,
        kind: "Gateway",
        namespace: node.namespace,
        name: ref.name,
      };
      if (ref.sectionName) ancestorRef.sectionName = ref.sectionName;
      const target = `Gateway ${node.namespace}/${ref.name}${ref.sectionName ? ` listener "${ref.sectionName}"` : ""}`;
      const gw = gateways.get(key(node.namespace, String(ref.name ?? "")));
      if ((ref.group ?? GATEWAY_GROUP) !== GATEWAY_GROUP || (ref.kind ?? "Gateway") !== "Gateway" || !gw) {
        node.ancestors.push({
          ancestorRef,
          conditions: [O.targetNotFound(node.desc, target, "is not a Gateway of ours in this namespace")],
        });
        continue;
      }
      const listeners = [...gw.listeners, ...gw.listenerSets.flatMap((ls) => ls.listeners)].filter(
        (l) => !ref.sectionName || (l.ownerKind === "Gateway" && l.name === ref.sectionName),
      );
      if (listeners.length === 0) {
        node.ancestors.push({ ancestorRef, conditions: [O.targetNotFound(node.desc, target, "has no such listener")] });
        continue;
      }
      const taken = listeners.filter((l) => l.ownership && l.ownership.policy !== node);
      const free = listeners.filter((l) => !l.ownership || l.ownership.policy === node);
      if (free.length > 0) inForce = true;
      for (const l of free)
        l.ownership = {
          policy: node,
          enforce: (spec?.mode ?? "Enforce") === "Enforce",
          denyUnclaimed: spec?.unclaimed === "Deny",
          admissionDeny: (spec?.mode ?? "Enforce") === "Enforce" && spec?.admission === "Deny",
          claims,
        };
      const conditions: Condition[] = [];
      const conflict =
        taken.length > 0
          ? O.conflicted(
              node.desc,
              gw.desc,
              taken.map((l) => l.name),
              taken[0].ownership!.policy.desc,
            )
          : undefined;
      // In force on some listeners: Accepted, saying also where an older policy governs instead.
      if (free.length === 0) conditions.push(conflict!);
      else
        conditions.push(
          O.policyAccepted(
            node.desc,
            gw.desc,
            free.map((l) => l.name),
            conflict?.message,
          ),
        );
      node.ancestors.push({ ancestorRef, conditions });
    }
    nodes.push(node);
  }
  // Judging walks every match of every route: only when some listener has a policy in force.
  if (inForce) for (const r of routes) judgeRoute(r);
  return nodes;
}

function judgeRoute(r: RouteNode): void {
  for (const parent of r.parents) {
    const enforced: string[] = [];
    const warned: string[] = [];
    let total = 0;
    let denied = 0;
    for (const l of parent.listeners) {
      const o = l.ownership;
      const attachment = l.attached.get(`${r.kind}/${r.namespace}/${r.name}`);
      if (!attachment) continue;
      for (const rule of r.rules) {
        if (rule.invalid) continue;
        rule.matches.forEach((m, j) => {
          for (const host of attachment.hostnames) {
            total++;
            if (!o) continue;
            const v = judge(o, l, host, m, r.namespace, describe.match(describe.rule(rule.index, rule.name), j));
            if (v.allowed) continue;
            if (o.enforce) {
              (r.denied ??= new Set()).add(deniedKey(l.id, host, rule.index, j));
              denied++;
              enforced.push(v.problem);
            } else warned.push(v.problem);
          }
        });
      }
    }
    if (enforced.length > 0 && parent.accepted.status === "True") {
      if (denied >= total) parent.accepted = O.none(r.desc, enforced);
      else parent.ownership = O.partial(r.desc, enforced);
    }
    if (warned.length > 0 && parent.accepted.status === "True") parent.ownershipWarning = O.warn(r.desc, warned);
  }
}

/**
 * Guard rules of the listener's policy (Enforce only), for the vhost hostnames the listener will
 * have: each claim's prefixes (or `/`) on each of its hostnames the listener takes, or on every
 * vhost when the claim names no hostnames.
 */
export function guardsFor(l: ListenerNode, vhostNames: string[]): Guard[] {
  const o = l.ownership;
  if (!o?.enforce) return [];
  const out: Guard[] = [];
  const listenerHost = l.hostname?.toLowerCase();
  for (const claim of o.claims) {
    const prefixes = claim.prefixes.length ? claim.prefixes : [""];
    const hosts =
      claim.hostnames.length === 0
        ? vhostNames
        : [
            ...new Set([
              // the claimed hostnames the listener takes (a vhost is made for them if none exists) …
              ...claim.hostnames.map((h) => intersect(listenerHost, h)).filter((h): h is string => h !== undefined),
              // … and every more specific vhost inside them, which requests would reach first
              ...vhostNames.filter((v) => claim.hostnames.some((p) => hostWithin(v, p))),
            ]),
          ];
    for (const hostname of hosts)
      for (const prefix of prefixes)
        out.push({ policy: o.policy, claim: claim.index, owns: claim.owns, hostname, prefix });
  }
  // One guard per vhost and prefix, owned by the most specific claims covering it (a broader
  // claim's owners must not be served where a more specific claim gives the paths to others).
  const byKey = new Map<string, Guard>();
  for (const g of out) {
    const k = `${g.hostname}\n${g.prefix}`;
    if (byKey.has(k)) continue;
    const owners = mostSpecific(o.claims, g.hostname, { type: "PathPrefix", value: g.prefix || "/" });
    byKey.set(k, { ...g, owns: (ns) => owners.some((c) => c.owns(ns)) });
  }
  return [...byKey.values()];
}
