/**
 * In-memory index of every watched object: the controller's view of the cluster.
 *
 * Watch events arrive from one watcher per (kind, event) binding, so a DELETE may overtake the
 * MODIFIED that preceded it, and a relist may replay old versions. The index therefore:
 * - keeps the newer of two versions of the same object (same uid, higher resourceVersion),
 * - removes on delete only if the uid matches what it holds (a recreated object survives the
 *   late delete of its predecessor),
 * - remembers deleted uids (bounded) so a late update cannot resurrect a deleted object.
 * Secrets are not watched: they come one by one from secrets.ts (GET by name) and the data-plane
 * sync (what it wrote).
 * `snapshot()` turns it into the engine's ClusterSnapshot, sorted so equal clusters give equal input.
 */
import type { KubernetesObject } from "kubernetes-fluent-client";
import type { ClusterSnapshot } from "../engine/snapshot";
import { LABEL_GATEWAY } from "../dataplane/conventions";

export const INDEX_KINDS = [
  "GatewayClass",
  "Gateway",
  "ListenerSet",
  "HTTPRoute",
  "GRPCRoute",
  "ReferenceGrant",
  "Namespace",
  "Service",
  "EndpointSlice",
  "Secret",
  "Pod",
  "RouteOwnershipPolicy",
] as const;
export type IndexKind = (typeof INDEX_KINDS)[number];
/**
 * Kinds the controller lists and watches. Secrets are not among them: the controller reads the
 * few it needs one by one, by name (secrets.ts), and holds them here like the rest.
 */
export type ListedKind = Exclude<IndexKind, "Secret">;
export const LISTED_KINDS = INDEX_KINDS.filter((k): k is ListedKind => k !== "Secret");

const TOMBSTONE_LIMIT = 10_000;

const objectKey = (namespace: string | undefined, name: string): string => `${namespace ?? ""}/${name}`;

/** Outcome of applying one event: `inputChanged` is false when the engine's input is unaffected. */
export interface IndexChange {
  stored: boolean;
  inputChanged: boolean;
}

const NO_CHANGE: IndexChange = { stored: false, inputChanged: false };

/** resourceVersions are opaque, but etcd's are integers: compare numerically when both are. */
function isOlder(candidate?: string, held?: string): boolean {
  if (!candidate || !held) return false;
  if (!/^\d+$/.test(candidate) || !/^\d+$/.test(held)) return false;
  return BigInt(candidate) < BigInt(held);
}

/** Only data-plane pods are kept. (Secrets are only ever the ones read by name: all kept.) */
function isRelevant(kind: IndexKind, obj: KubernetesObject): boolean {
  if (kind === "Pod") return obj.metadata?.labels?.[LABEL_GATEWAY] !== undefined;
  return true;
}

/** Our config Secrets are the data plane's output, never the engine's input. */
const isConfigSecret = (s: KubernetesObject) => s.metadata?.labels?.[LABEL_GATEWAY] !== undefined;

const GATEWAY_API_KINDS = new Set<IndexKind>([
  "GatewayClass",
  "Gateway",
  "ListenerSet",
  "HTTPRoute",
  "GRPCRoute",
  "RouteOwnershipPolicy",
]);

/** For Gateway API kinds, a status-only update (often our own write) does not change the input. */
function onlyStatusChanged(kind: IndexKind, prev: KubernetesObject, next: KubernetesObject) {
  if (!GATEWAY_API_KINDS.has(kind)) return false;
  const a = prev.metadata;
  const b = next.metadata;
  return (
    a?.generation !== undefined &&
    a.generation === b?.generation &&
    JSON.stringify(a.labels ?? {}) === JSON.stringify(b.labels ?? {}) &&
    JSON.stringify(a.annotations ?? {}) === JSON.stringify(b.annotations ?? {}) &&
    a.deletionTimestamp === b.deletionTimestamp
  );
}

const byNamespaceName = (a: KubernetesObject, b: KubernetesObject) => {
  const ka = objectKey(a.metadata?.namespace, a.metadata?.name ?? "");
  const kb = objectKey(b.metadata?.namespace, b.metadata?.name ?? "");
  return ka < kb ? -1 : ka > kb ? 1 : 0;
};

export class ObjectIndex {
  #objects = new Map<IndexKind, Map<string, KubernetesObject>>(INDEX_KINDS.map((k) => [k, new Map()]));
  #tombstones = new Map<string, string | undefined>(); // uid -> resourceVersion at deletion
  #version = 0;

  /** Bumped on every change that affects the engine input. */
  get version(): number {
    return this.#version;
  }

  upsert(kind: IndexKind, obj: KubernetesObject): IndexChange {
    const name = obj.metadata?.name;
    if (!name) return NO_CHANGE;
    const uid = obj.metadata?.uid;
    if (uid && this.#tombstones.has(uid)) return NO_CHANGE;
    const map = this.#objects.get(kind)!;
    const key = objectKey(obj.metadata?.namespace, name);
    const held = map.get(key);
    if (!isRelevant(kind, obj)) {
      // e.g. a Pod whose label changed: forget it.
      if (!held) return NO_CHANGE;
      map.delete(key);
      this.#version++;
      return { stored: false, inputChanged: true };
    }
    if (held) {
      const rv = obj.metadata?.resourceVersion;
      if (held.metadata?.uid === uid && rv && rv === held.metadata?.resourceVersion) return NO_CHANGE;
      // etcd revisions are global: an older version, even of a predecessor (other uid), loses
      if (isOlder(rv, held.metadata?.resourceVersion)) return NO_CHANGE;
    }
    map.set(key, obj);
    const inputChanged = !(held && held.metadata?.uid === uid && onlyStatusChanged(kind, held, obj));
    if (inputChanged) this.#version++;
    return { stored: true, inputChanged };
  }

  remove(kind: IndexKind, obj: KubernetesObject): IndexChange {
    const name = obj.metadata?.name;
    if (!name) return NO_CHANGE;
    const uid = obj.metadata?.uid;
    if (uid) this.#remember(uid, obj.metadata?.resourceVersion);
    const map = this.#objects.get(kind)!;
    const key = objectKey(obj.metadata?.namespace, name);
    const held = map.get(key);
    if (!held) return NO_CHANGE;
    if (uid && held.metadata?.uid && held.metadata.uid !== uid) return NO_CHANGE;
    map.delete(key);
    this.#version++;
    return { stored: false, inputChanged: true };
  }

  /**
   * Drop what the index holds under this name without remembering its uid (unlike a DELETE): it
   * is no longer needed, and may be needed, and read, again later.
   */
  forget(kind: IndexKind, namespace: string | undefined, name: string): boolean {
    if (!this.#objects.get(kind)!.delete(objectKey(namespace, name))) return false;
    this.#version++;
    return true;
  }

  /**
   * Reconcile the index with a full list of one kind taken at `listResourceVersion`: objects
   * missing from the list are dropped unless the index holds a version newer than the list.
   */
  replaceAll(kind: IndexKind, items: KubernetesObject[], listResourceVersion?: string): boolean {
    let changed = false;
    const seen = new Set<string>();
    for (const item of items) {
      seen.add(objectKey(item.metadata?.namespace, item.metadata?.name ?? ""));
      changed = this.upsert(kind, item).inputChanged || changed;
    }
    const map = this.#objects.get(kind)!;
    for (const [key, held] of [...map]) {
      if (seen.has(key)) continue;
      if (listResourceVersion && isOlder(listResourceVersion, held.metadata?.resourceVersion)) {
        continue;
      }
      if (held.metadata?.uid) this.#remember(held.metadata.uid, listResourceVersion);
      map.delete(key);
      this.#version++;
      changed = true;
    }
    return changed;
  }

  get<T extends KubernetesObject = KubernetesObject>(
    kind: IndexKind,
    namespace: string | undefined,
    name: string,
  ): T | undefined {
    return this.#objects.get(kind)!.get(objectKey(namespace, name)) as T | undefined;
  }

  list<T extends KubernetesObject = KubernetesObject>(kind: IndexKind): T[] {
    return [...this.#objects.get(kind)!.values()].sort(byNamespaceName) as T[];
  }

  size(kind: IndexKind): number {
    return this.#objects.get(kind)!.size;
  }

  snapshot(): ClusterSnapshot {
    const l = <T>(k: IndexKind) => this.list(k) as unknown as T[];
    return {
      gatewayClasses: l("GatewayClass"),
      gateways: l("Gateway"),
      listenerSets: l("ListenerSet"),
      httpRoutes: l("HTTPRoute"),
      grpcRoutes: l("GRPCRoute"),
      referenceGrants: l("ReferenceGrant"),
      namespaces: l("Namespace"),
      services: l("Service"),
      endpointSlices: l("EndpointSlice"),
      // whatever type: the engine says why a certificateRef to an Opaque Secret is refused
      secrets: this.list("Secret").filter((s) => !isConfigSecret(s)) as never,
      routeOwnershipPolicies: l("RouteOwnershipPolicy"),
    };
  }

  #remember(uid: string, rv?: string) {
    this.#tombstones.delete(uid);
    this.#tombstones.set(uid, rv);
    if (this.#tombstones.size > TOMBSTONE_LIMIT) {
      const oldest = this.#tombstones.keys().next().value;
      if (oldest !== undefined) this.#tombstones.delete(oldest);
    }
  }
}
