/**
 * The resolved graph: every object we own, with `valid`-style flags and its conditions.
 * Built once per translate() by graph/index.ts; read (never mutated) by status/ and ir/.
 */
import type { GatewayClass, Gateway, ListenerSet } from "../../crd";
import type { Condition } from "../conditions";
import type { BackendIR, FilterIR, ListenerTLSIR, MatchIR, RetryIR } from "../ir";
import type { ListenerOwnership } from "./ownership";

export interface GroupKind {
  group: string;
  kind: string;
}

export interface GatewayClassNode {
  obj: GatewayClass;
  name: string;
  generation: number;
  accepted: boolean;
  conditions: Condition[];
}

export type OwnerKind = "Gateway" | "ListenerSet";

/** How a listener admits route namespaces (allowedRoutes.namespaces). */
export interface NamespacePolicy {
  from: string; // "Same" | "All" | "Selector" | anything else (admits nothing)
  /** The listener owner's namespace (Gateway's or ListenerSet's). */
  ownerNs: string;
  selector?: LabelSelector;
  /** formatSelector(selector), memoised for refusal messages. */
  selectorText?: string;
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

export interface ListenerNode {
  /** `<ownerNs>/<ownerName>/<listener>` */
  id: string;
  name: string;
  port: number;
  protocol: string;
  hostname?: string;
  ownerKind: OwnerKind;
  ownerNs: string;
  ownerName: string;
  /** e.g. `listener "http" of Gateway infra-ns/shared` (for messages). */
  desc: string;
  gateway: GatewayNode;
  /** Supported protocol and mode: routes may attach (and count in attachedRoutes). */
  attachable: boolean;
  supportedKinds: GroupKind[];
  namespaces: NamespacePolicy;
  tls?: ListenerTLSIR;
  accepted: Condition;
  conflicted: Condition;
  resolvedRefs: Condition;
  /** Keys `<kind>/<ns>/<name>` of routes accepted on this listener. */
  attached: Map<string, Attachment>;
  /** The RouteOwnershipPolicy in force on this listener, if any (ownership.ts). */
  ownership?: ListenerOwnership;
}

export interface Attachment {
  route: RouteNode;
  /** Effective hostnames (route ∩ listener), "*" = any. */
  hostnames: string[];
}

export interface GatewayNode {
  obj: Gateway;
  namespace: string;
  name: string;
  generation: number;
  desc: string;
  gatewayClass: GatewayClassNode;
  accepted: boolean;
  conditions: Condition[];
  listeners: ListenerNode[];
  /** ListenerSets that reference this Gateway and are ours, in merge precedence order. */
  listenerSets: ListenerSetNode[];
}

export interface ListenerSetNode {
  obj: ListenerSet;
  namespace: string;
  name: string;
  generation: number;
  desc: string;
  gateway: GatewayNode;
  /** Admitted by the Gateway's allowedListeners. */
  allowed: boolean;
  accepted: boolean;
  conditions: Condition[];
  listeners: ListenerNode[];
}

export type RouteKind = "HTTPRoute" | "GRPCRoute";

export interface RuleNode {
  index: number;
  /** Its matches cannot be served as written: dropped from the IR (the route is then PartiallyInvalid). */
  invalid?: boolean;
  /**
   * Its matches are fine but its filters/timeouts/retry cannot be applied faithfully: it stays in
   * the IR with no filters and no backends, so its requests answer 500 (fail closed).
   */
  failClosed?: boolean;
  name?: string;
  matches: MatchIR[];
  filters: FilterIR[];
  backends: BackendIR[];
  timeouts?: { requestMs?: number; backendRequestMs?: number };
  retry?: RetryIR;
}

export interface ParentStatus {
  /** The parentRef exactly as the route spec wrote it. */
  parentRef: Record<string, unknown>;
  /** e.g. `Gateway infra/shared` (for messages). */
  parentDesc: string;
  accepted: Condition;
  /** Listeners this parentRef attached the route to (empty when not accepted). */
  listeners: ListenerNode[];
  /** Some matches are claimed by other namespaces (Enforce): PartiallyInvalid. */
  ownership?: Condition;
  /** Matches a Warn-mode policy would cut back: crossway.dev/OwnershipConflict. */
  ownershipWarning?: Condition;
}

export interface RouteNode {
  kind: RouteKind;
  namespace: string;
  name: string;
  generation: number;
  created: string;
  desc: string;
  hostnames: string[];
  rules: RuleNode[];
  /** UnsupportedValue findings (each names its rule). */
  problems: string[];
  /** Every rule is invalid: the route is accepted nowhere (Accepted=False/UnsupportedValue). */
  allRulesInvalid: boolean;
  /**
   * allRulesInvalid, but some rules fail closed: the route still attaches where it may so that
   * those rules answer 500 for their matches, while its Accepted condition stays False.
   */
  holdsMatches: boolean;
  /** Some, not all, rules are invalid: PartiallyInvalid=True, the valid rules still serve. */
  partiallyInvalid?: Condition;
  resolvedRefs: Condition;
  parents: ParentStatus[];
  /** Matches a RouteOwnershipPolicy refuses (ownership.ts deniedKey): not served there. */
  denied?: Set<string>;
}

/**
 * Can the listener be programmed? Accepted, not conflicted, and its references resolve — except
 * that InvalidRouteKinds with at least one valid kind still serves the valid kinds (spec: "the
 * implementation MUST reference the valid Route kinds that have been specified").
 */
export const isListenerValid = (l: ListenerNode): boolean =>
  l.accepted.status === "True" &&
  l.conflicted.status === "False" &&
  (l.resolvedRefs.status === "True" || (l.resolvedRefs.reason === "InvalidRouteKinds" && l.supportedKinds.length > 0));
