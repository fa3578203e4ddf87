/** A recording stand-in for the one K8s client boundary (KubeClient). */
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import type { KubernetesObject } from "kubernetes-fluent-client";
import type { KubeClient, ObjectName } from "../../capabilities/reconcilers/kube";
import type { StatusKind } from "../../capabilities/engine/result";
import type { ListedKind } from "../../capabilities/reconcilers/index";
import type { EventSeries, KubeEvent } from "../../capabilities/reconcilers/events";

export interface PatchCall {
  kind: StatusKind;
  ref: ObjectName;
  status: Record<string, unknown>;
}

export class FakeKube implements KubeClient {
  patches: PatchCall[] = [];
  applied: KubernetesObject[] = [];
  deleted: KubernetesObject[] = [];
  objects = new Map<string, KubernetesObject>();
  /** Names (ns/name) whose status patch fails with the given HTTP response. */
  failPatch = new Map<string, { status: number; statusText: string; data: unknown }>();
  #rv = 1000;
  /** Events as the API server holds them (events.k8s.io/v1), by namespace/name; series patched in place. */
  events = new Map<string, KubeEvent>();
  /** Every event write in order: "create <ns>/<name>" or "patch <ns>/<name> count=<n>". */
  eventWrites: string[] = [];
  /** When set, every event write fails with this HTTP response. */
  failEvents: { status: number; statusText: string; data: unknown } | undefined;

  /** The events about one object, as `kubectl get events --field-selector involvedObject.name=…` lists them. */
  eventsFor(kind: string, namespace: string | undefined, name: string): KubeEvent[] {
    return [...this.events.values()].filter(
      (e) => e.regarding.kind === kind && e.regarding.namespace === namespace && e.regarding.name === name,
    );
  }

  async createEvent(event: KubeEvent) {
    if (this.failEvents) throw { ok: false, ...this.failEvents };
    const key = `${event.metadata.namespace}/${event.metadata.name}`;
    if (this.events.has(key)) throw { ok: false, status: 409, statusText: "Conflict", data: { message: "exists" } };
    // what the API server validates for events.k8s.io/v1 (core/validation/events.go)
    const invalid = (why: string) => ({
      ok: false,
      status: 422,
      statusText: "Unprocessable Entity",
      data: { message: why },
    });
    if (Buffer.byteLength(event.note) > 1024) throw invalid("note: can have at most 1024 characters");
    if (!event.reportingController || !event.reportingInstance || !event.action || !event.reason)
      throw invalid("reportingController, reportingInstance, action and reason are required");
    if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/.test(event.eventTime)) throw invalid("eventTime: not a MicroTime");
    if (event.series && event.series.count < 2) throw invalid("series.count: should be at least 2");
    this.events.set(key, structuredClone(event));
    this.eventWrites.push(`create ${key}`);
  }

  async patchEventSeries(ref: { namespace: string; name: string }, series: EventSeries) {
    if (this.failEvents) throw { ok: false, ...this.failEvents };
    const key = `${ref.namespace}/${ref.name}`;
    const held = this.events.get(key);
    if (!held)
      throw { ok: false, status: 404, statusText: "Not Found", data: { message: `events "${ref.name}" not found` } };
    held.series = { ...series };
    this.eventWrites.push(`patch ${key} count=${series.count}`);
  }

  /** The next resourceVersion, as the API server would give a changed object. */
  nextResourceVersion = () => String(++this.#rv);

  key = (kind: string, ns: string | undefined, name: string) => `${kind}/${ns ?? ""}/${name}`;

  put(obj: KubernetesObject) {
    this.objects.set(this.key(obj.kind!, obj.metadata?.namespace, obj.metadata!.name!), obj);
  }

  async patchStatus(kind: StatusKind, ref: ObjectName, status: Record<string, unknown>) {
    const fail = this.failPatch.get(`${ref.namespace ?? ""}/${ref.name}`);
    if (fail) throw { ok: false, ...fail };
    this.patches.push({ kind, ref: { namespace: ref.namespace, name: ref.name }, status });
    const k = this.key(kind, ref.namespace, ref.name);
    const held = this.objects.get(k);
    if (!held) return undefined;
    const merged = { ...((held as { status?: object }).status ?? {}) } as Record<string, unknown>;
    for (const [key, v] of Object.entries(status)) {
      if (v === null) delete merged[key];
      else merged[key] = v;
    }
    const next = {
      ...held,
      metadata: { ...held.metadata, resourceVersion: String(++this.#rv) },
      status: merged,
    } as KubernetesObject;
    this.objects.set(k, next);
    return next;
  }

  /** Routes: like the API server, refuse when the resourceVersion moved on. */
  async replaceRouteStatus(
    kind: "HTTPRoute" | "GRPCRoute",
    ref: ObjectName & { resourceVersion: string },
    status: Record<string, unknown>,
  ) {
    const held = this.objects.get(this.key(kind, ref.namespace, ref.name));
    if (held && held.metadata?.resourceVersion !== ref.resourceVersion) {
      throw {
        ok: false,
        status: 422,
        statusText: "Unprocessable Entity",
        data: {
          message:
            "the server rejected our request due to an error in our request: testing value /metadata/resourceVersion failed",
        },
      };
    }
    this.routeReplaces++;
    const keys = Object.keys((held as { status?: object })?.status ?? {});
    const body: Record<string, unknown> = { ...status };
    for (const k of keys) if (!(k in body)) body[k] = null;
    return this.patchStatus(kind, ref, body);
  }

  routeReplaces = 0;

  async apply(obj: KubernetesObject) {
    this.applied.push(obj);
    const withRv = {
      ...obj,
      metadata: { ...obj.metadata, resourceVersion: String(++this.#rv), uid: `uid-${obj.metadata?.name}` },
    };
    this.put(withRv);
    return withRv;
  }

  /** Every GET, as `namespace/name`, in order (the API server's request log for Secrets). */
  gets: string[] = [];
  /** Names (ns/name) whose GET fails with the given HTTP response. */
  failGet = new Map<string, { status: number; statusText: string; data: unknown }>();
  /** Names (ns/name) whose GET does not answer until `release(name)`. */
  #held = new Map<string, (() => void)[]>();
  holdGet = new Set<string>();

  release(name: string) {
    this.holdGet.delete(name);
    (this.#held.get(name) ?? []).forEach((r) => r());
    this.#held.delete(name);
  }

  async get(kind: "Secret", ref: ObjectName) {
    const name = `${ref.namespace ?? ""}/${ref.name}`;
    this.gets.push(name);
    if (this.holdGet.has(name))
      await new Promise<void>((r) => this.#held.set(name, [...(this.#held.get(name) ?? []), r]));
    const fail = this.failGet.get(name);
    if (fail) throw { ok: false, ...fail };
    return this.objects.get(this.key(kind, ref.namespace, ref.name));
  }

  async delete(obj: KubernetesObject) {
    this.deleted.push(obj);
    this.objects.delete(this.key(obj.kind!, obj.metadata?.namespace, obj.metadata!.name!));
  }

  async list(kind: ListedKind) {
    return {
      items: [...this.objects.values()].filter((o) => o.kind === kind),
      resourceVersion: String(this.#rv),
    };
  }
}

/** The ACME seed (testdata/acme.yaml) in the fake API server, each object with a uid and resourceVersion "1". */
export function seedAcme(kube: FakeKube): void {
  const docs = parseAllDocuments(readFileSync(new URL("./testdata/acme.yaml", import.meta.url), "utf8"));
  docs.forEach((d, i) => {
    const o = d.toJS() as KubernetesObject;
    o.metadata = { uid: `uid-${i}`, resourceVersion: "1", ...o.metadata };
    kube.put(o);
  });
}
