/**
 * The engine's one output: the status every object should have, plus the data-plane IR.
 */
import type { GatewayIR } from "./ir";
import type { OwnershipIndexSpec } from "./graph/ownership-index";

export type StatusKind =
  | "GatewayClass"
  | "Gateway"
  | "ListenerSet"
  | "HTTPRoute"
  | "GRPCRoute"
  | "RouteOwnershipPolicy";

/** A Kubernetes condition as the engine computes it (no lastTransitionTime: the writer stamps it). */
export interface ConditionOut {
  type: string;
  status: "True" | "False" | "Unknown";
  reason: string;
  message: string;
  observedGeneration: number;
}

/**
 * The desired `.status` of one object.
 * For routes, `status.parents` holds ONLY the entries whose controllerName is ours, one per
 * parentRef that points at a parent we own; the status writer merges them with other
 * controllers' entries (never touching those) and drops our stale entries.
 */
export interface ObjectStatus {
  kind: StatusKind;
  namespace?: string; // undefined for cluster-scoped GatewayClass
  name: string;
  generation: number;
  status: Record<string, unknown>;
}

export interface TranslateResult {
  /** Sorted by kind, namespace, name. Objects not ours (other GatewayClass) are absent. */
  statuses: ObjectStatus[];
  /** One entry per Gateway we program, sorted by namespace/name. */
  ir: GatewayIR[];
  /**
   * Listeners whose RouteOwnershipPolicy refuses route writes at admission (`admission: Deny`),
   * for the API server's own check (graph/ownership-index.ts). Absent when there are none.
   */
  ownershipIndex?: OwnershipIndexSpec;
}
