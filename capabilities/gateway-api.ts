/**
 * crossway's one capability — a routing table only: which events feed the controller's index
 * (and through it the one reconcile loop), and which admission requests get warnings or the
 * Namespace label policy. All logic lives in capabilities/reconcilers and capabilities/policy.
 */
import { Capability, a } from "pepr";
import { GatewayClass, Gateway, GRPCRoute, HTTPRoute, ListenerSet, ReferenceGrant, RouteOwnershipPolicy } from "./crd";
import { LABEL_GATEWAY } from "./dataplane/conventions";
import {
  deleted,
  enforceNamespaceLabels,
  upserted,
  warnGateway,
  warnGRPCRoute,
  warnHTTPRoute,
  warnListenerSet,
  warnReferenceGrant,
} from "./reconcilers/runtime";

export const GatewayAPI = new Capability({
  name: "gateway-api",
  description: "Gateway API v1.6.1: attachment, status, data plane, apply-time warnings",
});

const { When } = GatewayAPI;

// Gateway API objects
When(GatewayClass).IsCreatedOrUpdated().Watch(upserted("GatewayClass"));
When(GatewayClass).IsDeleted().Watch(deleted("GatewayClass"));
When(Gateway).IsCreatedOrUpdated().Validate(warnGateway).Watch(upserted("Gateway"));
When(Gateway).IsDeleted().Watch(deleted("Gateway"));
When(ListenerSet).IsCreatedOrUpdated().Validate(warnListenerSet).Watch(upserted("ListenerSet"));
When(ListenerSet).IsDeleted().Watch(deleted("ListenerSet"));
When(HTTPRoute).IsCreatedOrUpdated().Validate(warnHTTPRoute).Watch(upserted("HTTPRoute"));
When(HTTPRoute).IsDeleted().Watch(deleted("HTTPRoute"));
When(GRPCRoute).IsCreatedOrUpdated().Validate(warnGRPCRoute).Watch(upserted("GRPCRoute"));
When(GRPCRoute).IsDeleted().Watch(deleted("GRPCRoute"));
When(ReferenceGrant).IsCreatedOrUpdated().Validate(warnReferenceGrant).Watch(upserted("ReferenceGrant"));
When(ReferenceGrant).IsDeleted().Watch(deleted("ReferenceGrant"));

// crossway's own policy: who may claim which hostnames and paths on a shared Gateway
When(RouteOwnershipPolicy).IsCreatedOrUpdated().Watch(upserted("RouteOwnershipPolicy"));
When(RouteOwnershipPolicy).IsDeleted().Watch(deleted("RouteOwnershipPolicy"));

// Inputs to attachment and backend resolution
When(a.Namespace).IsCreatedOrUpdated().Validate(enforceNamespaceLabels).Watch(upserted("Namespace"));
When(a.Namespace).IsDeleted().Watch(deleted("Namespace"));
When(a.Service).IsCreatedOrUpdated().Watch(upserted("Service"));
When(a.Service).IsDeleted().Watch(deleted("Service"));
When(a.EndpointSlice).IsCreatedOrUpdated().Watch(upserted("EndpointSlice"));
When(a.EndpointSlice).IsDeleted().Watch(deleted("EndpointSlice"));
// No Secret binding: a Secret watch would list every Secret in the cluster. The controller reads
// the ones it needs by name (reconcilers/secrets.ts).

// Our data-plane pods report the config generation they serve
When(a.Pod).IsCreatedOrUpdated().WithLabel(LABEL_GATEWAY).Watch(upserted("Pod"));
When(a.Pod).IsDeleted().WithLabel(LABEL_GATEWAY).Watch(deleted("Pod"));
