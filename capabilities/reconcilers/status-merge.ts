/**
 * Pure helpers of the status writer: stamp lastTransitionTime (only when a condition's status
 * flips) and cut messages to the CRDs' limit (every condition the writer sends passes through
 * `stampConditions`), merge our route `status.parents` entries with other controllers' (never
 * touching theirs), and compare statuses canonically.
 */
import { match } from "ts-pattern";
import type { StatusKind } from "../engine/result";
import { fitMessage } from "./status-limits";

export interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  observedGeneration?: number;
  lastTransitionTime?: string;
}

export interface ParentRefLike {
  group?: string;
  kind?: string;
  namespace?: string;
  name: string;
  sectionName?: string;
  port?: number;
}

export interface ParentStatus {
  parentRef: ParentRefLike;
  controllerName: string;
  conditions?: Condition[];
  [k: string]: unknown;
}

/** One condition that changed, for the one-line-per-transition log. */
export interface Transition {
  where?: string;
  type: string;
  status: string;
  reason?: string;
  message?: string;
  previous?: string;
}

/** Routes carry `status.parents`, shared with other controllers; every other kind's status is ours alone. */
export const isRouteKind = (kind: StatusKind): kind is "HTTPRoute" | "GRPCRoute" =>
  match(kind)
    .with("HTTPRoute", "GRPCRoute", () => true)
    .with("GatewayClass", "Gateway", "ListenerSet", "RouteOwnershipPolicy", () => false)
    .exhaustive();

/** Canonical JSON (sorted keys) so key order never makes two equal statuses differ. */
export function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v);
}

export function stampConditions(
  next: Condition[] | undefined,
  prev: Condition[] | undefined,
  now: string,
  where: string | undefined,
  transitions: Transition[],
): Condition[] | undefined {
  if (!next) return next;
  return next.map((desired) => {
    const c = desired.message === undefined ? desired : { ...desired, message: fitMessage(desired.message) };
    const old = prev?.find((p) => p.type === c.type);
    const keep = old && old.status === c.status && old.lastTransitionTime;
    if (!old || old.status !== c.status || old.reason !== c.reason) {
      transitions.push({
        where,
        type: c.type,
        status: c.status,
        reason: c.reason,
        message: c.message,
        previous: old ? `${old.status}/${old.reason ?? ""}` : undefined,
      });
    }
    return { ...c, lastTransitionTime: keep ? old.lastTransitionTime : now };
  });
}

interface WithConditions {
  conditions?: Condition[];
  [k: string]: unknown;
}

interface NamedWithConditions extends WithConditions {
  name: string;
}

/** Gateway / ListenerSet / GatewayClass: stamp top-level and per-listener conditions. */
export function stampObjectStatus(
  desired: Record<string, unknown>,
  current: Record<string, unknown> | undefined,
  now: string,
  transitions: Transition[],
): Record<string, unknown> {
  const d = desired as WithConditions & { listeners?: NamedWithConditions[] };
  const c = (current ?? {}) as WithConditions & { listeners?: NamedWithConditions[] };
  const out: Record<string, unknown> = { ...desired };
  if (d.conditions) out.conditions = stampConditions(d.conditions, c.conditions, now, undefined, transitions);
  if (Array.isArray(d.listeners)) {
    out.listeners = d.listeners.map((l) => {
      const old = c.listeners?.find((o) => o.name === l.name);
      return {
        ...l,
        conditions: stampConditions(l.conditions, old?.conditions, now, `listener ${l.name}`, transitions),
      };
    });
  }
  return out;
}

/** The identity of a parentRef, with the spec's defaults applied. */
export function parentKey(ref: ParentRefLike, routeNamespace: string): string {
  return canonical({
    group: ref.group ?? "gateway.networking.k8s.io",
    kind: ref.kind ?? "Gateway",
    namespace: ref.namespace ?? routeNamespace,
    name: ref.name,
    sectionName: ref.sectionName ?? "",
    port: ref.port ?? 0,
  });
}

const describeParent = (ref: ParentRefLike, routeNamespace: string) =>
  `parent ${ref.kind ?? "Gateway"} ${ref.namespace ?? routeNamespace}/${ref.name}` +
  (ref.sectionName ? ` section ${ref.sectionName}` : "") +
  (ref.port ? ` port ${ref.port}` : "");

/**
 * New `status.parents` of a route: other controllers' entries exactly as they are, then our
 * desired entries (conditions stamped against our previous entry for the same parentRef).
 * Our entries not in `ours` disappear.
 */
export function mergeRouteParents(
  current: ParentStatus[] | undefined,
  ours: ParentStatus[],
  controllerName: string,
  routeNamespace: string,
  now: string,
  transitions: Transition[],
): ParentStatus[] {
  const existing = current ?? [];
  const theirs = existing.filter((p) => p.controllerName !== controllerName);
  const previous = existing.filter((p) => p.controllerName === controllerName);
  const stamped = ours.map((p) => {
    const key = parentKey(p.parentRef, routeNamespace);
    const old = previous.find((o) => parentKey(o.parentRef, routeNamespace) === key);
    const where = describeParent(p.parentRef, routeNamespace);
    return {
      ...p,
      controllerName,
      conditions: stampConditions(p.conditions, old?.conditions, now, where, transitions),
    };
  });
  const kept = new Set(stamped.map((p) => parentKey(p.parentRef, routeNamespace)));
  for (const old of previous) {
    if (!kept.has(parentKey(old.parentRef, routeNamespace))) {
      transitions.push({
        where: describeParent(old.parentRef, routeNamespace),
        type: "Parent",
        status: "Removed",
        reason: "ParentRefRemovedOrNotOurs",
      });
    }
  }
  return [...theirs, ...stamped];
}

/** Merge-patch body turning `current` into `next`: keys we no longer set become null. */
export function mergePatchBody(
  next: Record<string, unknown>,
  current: Record<string, unknown> | undefined,
): Record<string, unknown> {
  const body: Record<string, unknown> = { ...next };
  for (const k of Object.keys(current ?? {})) if (!(k in next)) body[k] = null;
  return body;
}
