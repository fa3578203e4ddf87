/**
 * Condition transitions (what the status writer changed) → Kubernetes Events, so `kubectl
 * describe` and GitOps UIs show why a route is not attached:
 * - one event per transition of a condition's status or reason: reason = the condition's reason,
 *   note = where (parent/listener), `Type=Status` and the condition's message; Warning for a problem
 *   (a positive condition not True, or Conflicted/PartiallyInvalid/OwnershipConflict True),
 *   Normal otherwise;
 * - `Pending` is progress, not news: every published config takes a Gateway's Programmed through
 *   False/Pending and back, on the Gateway and each listener. No event is made for it, and the
 *   return to the last reported state after it makes none either;
 * - ReferenceGrants carry no status of ours, so when a route's ResolvedRefs moves to or from
 *   RefNotPermitted, the grants in the Service's namespace that now allow the reference (Normal), or
 *   that name the route's namespace and still do not allow it (Warning), get an event too. A grant
 *   that was deleted is gone: the route's own event says what happened.
 */
import type { KubernetesObject } from "kubernetes-fluent-client";
import type { ReferenceGrant } from "../crd";
import { ConditionType, Reason } from "../engine/conditions";
import { indexGrants, referenceAllowed } from "../engine/graph/referencegrant";
import type { StatusKind } from "../engine/result";
import type { EventInput, EventRef } from "./events";
import type { ObjectIndex } from "./index";
import { API_VERSIONS } from "./kube";
import type { Transition } from "./status-merge";

/** Conditions for which True is the problem. */
const TRUE_IS_BAD = new Set<string>([
  ConditionType.Conflicted,
  ConditionType.PartiallyInvalid,
  ConditionType.OwnershipConflict,
  "OverlappingTLSConfig",
]);

const isPending = (state: string | undefined) => state?.endsWith(`/${Reason.Pending}`) ?? false;

export const eventType = (t: { type: string; status: string }): "Normal" | "Warning" =>
  (TRUE_IS_BAD.has(t.type) ? t.status === "True" : t.status !== "True") ? "Warning" : "Normal";

const GATEWAY_GROUP = "gateway.networking.k8s.io";

interface BackendRefLike {
  group?: string;
  kind?: string;
  name?: string;
  namespace?: string;
}

type RouteLike = KubernetesObject & {
  spec?: {
    rules?: {
      backendRefs?: (BackendRefLike & { filters?: { requestMirror?: { backendRef?: BackendRefLike } }[] })[];
      filters?: { requestMirror?: { backendRef?: BackendRefLike } }[];
    }[];
  };
};

/** Services in other namespaces a route references (backends and mirrors). */
function crossNamespaceServices(route: RouteLike): { namespace: string; name: string }[] {
  const ns = route.metadata?.namespace ?? "";
  const refs: BackendRefLike[] = [];
  for (const rule of route.spec?.rules ?? []) {
    for (const f of rule.filters ?? []) if (f.requestMirror?.backendRef) refs.push(f.requestMirror.backendRef);
    for (const b of rule.backendRefs ?? []) {
      refs.push(b);
      for (const f of b.filters ?? []) if (f.requestMirror?.backendRef) refs.push(f.requestMirror.backendRef);
    }
  }
  const out = new Map<string, { namespace: string; name: string }>();
  for (const r of refs) {
    if ((r.group ?? "") !== "" || (r.kind ?? "Service") !== "Service" || !r.namespace || r.namespace === ns) continue;
    out.set(`${r.namespace}/${r.name}`, { namespace: r.namespace, name: String(r.name ?? "") });
  }
  return [...out.values()];
}

export const refOf = (kind: string, obj: KubernetesObject): EventRef => ({
  apiVersion: obj.apiVersion ?? API_VERSIONS[kind as keyof typeof API_VERSIONS] ?? "v1",
  kind,
  namespace: obj.metadata?.namespace,
  name: obj.metadata!.name!,
  uid: obj.metadata?.uid,
  resourceVersion: obj.metadata?.resourceVersion,
});

export class ConditionEvents {
  readonly #record: (e: EventInput) => void;
  readonly #index: ObjectIndex;
  /** objectKey|where|type → the `Status/Reason` last reported in an event (or seen before a Pending). */
  readonly #reported = new Map<string, string>();

  constructor(record: (e: EventInput) => void, index: ObjectIndex) {
    this.#record = record;
    this.#index = index;
  }

  /** The status writer wrote `obj` (as the API server returned it) with these transitions. */
  observe(kind: StatusKind, obj: KubernetesObject, objectKey: string, transitions: Transition[]): void {
    const regarding = refOf(kind, obj);
    let grants: "permitted" | "refused" | undefined;
    for (const t of transitions) {
      const memo = `${objectKey}|${t.where ?? ""}|${t.type}`;
      const where = t.where ? `${t.where}: ` : "";
      if (t.type === "Parent") {
        this.#reported.delete(memo);
        this.#record({
          regarding,
          type: "Normal",
          reason: t.reason ?? "ParentRefRemoved",
          action: "Detached",
          note: `${where}no longer reported by this controller (the parentRef was removed or the parent is not ours)`,
        });
        continue;
      }
      const state = `${t.status}/${t.reason ?? ""}`;
      const last = this.#reported.get(memo) ?? (isPending(t.previous) ? undefined : t.previous);
      if (isPending(state)) {
        if (last) this.#reported.set(memo, last);
        continue;
      }
      this.#reported.set(memo, state);
      if (last === state) continue;
      this.#record({
        regarding,
        type: eventType(t),
        reason: t.reason || t.type,
        action: t.type,
        note: `${where}${t.type}=${t.status}${t.message ? `: ${t.message}` : ""}`,
      });
      if (t.type === ConditionType.ResolvedRefs) {
        const was = t.previous?.endsWith(`/${Reason.RefNotPermitted}`) ?? false;
        const now = t.reason === Reason.RefNotPermitted;
        if (was !== now) grants = now ? "refused" : "permitted";
      }
    }
    if (grants && (kind === "HTTPRoute" || kind === "GRPCRoute")) this.#grantEvents(kind, obj as RouteLike, grants);
  }

  #grantEvents(kind: "HTTPRoute" | "GRPCRoute", route: RouteLike, what: "permitted" | "refused") {
    const ns = route.metadata?.namespace ?? "";
    const from = { group: GATEWAY_GROUP, kind, namespace: ns };
    const routeName = `${kind} ${ns}/${route.metadata?.name}`;
    const done = new Set<string>();
    const all = this.#index.list<ReferenceGrant>("ReferenceGrant");
    for (const svc of crossNamespaceServices(route)) {
      const to = { group: "", kind: "Service", ...svc };
      for (const g of all) {
        if (g.metadata?.namespace !== svc.namespace || done.has(g.metadata?.uid ?? g.metadata?.name ?? "")) continue;
        const allows = referenceAllowed(indexGrants([g]), from, to);
        const namesRoute = (g.spec?.from ?? []).some((f) => f?.kind === kind && f?.namespace === ns);
        if (what === "permitted" ? !allows : allows || !namesRoute) continue;
        done.add(g.metadata?.uid ?? g.metadata?.name ?? "");
        this.#record({
          regarding: refOf("ReferenceGrant", g as KubernetesObject),
          type: what === "permitted" ? "Normal" : "Warning",
          reason: what === "permitted" ? Reason.ResolvedRefs : Reason.RefNotPermitted,
          action: "ResolvedRefs",
          note:
            what === "permitted"
              ? `allows ${routeName} to reference Service ${svc.namespace}/${svc.name}; the route's references resolve now`
              : `does not allow ${routeName} to reference Service ${svc.namespace}/${svc.name}; the route's ResolvedRefs is False/RefNotPermitted`,
        });
      }
    }
  }

  /** Forget objects the writer no longer handles (keys as the writer makes them). */
  retainOnly(objectKeys: Set<string>): void {
    for (const memo of this.#reported.keys()) {
      if (!objectKeys.has(memo.slice(0, memo.indexOf("|")))) this.#reported.delete(memo);
    }
  }
}
