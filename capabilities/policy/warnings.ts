/**
 * Apply-time feedback: kubectl warnings (never denials) that say why a route will not attach or a
 * reference will not resolve. The verdicts come from the engine itself — the object under
 * admission is put into the FULL snapshot of the cluster (the controller's own input) and
 * translated — so a warning says exactly what status the controller is about to write, on the
 * object itself and on every other object the change affects. Messages name the listener,
 * selector and rule.
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
type WarnedKind = "Gateway" | "ListenerSet" | "HTTPRoute" | "GRPCRoute" | "ReferenceGrant";

/** The snapshot list that holds objects of each kind (a new kind does not compile until it has one). */
export const FIELD_OF: Record<WarnedKind, Field> = {
  Gateway: "gateways",
  ListenerSet: "listenerSets",
  HTTPRoute: "httpRoutes",
  GRPCRoute: "grpcRoutes",
  ReferenceGrant: "referenceGrants",
};

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

const MAX_NAMED = 5;

type ParentRef = { kind?: string; namespace?: string; name?: string; sectionName?: string };

const describeRef = (ref: ParentRef, ns: string) =>
  `parent ${ref.kind ?? "Gateway"} ${ref.namespace ?? ns}/${ref.name ?? ""}${ref.sectionName ? ` (listener ${ref.sectionName})` : ""}`;

/** Bad conditions in one object's status: its own, its listeners', and (routes) its parents'. */
function statusLines(status: ObjectStatus | undefined): string[] {
  if (!status) return [];
  const s = status.status as {
    conditions?: Cond[];
    listeners?: { name: string; conditions?: Cond[] }[];
    parents?: { parentRef: ParentRef; conditions?: Cond[] }[];
  };
  const ns = status.namespace ?? "";
  return uniq([
    ...(s.conditions ?? []).filter(isBad).map((c) => line(c)),
    ...(s.listeners ?? []).flatMap((l) => (l.conditions ?? []).filter(isBad).map((c) => line(c, `listener ${l.name}`))),
    ...(s.parents ?? []).flatMap((p) =>
      (p.conditions ?? []).filter(isBad).map((c) => line(c, describeRef(p.parentRef, ns))),
    ),
  ]);
}

const statusKey = (s: ObjectStatus) => `${s.kind} ${s.namespace ?? ""}/${s.name}`;

/**
 * What a change does to OTHER objects: every bad condition the controller would write on another
 * object after the change that it would not write before (a route that loses a hostname to the
 * incoming one, a grant edit that strands a backendRef …), worded exactly as that status will be.
 */
export function affectedWarnings(before: TranslateResult, after: TranslateResult, self: string): string[] {
  const was = new Map(before.statuses.map((s) => [statusKey(s), new Set(statusLines(s))]));
  const hit: { key: string; lines: string[] }[] = [];
  for (const s of after.statuses) {
    const key = statusKey(s);
    if (key === self) continue;
    const old = was.get(key) ?? new Set<string>();
    const lines = statusLines(s).filter((l) => !old.has(l));
    if (lines.length > 0) hit.push({ key, lines });
  }
  const out = hit
    .slice(0, MAX_NAMED)
    .flatMap(({ key, lines }) =>
      lines.map((l) => `crossway: this change affects ${key}: ${l.replace(/^crossway: /, "")}`),
    );
  if (hit.length > MAX_NAMED) {
    const rest = hit.slice(MAX_NAMED).map((h) => h.key);
    const named = rest.slice(0, MAX_NAMED).join(", ");
    const more = rest.length > MAX_NAMED ? ` and ${rest.length - MAX_NAMED} more` : "";
    out.push(`crossway: this change also affects ${rest.length} more object(s): ${named}${more}`);
  }
  return out;
}

/**
 * HTTPRoute / GRPCRoute: every bad condition of every parent of ours, and what the route does to
 * other routes. The route is translated in the FULL snapshot (the controller's own input), so
 * conflicts with other routes — an HTTPRoute and a GRPCRoute on one hostname of one listener —
 * are reported at apply time exactly as the status will say them.
 */
export function routeWarnings(
  kind: "HTTPRoute" | "GRPCRoute",
  route: KubernetesObject,
  snapshot: ClusterSnapshot,
  translate: Translate,
  opts: TranslateOptions,
): string[] {
  const after = translate(withObject(snapshot, FIELD_OF[kind], route), opts);
  const own = statusLines(findStatus(after, kind, route));
  return uniq([...own, ...affectedWarnings(translate(snapshot, opts), after, `${kind} ${nsName(route)}`)]);
}

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
  const field = FIELD_OF[kind];
  const after = translate(withObject(snapshot, field, obj), opts);
  const before = translate(snapshot, opts);
  const warnings = statusLines(findStatus(after, kind, obj));
  const existed = (snapshot[field] as KubernetesObject[]).some((o) => nsName(o) === nsName(obj));
  if (existed) {
    const was = acceptedRoutes(before, kind, obj);
    const now = acceptedRoutes(after, kind, obj);
    const lost = [...was].filter((r) => !now.has(r)).sort();
    if (lost.length > 0) {
      const named = lost.slice(0, MAX_NAMED).join(", ");
      const more = lost.length > MAX_NAMED ? ` and ${lost.length - MAX_NAMED} more` : "";
      warnings.push(
        `crossway: this change detaches ${lost.length} route(s) from ${kind} ${nsName(obj)}: ${named}${more}`,
      );
    }
  }
  return uniq([...warnings, ...affectedWarnings(before, after, `${kind} ${nsName(obj)}`)]);
}

interface GrantSpec {
  from?: { group?: string; kind?: string; namespace?: string }[];
  to?: { group?: string; kind?: string; name?: string }[];
}

const GRANT_FROM = new Set(["HTTPRoute", "GRPCRoute", "Gateway", "ListenerSet"]);
const GRANT_TO = new Set(["Service", "Secret"]);

/**
 * ReferenceGrant: references crossway would never use it for, targets that do not exist, and
 * (given the engine) what an edit takes away from routes and Gateways that relied on it.
 */
export function referenceGrantWarnings(
  grant: KubernetesObject,
  snapshot: ClusterSnapshot,
  translate?: Translate,
  opts?: TranslateOptions,
): string[] {
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
  if (translate && opts) {
    const after = translate(withObject(snapshot, "referenceGrants", grant), opts);
    out.push(...affectedWarnings(translate(snapshot, opts), after, `ReferenceGrant ${nsName(grant)}`));
  }
  return uniq(out);
}
