/**
 * The engine's one input: a plain, YAML-serialisable snapshot of everything it reads.
 * The Pepr shell builds it from its watch index; tests build it from YAML fixtures.
 */
import type { V1EndpointSlice, V1Namespace, V1Secret, V1Service } from "@kubernetes/client-node";
import type { DataplaneValidator } from "./features";
import type { GatewayClass, Gateway, GRPCRoute, HTTPRoute, ListenerSet, ReferenceGrant } from "../crd";
import type { RouteOwnershipPolicy } from "../crd/routeownershippolicy";

export interface ClusterSnapshot {
  gatewayClasses: GatewayClass[];
  gateways: Gateway[];
  listenerSets: ListenerSet[];
  httpRoutes: HTTPRoute[];
  grpcRoutes: GRPCRoute[];
  referenceGrants: ReferenceGrant[];
  namespaces: V1Namespace[];
  services: V1Service[];
  endpointSlices: V1EndpointSlice[];
  /** Only Secrets referenced by listeners need to be present (kubernetes.io/tls). */
  secrets: V1Secret[];
  /** crossway.dev RouteOwnershipPolicies (optional: additive). */
  routeOwnershipPolicies?: RouteOwnershipPolicy[];
}

export interface TranslateOptions {
  /** GatewayClass spec.controllerName we own, e.g. "crossway.dev/gateway-controller". */
  controllerName: string;
  /**
   * Data-plane specific checks (header names, regex dialect, path characters, reserved ports).
   * Optional (additive): defaults to `defaultValidator()` from ./features, permissive but safe.
   */
  validator?: DataplaneValidator;
  /**
   * Routes the data plane refused (key `<Kind>/<namespace>/<name>` → why): left out of the IR and
   * Accepted=False/UnsupportedValue with that reason, so one route's problem stays its own. The
   * shell fills it from its `haproxy -c` check and the config size budget (additive).
   */
  excluded?: Record<string, string>;
}

/** The key of a route in TranslateOptions.excluded. */
export const routeKey = (kind: string, namespace: string, name: string): string => `${kind}/${namespace}/${name}`;
