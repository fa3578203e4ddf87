/**
 * The ownership admission index: what the API server needs to refuse, with no crossway module
 * running, the route writes a RouteOwnershipPolicy with `admission: Deny` would cut back.
 *
 * The controller writes it as the cluster-scoped RouteOwnershipIndex `crossway`, the parameter of
 * the ValidatingAdmissionPolicy `crossway-route-ownership` (policy/ownership-vap.ts). It holds the
 * policies as this engine resolved them (the one in force per listener, oldest first), flattened
 * for CEL: per listener, how routes attach (parent, port, hostname, allowed kinds and namespaces)
 * and per claim its (hostname pattern, prefix) entries with their specificity. Namespace
 * selectors stay selectors: the API server evaluates them on the live namespace labels.
 */
import type { LabelSelector } from "./types";
import { patternRank } from "./ownership";
import type { GatewayNode } from "./types";
import { GATEWAY_GROUP } from "../meta";

export const OWNERSHIP_INDEX_NAME = "crossway";

export interface OwnershipIndexEntry {
  /** Claimed hostname pattern; "" = every hostname. */
  host: string;
  /** Element-wise prefix without trailing slash; "" = every path. */
  prefix: string;
  /** Specificity (graph/ownership.ts `specificity`): the highest covering entries decide. */
  rank: number;
}

export interface OwnershipIndexClaim {
  names: string[];
  /** Set when the claim selects namespaces by labels (then `names` is empty). */
  selector?: Required<LabelSelector>;
  ownersDesc: string;
  entries: OwnershipIndexEntry[];
}

export interface OwnershipIndexListener {
  parent: { group: string; kind: string; namespace: string; name: string };
  sectionName: string;
  port: number;
  /** "" = any hostname. */
  hostname: string;
  desc: string;
  kinds: string[];
  /** allowedRoutes.namespaces.from, with the listener owner's namespace and selector. */
  from: string;
  ownerNamespace: string;
  selector?: Required<LabelSelector>;
  policy: string;
  denyUnclaimed: boolean;
  claims: OwnershipIndexClaim[];
}

export interface OwnershipIndexSpec {
  listeners: OwnershipIndexListener[];
}

const selectorOf = (s: LabelSelector): Required<LabelSelector> => ({
  matchLabels: { ...(s.matchLabels ?? {}) },
  matchExpressions: (s.matchExpressions ?? []).map((e) => ({
    key: e.key,
    operator: e.operator,
    values: [...(e.values ?? [])],
  })),
});

/** The index for every listener whose policy in force says `admission: Deny`, in listener order. */
export function ownershipIndex(gateways: GatewayNode[]): OwnershipIndexSpec {
  const listeners: OwnershipIndexListener[] = [];
  for (const gw of gateways)
    for (const l of [...gw.listeners, ...gw.listenerSets.flatMap((ls) => ls.listeners)]) {
      const o = l.ownership;
      if (!o?.admissionDeny || !l.attachable) continue;
      listeners.push({
        parent: { group: GATEWAY_GROUP, kind: l.ownerKind, namespace: l.ownerNs, name: l.ownerName },
        sectionName: l.name,
        port: l.port,
        hostname: l.hostname?.toLowerCase() ?? "",
        desc: l.desc,
        kinds: l.supportedKinds.map((k) => k.kind),
        from: l.namespaces.from,
        ownerNamespace: l.namespaces.ownerNs,
        ...(l.namespaces.selector ? { selector: selectorOf(l.namespaces.selector) } : {}),
        policy: o.policy.desc,
        denyUnclaimed: o.denyUnclaimed,
        claims: o.claims.map((c) => ({
          names: c.namespaces?.selector ? [] : (c.namespaces?.names ?? []).map(String),
          ...(c.namespaces?.selector ? { selector: selectorOf(c.namespaces.selector) } : {}),
          ownersDesc: c.ownersDesc,
          entries: (c.hostnames.length ? c.hostnames : [""]).flatMap((host) =>
            (c.prefixes.length ? c.prefixes : [""]).map((prefix) => ({
              host,
              prefix,
              rank: (host === "" ? 0 : patternRank(host)) * 10_000 + (c.prefixes.length === 0 ? 0 : prefix.length + 1),
            })),
          ),
        })),
      });
    }
  return { listeners };
}
