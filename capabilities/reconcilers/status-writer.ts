/**
 * Writes the engine's statuses to the API server, touching only what changed:
 * - the next status is built from the desired one with lastTransitionTime carried over from the
 *   last observed status (the index) unless the condition's status flipped;
 * - routes: only `status.parents` entries with our controllerName are written or removed;
 *   routes that no longer reference a parent of ours lose our entries; the write is conditional
 *   on the resourceVersion we merged against, so another controller's concurrent entry is never lost;
 * - a patch is sent only when the next status differs from the observed one;
 * - one failing object never stops the others; the run fails afterwards so the loop retries.
 */
import type { KubernetesObject } from "kubernetes-fluent-client";
import type { ObjectStatus, StatusKind } from "../engine/result";
import type { ObjectIndex } from "./index";
import type { KubeClient } from "./kube";
import { describeError, log as rootLog, type Logger } from "./log";
import {
  canonical,
  isRouteKind,
  mergePatchBody,
  mergeRouteParents,
  stampObjectStatus,
  type ParentStatus,
  type Transition,
} from "./status-merge";

export interface WriteSummary {
  patched: number;
  unchanged: number;
  failed: number;
}

export class StatusWriteError extends Error {
  constructor(readonly summary: WriteSummary) {
    super(`${summary.failed} status write(s) failed`);
  }
}

type Status = Record<string, unknown>;

const currentStatus = (obj: KubernetesObject) => (obj as { status?: Status }).status;

export class StatusWriter {
  readonly #kube: KubeClient;
  readonly #index: ObjectIndex;
  readonly #controllerName: string;
  readonly #log: Logger;
  readonly #now: () => string;

  constructor(
    kube: KubeClient,
    index: ObjectIndex,
    controllerName: string,
    opts: { log?: Logger; now?: () => string } = {},
  ) {
    this.#kube = kube;
    this.#index = index;
    this.#controllerName = controllerName;
    this.#log = (opts.log ?? rootLog).child({ writer: "status" });
    this.#now = opts.now ?? (() => new Date().toISOString().replace(/\.\d+Z$/, "Z"));
  }

  /** Write every desired status (and drop our stale route entries). Throws StatusWriteError. */
  async write(desired: ObjectStatus[]): Promise<WriteSummary> {
    const summary: WriteSummary = { patched: 0, unchanged: 0, failed: 0 };
    const work = [...desired, ...this.#orphanedRouteEntries(desired)];
    for (const d of work) {
      try {
        summary[(await this.#writeOne(d)) ? "patched" : "unchanged"]++;
      } catch (e) {
        summary.failed++;
        this.#log.error(
          { ...describeError(e), kind: d.kind, namespace: d.namespace, name: d.name },
          "status patch failed",
        );
      }
    }
    if (summary.failed > 0) throw new StatusWriteError(summary);
    return summary;
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
      next = { ...(current ?? {}), parents };
      body = { parents };
    } else {
      next = stampObjectStatus(d.status, current, now, transitions);
      body = mergePatchBody(next, current);
    }
    if (canonical(next) === canonical(current ?? {})) return false;
    const rv = obj.metadata?.resourceVersion;
    const updated =
      isRouteKind(d.kind) && rv
        ? await this.#kube.replaceRouteStatus(d.kind as "HTTPRoute" | "GRPCRoute", { ...d, resourceVersion: rv }, next)
        : await this.#kube.patchStatus(d.kind, d, body);
    if (updated) this.#index.upsert(d.kind, updated);
    this.#logTransitions(d.kind, d, transitions);
    return true;
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
