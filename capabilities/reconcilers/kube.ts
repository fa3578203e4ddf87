/**
 * The one boundary between the controller and the API server. Everything the reconcilers do to
 * the cluster goes through `KubeClient`; tests substitute a recording fake for it.
 *
 * kubernetes-fluent-client does reads, deletes and `/status` merge patches; its server-side apply
 * hard-codes the field manager "pepr", so apply goes through @kubernetes/client-node (which kfc
 * itself uses) with our field manager.
 */
import { K8s, kind, type GenericClass, type KubernetesObject } from "kubernetes-fluent-client";
import { CustomObjectsApi, KubeConfig, KubernetesObjectApi, PatchStrategy } from "@kubernetes/client-node";
import { GatewayClass, Gateway, GRPCRoute, HTTPRoute, ListenerSet, ReferenceGrant, RouteOwnershipPolicy } from "../crd";
import { FIELD_MANAGER, LABEL_GATEWAY } from "../dataplane/conventions";
import type { StatusKind } from "../engine/result";
import type { EventSink } from "./events";
import type { IndexKind, ListedKind } from "./index";
import { errorStatus } from "./log";

export interface ObjectName {
  namespace?: string;
  name: string;
}

/** Events (events.k8s.io/v1, events.ts) go through the same boundary. */
export interface KubeClient extends EventSink {
  /** Merge-patch `/status`; resolves with the updated object, or undefined if it is gone. */
  patchStatus(
    kind: StatusKind,
    ref: ObjectName,
    status: Record<string, unknown>,
  ): Promise<KubernetesObject | undefined>;
  /**
   * Replace a route's whole `/status` only if the route is still at `resourceVersion` (JSON patch
   * with a test op): other controllers write `status.parents` too, so a stale view must not win.
   * Resolves undefined if the route is gone; a conflict rejects (the loop retries).
   */
  replaceRouteStatus(
    kind: "HTTPRoute" | "GRPCRoute",
    ref: ObjectName & { resourceVersion: string },
    status: Record<string, unknown>,
  ): Promise<KubernetesObject | undefined>;
  /** Server-side apply with our field manager, forcing ownership of the fields we set. */
  apply(obj: KubernetesObject): Promise<KubernetesObject>;
  /** One Secret by name (the only way the controller reads Secrets); undefined when not found. */
  get(kind: "Secret", ref: ObjectName): Promise<KubernetesObject | undefined>;
  delete(obj: KubernetesObject): Promise<void>;
  /** Every object of a kind (never Secrets: those are read by name). */
  list(kind: ListedKind): Promise<{ items: KubernetesObject[]; resourceVersion?: string }>;
}

export const MODELS: Record<IndexKind, GenericClass> = {
  GatewayClass,
  Gateway,
  ListenerSet,
  HTTPRoute,
  GRPCRoute,
  ReferenceGrant,
  Namespace: kind.Namespace,
  Service: kind.Service,
  EndpointSlice: kind.EndpointSlice,
  Secret: kind.Secret,
  Pod: kind.Pod,
  RouteOwnershipPolicy,
};

export const API_VERSIONS: Record<IndexKind, string> = {
  GatewayClass: "gateway.networking.k8s.io/v1",
  Gateway: "gateway.networking.k8s.io/v1",
  ListenerSet: "gateway.networking.k8s.io/v1",
  HTTPRoute: "gateway.networking.k8s.io/v1",
  GRPCRoute: "gateway.networking.k8s.io/v1",
  ReferenceGrant: "gateway.networking.k8s.io/v1",
  Namespace: "v1",
  Service: "v1",
  EndpointSlice: "discovery.k8s.io/v1",
  Secret: "v1",
  Pod: "v1",
  RouteOwnershipPolicy: "crossway.dev/v1alpha1",
};

/** List items come without kind/apiVersion; the index and the engine want them. */
const typed = (k: IndexKind, items: KubernetesObject[]) =>
  items.map((i) => ({ ...i, apiVersion: i.apiVersion ?? API_VERSIONS[k], kind: i.kind ?? k }));

const isNotFound = (e: unknown) => errorStatus(e) === 404;

/** The real client. Reads the kubeconfig the same way kubernetes-fluent-client does. */
export function liveKubeClient(): KubeClient {
  let objects: KubernetesObjectApi | undefined;
  let custom: CustomObjectsApi | undefined;
  const config = () => {
    const kc = new KubeConfig();
    kc.loadFromDefault();
    return kc;
  };
  const objectApi = () => (objects ??= KubernetesObjectApi.makeApiClient(config()));
  const customApi = () => (custom ??= config().makeApiClient(CustomObjectsApi));
  return {
    async replaceRouteStatus(k, ref, status) {
      try {
        return (await customApi().patchNamespacedCustomObjectStatus({
          group: "gateway.networking.k8s.io",
          version: "v1",
          namespace: ref.namespace ?? "",
          plural: k === "HTTPRoute" ? "httproutes" : "grpcroutes",
          name: ref.name,
          body: [
            { op: "test", path: "/metadata/resourceVersion", value: ref.resourceVersion },
            { op: "add", path: "/status", value: status },
          ],
        })) as KubernetesObject;
      } catch (e) {
        if ((e as { code?: number }).code === 404) return undefined;
        throw e;
      }
    },
    async patchStatus(k, ref, status) {
      try {
        return await K8s(MODELS[k]).PatchStatus({
          metadata: { name: ref.name, namespace: ref.namespace },
          status,
        } as never);
      } catch (e) {
        if (isNotFound(e)) return undefined;
        throw e;
      }
    },
    async apply(obj) {
      const api = objectApi();
      return (await api.patch(
        obj as never,
        undefined,
        undefined,
        FIELD_MANAGER,
        true,
        PatchStrategy.ServerSideApply,
      )) as KubernetesObject;
    },
    async createEvent(event) {
      await objectApi().create(event as never);
    },
    async patchEventSeries(ref, series) {
      await objectApi().patch(
        { apiVersion: "events.k8s.io/v1", kind: "Event", metadata: ref, series } as never,
        undefined,
        undefined,
        undefined,
        undefined,
        PatchStrategy.MergePatch,
      );
    },
    async get(_k, ref) {
      try {
        const q = K8s(kind.Secret);
        const s = await (ref.namespace ? q.InNamespace(ref.namespace) : q).Get(ref.name);
        return { ...s, apiVersion: s.apiVersion ?? "v1", kind: s.kind ?? "Secret" };
      } catch (e) {
        if (isNotFound(e)) return undefined;
        throw e;
      }
    },
    async delete(obj) {
      const api = objectApi();
      try {
        await api.delete(obj as never);
      } catch (e) {
        const code = (e as { code?: number }).code;
        if (code === 404 || isNotFound(e)) return;
        throw e;
      }
    },
    async list(k) {
      if (k === "Pod") {
        // only data-plane pods
        const res = await K8s(kind.Pod).WithLabel(LABEL_GATEWAY).Get();
        return { items: typed(k, res.items), resourceVersion: res.metadata?.resourceVersion };
      }
      try {
        const res = await K8s(MODELS[k]).Get();
        return { items: typed(k, res.items), resourceVersion: res.metadata?.resourceVersion };
      } catch (e) {
        // crossway's own CRD may not be installed (yet): no policies, not a broken controller.
        if (k === "RouteOwnershipPolicy" && isNotFound(e)) return { items: [], resourceVersion: undefined };
        throw e;
      }
    },
  };
}
