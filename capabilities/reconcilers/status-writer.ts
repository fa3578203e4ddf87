/**
 * Writes the engine's statuses to the API server, touching only what changed:
 * - the next status is built from the desired one with lastTransitionTime carried over from the
 *   last observed status (the index) unless the condition's status flipped;
 * - routes: only `status.parents` entries with our controllerName are written or removed;
 *   routes that no longer reference a parent of ours lose our entries; the write is conditional
 *   on the resourceVersion we merged against, so another controller's concurrent entry is never lost;
 * - a patch is sent only when the next status differs from the observed one;
 * - condition messages are cut to the CRDs' limit (status-limits.ts), so a status is never
 *   rejected for its length;
 * - a write that fails fails for that object alone: the others are written, and the object waits
 *   out its own backoff (a conflict is retried promptly) unless what we want to write for it
 *   changes meanwhile. `write` resolves with when the first waiting object is due again; it never
 *   rejects for one object;
 * - every condition transition written is handed to the `transitions` observer (Kubernetes Events,
 *   condition-events.ts) after the write succeeded; the observer can neither fail nor delay it.
 */
import type { KubernetesObject } from "kubernetes-fluent-client";
import type { ObjectStatus, StatusKind } from "../engine/result";
import type { ObjectIndex } from "./index";
import type { KubeClient } from "./kube";
import { describeError, log as rootLog, type Logger } from "./log";
import { ObjectRetries, type RetryPolicy } from "./retries";
import { fitRouteParents } from "./status-limits";
import {
  canonical,
  isRouteKind,
  mergePatchBody,
  mergeRouteParents,
  stampObjectStatus,
  type ParentStatus,
  type Transition,
} from "./status-merge";

/** Told of each object's condition transitions once they are written (condition-events.ts). */
export interface TransitionObserver {
  observe(kind: StatusKind, obj: KubernetesObject, objectKey: string, transitions: Transition[]): void;
  /** The objects the writer handles now (keys as `objectKey` above); forget the rest. */
  retainOnly(objectKeys: Set<string>): void;
}

export interface WriteSummary {
  patched: number;
  unchanged: number;
  failed: number;
  /** Not tried this time: waiting out the backoff of an earlier failure. */
  waiting: number;
  /** When the first object that failed (or is waiting) is due to be tried again. */
  retryInMs?: number;
}

/** The writer's retry backoff when none is given (the module passes its settings). */
export const DEFAULT_OBJECT_RETRY: RetryPolicy = { baseMs: 200, maxMs: 60_000 };

type Status = Record<string, unknown>;

const currentStatus = (obj: KubernetesObject) => (obj as { status?: Status }).status;

const objectKey = (d: ObjectStatus) => `${d.kind}/${d.namespace ?? ""}/${d.name}`;

/**
 * Our view of the object was stale: 409 Conflict, or the resourceVersion test of a route's JSON
 * patch failing. The API server answers the latter with a 422 whose message is only its generic
 * one (apiserver handlers/patch.go drops json-patch's "testing value … failed"); a status the
 * CRD rejects is a 422 too, but names the object and the field ("HTTPRoute… is invalid: …").
 */
const JSON_PATCH_NOT_APPLICABLE = "the server rejected our request due to an error in our request";
const isConflict = (e: { status?: number; error: string }) =>
  e.status === 409 ||
  (e.status === 422 &&
    (e.error.includes(JSON_PATCH_NOT_APPLICABLE) ||
      e.error.includes("testing value /metadata/resourceVersion failed")));

export class StatusWriter {
  readonly #kube: KubeClient;
  readonly #index: ObjectIndex;
  readonly #controllerName: string;
  readonly #log: Logger;
  readonly #now: () => string;
  readonly #retries: ObjectRetries;
  readonly #observer: TransitionObserver | undefined;

  constructor(
    kube: KubeClient,
    index: ObjectIndex,
    controllerName: string,
    opts: {
      log?: Logger;
      now?: () => string;
      retry?: RetryPolicy;
      clock?: () => number;
      transitions?: TransitionObserver;
    } = {},
  ) {
    this.#kube = kube;
    this.#index = index;
    this.#controllerName = controllerName;
    this.#log = (opts.log ?? rootLog).child({ writer: "status" });
    this.#now = opts.now ?? (() => new Date().toISOString().replace(/\.\d+Z$/, "Z"));
    this.#retries = new ObjectRetries(opts.retry ?? DEFAULT_OBJECT_RETRY, opts.clock);
    this.#observer = opts.transitions;
  }

  /**
   * Write every desired status (and drop our stale route entries). A failure is logged and counted
   * for its object; the others are written regardless.
   */
  async write(desired: ObjectStatus[]): Promise<WriteSummary> {
    const summary: WriteSummary = { patched: 0, unchanged: 0, failed: 0, waiting: 0 };
    const work = [...desired, ...this.#orphanedRouteEntries(desired)];
    for (const d of work) {
      const key = objectKey(d);
      const fingerprint = canonical(d.status);
      if (!this.#retries.due(key, fingerprint)) {
        summary.waiting++;
        continue;
      }
      try {
        const patched = await this.#writeOne(d);
        summary[patched ? "patched" : "unchanged"]++;
        const failedBefore = this.#retries.succeeded(key);
        if (failedBefore > 0) {
          this.#log.info(
            { kind: d.kind, namespace: d.namespace, name: d.name, failedAttempts: failedBefore, patched },
            "status write recovered",
          );
        }
      } catch (e) {
        summary.failed++;
        this.#failed(d, key, fingerprint, e);
      }
    }
    const keys = new Set(work.map(objectKey));
    this.#retries.retainOnly(keys);
    this.#observer?.retainOnly(keys);
    summary.retryInMs = this.#retries.nextRetryInMs();
    return summary;
  }

  #failed(d: ObjectStatus, key: string, fingerprint: string, e: unknown) {
    const err = describeError(e);
    const conflict = isConflict(err);
    const { attempt, retryInMs } = this.#retries.failed(key, { conflict, fingerprint });
    const fields = { kind: d.kind, namespace: d.namespace, name: d.name, ...err, attempt, retryInMs };
    if (conflict) this.#log.info(fields, "status write conflicted (stale view); retrying this object");
    else this.#log.warn(fields, "status write failed; retrying this object");
  }

  /** Routes in the index carrying an entry of ours although the engine no longer reports them. */
  #orphanedRouteEntries(desired: ObjectStatus[]): ObjectStatus[] {
    const reported = new Set(desired.map((d) => `${d.kind}/${d.namespace}/${d.name}`));
    const out: ObjectStatus[] = [];
    for (const kind of ["HTTPRoute", "GRPCRoute"] as const) {
      for (const route of this.#index.list(kind)) {
        const m = route.metadata!;
        if (reported.has(`${kind}/${m.namespace}/${m.name}`)) continue;
        const parents = (currentStatus(route)?.parents ?? []) as ParentStatus[];
        if (!parents.some((p) => p.controllerName === this.#controllerName)) continue;
        out.push({
          kind,
          namespace: m.namespace,
          name: m.name!,
          generation: m.generation ?? 0,
          status: { parents: [] },
        });
      }
    }
    return out;
  }

  /** true when a patch was sent. */
  async #writeOne(d: ObjectStatus): Promise<boolean> {
    const obj = this.#index.get(d.kind, d.namespace, d.name);
    if (!obj) return false; // gone since the snapshot: nothing to write
    const current = currentStatus(obj);
    const transitions: Transition[] = [];
    const now = this.#now();
    let next: Status;
    let body: Status;
    let omitted = 0;
    if (isRouteKind(d.kind)) {
      const parents = mergeRouteParents(
        current?.parents as ParentStatus[] | undefined,
        (d.status.parents ?? []) as ParentStatus[],
        this.#controllerName,
        d.namespace ?? "",
        now,
        transitions,
      );
      if (parents.length === 0 && current?.parents === undefined) return false;
      const fitted = fitRouteParents(parents, this.#controllerName);
      omitted = fitted.omitted;
      next = { ...(current ?? {}), parents: fitted.parents };
      body = { parents: fitted.parents };
    } else {
      next = stampObjectStatus(d.status, current, now, transitions);
      body = mergePatchBody(next, current);
    }
    if (canonical(next) === canonical(current ?? {})) return false;
    if (omitted > 0) {
      this.#log.warn(
        { kind: d.kind, namespace: d.namespace, name: d.name, omitted },
        "status.parents holds 32 entries at most; with other controllers' entries, some of ours are left out",
      );
    }
    const rv = obj.metadata?.resourceVersion;
    const updated =
      isRouteKind(d.kind) && rv
        ? await this.#kube.replaceRouteStatus(d.kind, { ...d, resourceVersion: rv }, next)
        : await this.#kube.patchStatus(d.kind, d, body);
    if (updated) this.#index.upsert(d.kind, updated);
    this.#logTransitions(d.kind, d, transitions);
    if (transitions.length > 0) this.#observe(d, updated ?? obj, transitions);
    return true;
  }

  /** The status is written: whatever the observer does cannot make it a failed write. */
  #observe(d: ObjectStatus, obj: KubernetesObject, transitions: Transition[]) {
    try {
      this.#observer?.observe(d.kind, obj, objectKey(d), transitions);
    } catch (e) {
      this.#log.warn(
        { kind: d.kind, namespace: d.namespace, name: d.name, ...describeError(e) },
        "could not make events",
      );
    }
  }

  #logTransitions(kind: StatusKind, d: ObjectStatus, transitions: Transition[]) {
    for (const t of transitions) {
      this.#log.info(
        {
          kind,
          namespace: d.namespace,
          name: d.name,
          where: t.where,
          condition: t.type,
          status: t.status,
          reason: t.reason,
          previous: t.previous,
          message: t.message,
        },
        "status transition",
      );
    }
  }
}
