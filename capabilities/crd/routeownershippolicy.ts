/**
 * crossway's own policy kind (crds/routeownershippolicies.crossway.dev.yaml): which namespaces
 * may claim which hostnames and path prefixes on a shared Gateway. Hand-written, since it is not
 * a Gateway API kind; registered with kubernetes-fluent-client with its explicit plural.
 */
import { GenericKind, RegisterKind } from "kubernetes-fluent-client";

export interface OwnershipTargetRef {
  group: string;
  kind: string;
  name: string;
  sectionName?: string;
}

export interface OwnershipClaim {
  namespaces: {
    names?: string[];
    selector?: {
      matchLabels?: Record<string, string>;
      matchExpressions?: { key: string; operator: string; values?: string[] }[];
    };
  };
  /** Exact or `*.` wildcard hostnames; absent = every hostname. */
  hostnames?: string[];
  /** Element-wise path prefixes; absent = every path. */
  pathPrefixes?: string[];
}

export class RouteOwnershipPolicy extends GenericKind {
  declare apiVersion?: string;
  declare kind?: string;
  spec?: {
    targetRefs: OwnershipTargetRef[];
    mode?: "Enforce" | "Warn";
    unclaimed?: "Allow" | "Deny";
    admission?: "Warn" | "Deny";
    claims: OwnershipClaim[];
  };
  status?: {
    ancestors?: {
      ancestorRef: Record<string, unknown>;
      controllerName: string;
      conditions: Record<string, unknown>[];
    }[];
  };
}

export const OWNERSHIP_GROUP = "crossway.dev";

RegisterKind(RouteOwnershipPolicy, {
  group: OWNERSHIP_GROUP,
  version: "v1alpha1",
  kind: "RouteOwnershipPolicy",
  plural: "routeownershippolicies",
});
