/**
 * Apply-time feedback: kubectl warnings (never denials) that say why a route will not attach or a
 * reference will not resolve. The verdicts come from the engine itself — the object under
 * admission is put into a snapshot of the cluster and translated — so a warning says exactly
 * what status the controller is about to write. Messages name the listener, selector and rule.
 */
import type { KubernetesObject } from "kubernetes-fluent-client";
import type { ClusterSnapshot, TranslateOptions } from "../engine/snapshot";
import type { ObjectStatus, StatusKind, TranslateResult } from "../engine/result";

export type Translate = (snapshot: ClusterSnapshot, opts: TranslateOptions) => TranslateResult;

interface Cond {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

/** Conditions whose "bad" value is True; for every other type the bad value is False. */
const BAD_WHEN_TRUE = new Set(["Conflicted", "OverlappingTLSConfig", "PartiallyInvalid"]);
/** Programmed is the data plane's business and is always pending at admission time. */
const IGNORED = new Set(["Programmed"]);

const isBad = (c: Cond) =>
  !IGNORED.has(c.type) && (BAD_WHEN_TRUE.has(c.type) ? c.status === "True" : c.status === "False");

const line = (c: Cond, where?: string) =>
  `crossway: ${where ? `${where}: ` : ""}${c.type}=${c.status} (${c.reason ?? ""}): ${c.message ?? ""}`;

const uniq = (xs: string[]) => [...new Set(xs)];

const nsName = (o: KubernetesObject) => `${o.metadata?.namespace ?? ""}/${o.metadata?.name ?? ""}`;

type Field = "gateways" | "listenerSets" | "httpRoutes" | "grpcRoutes" | "referenceGrants";

/** The snapshot with `obj` in place of its stored version (or added). */
export function withObject(snapshot: ClusterSnapshot, field: Field, obj: KubernetesObject): ClusterSnapshot {
  const list = snapshot[field] as KubernetesObject[];
  const key = nsName(obj);
  return { ...snapshot, [field]: [...list.filter((o) => nsName(o) !== key), obj] };
}

const findStatus = (r: TranslateResult, kind: StatusKind, obj: KubernetesObject) =>
  r.statuses.find(
    (s) => s.kind === kind && s.name === obj.metadata?.name && (s.namespace ?? "") === (obj.metadata?.namespace ?? ""),
  );

const describeRef = (ref: { kind?: string; namespace?: string; name?: string; sectionName?: string }, ns: string) =>
  `parent ${ref.kind ?? "Gateway"} ${ref.namespace ?? ns}/${ref.name ?? ""}${ref.sectionName ? ` (listener ${ref.sectionName})` : ""}`;

/** HTTPRoute / GRPCRoute: every bad condition of every parent of ours. */
export function routeWarnings(
  kind: "HTTPRoute" | "GRPCRoute",
  route: KubernetesObject,
  snapshot: ClusterSnapshot,
  translate: Translate,
  opts: TranslateOptions,
): string[] {
  // Whether a route attaches or resolves does not depend on other routes: translate it alone.
  const alone: ClusterSnapshot = {
    ...snapshot,
    httpRoutes: kind === "HTTPRoute" ? [route as never] : [],
    grpcRoutes: kind === "GRPCRoute" ? [route as never] : [],
  };
  const status = findStatus(translate(alone, opts), kind, route);
  const parents = (status?.status.parents ?? []) as { parentRef: object; conditions?: Cond[] }[];
  const ns = route.metadata?.namespace ?? "";
  return uniq(
    parents.flatMap((p) => (p.conditions ?? []).filter(isBad).map((c) => line(c, describeRef(p.parentRef, ns)))),
  );
}

function objectConditionWarnings(status: ObjectStatus | undefined): string[] {
  if (!status) return [];
  const s = status.status as { conditions?: Cond[]; listeners?: { name: string; conditions?: Cond[] }[] };
  return [
    ...(s.conditions ?? []).filter(isBad).map((c) => line(c)),
    ...(s.listeners ?? []).flatMap((l) => (l.conditions ?? []).filter(isBad).map((c) => line(c, `listener ${l.name}`))),
  ];
}

const MAX_NAMED = 5;

/** Routes (kind ns/name) accepted by `parent` in `r`. */
function acceptedRoutes(r: TranslateResult, parentKind: string, parent: KubernetesObject): Set<string> {
  const out = new Set<string>();
  for (const s of r.statuses) {
    if (s.kind !== "HTTPRoute" && s.kind !== "GRPCRoute") continue;
    const parents = (s.status.parents ?? []) as {
      parentRef: { kind?: string; namespace?: string; name: string };
      conditions?: Cond[];
    }[];
    for (const p of parents) {
      const ref = p.parentRef;
      if ((ref.kind ?? "Gateway") !== parentKind || ref.name !== parent.metadata?.name) continue;
      if ((ref.namespace ?? s.namespace) !== parent.metadata?.namespace) continue;
      if (p.conditions?.some((c) => c.type === "Accepted" && c.status === "True")) {
        out.add(`${s.kind} ${s.namespace}/${s.name}`);
      }
    }
  }
  return out;
}

/** Gateway / ListenerSet: bad conditions, and the routes this change would detach. */
export function listenerOwnerWarnings(
  kind: "Gateway" | "ListenerSet",
  obj: KubernetesObject,
  snapshot: ClusterSnapshot,
  translate: Translate,
  opts: TranslateOptions,
): string[] {
  const field = kind === "Gateway" ? "gateways" : "listenerSets";
  const after = translate(withObject(snapshot, field, obj), opts);
  const warnings = objectConditionWarnings(findStatus(after, kind, obj));
  const existed = (snapshot[field] as KubernetesObject[]).some((o) => nsName(o) === nsName(obj));
  if (existed) {
    const before = acceptedRoutes(translate(snapshot, opts), kind, obj);
    const now = acceptedRoutes(after, kind, obj);
    const lost = [...before].filter((r) => !now.has(r)).sort();
    if (lost.length > 0) {
      const named = lost.slice(0, MAX_NAMED).join(", ");
      const more = lost.length > MAX_NAMED ? ` and ${lost.length - MAX_NAMED} more` : "";
      warnings.push(
        `crossway: this change detaches ${lost.length} route(s) from ${kind} ${nsName(obj)}: ${named}${more}`,
      );
    }
  }
  return uniq(warnings);
}

interface GrantSpec {
  from?: { group?: string; kind?: string; namespace?: string }[];
  to?: { group?: string; kind?: string; name?: string }[];
}

const GRANT_FROM = new Set(["HTTPRoute", "GRPCRoute", "Gateway", "ListenerSet"]);
const GRANT_TO = new Set(["Service", "Secret"]);

/** ReferenceGrant: references crossway would never use it for, and targets that do not exist. */
export function referenceGrantWarnings(grant: KubernetesObject, snapshot: ClusterSnapshot): string[] {
  const spec = ((grant as { spec?: GrantSpec }).spec ?? {}) as GrantSpec;
  const ns = grant.metadata?.namespace ?? "";
  const namespaces = new Set(snapshot.namespaces.map((n) => n.metadata?.name));
  const out: string[] = [];
  for (const f of spec.from ?? []) {
    if (f.group !== "gateway.networking.k8s.io" || !GRANT_FROM.has(f.kind ?? "")) {
      out.push(
        `crossway: from ${f.group || "core"}/${f.kind} is never checked: only HTTPRoute, GRPCRoute, Gateway and ListenerSet (group gateway.networking.k8s.io) reference across namespaces`,
      );
    }
    if (f.namespace && !namespaces.has(f.namespace)) {
      out.push(`crossway: from namespace "${f.namespace}" does not exist (yet)`);
    }
  }
  for (const t of spec.to ?? []) {
    if ((t.group ?? "") !== "" || !GRANT_TO.has(t.kind ?? "")) {
      out.push(
        `crossway: to ${t.group || "core"}/${t.kind} is never used: crossway resolves only core Services (backendRefs) and Secrets (certificateRefs)`,
      );
      continue;
    }
    if (!t.name) continue;
    const pool = t.kind === "Service" ? snapshot.services : snapshot.secrets;
    if (!pool.some((o) => o.metadata?.namespace === ns && o.metadata?.name === t.name)) {
      const what = t.kind === "Service" ? "Service" : "kubernetes.io/tls Secret";
      out.push(`crossway: to ${t.kind} "${t.name}": no ${what} of that name in namespace "${ns}" (yet)`);
    }
  }
  return uniq(out);
}
