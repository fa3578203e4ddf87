/**
 * The controller: one index, one reconcile loop, one status writer, one data-plane sync.
 * Watch bindings call `upserted(kind)` / `deleted(kind)`; every change that affects the engine's
 * input marks the loop dirty; each run translates the whole snapshot, syncs the data plane and
 * writes statuses. Validate bindings read the same index to compute kubectl warnings.
 */
import { hostname } from "node:os";
import { K8s, type KubernetesObject } from "kubernetes-fluent-client";
import type { Gateway, GatewayClass } from "../crd";
import type { TranslateOptions } from "../engine/snapshot";
import { dataPlane } from "../engine/conditions";
import type { ModuleSettings } from "./config";
import { DataPlaneSync, type DataPlaneManifests, type RenderGateway, type SyncResult } from "./dataplane";
import type { GatewayIR } from "../engine/ir";
import { foldDataPlane } from "./gateway-status";
import { INDEX_KINDS, LISTED_KINDS, ObjectIndex, type IndexKind } from "./index";
import { API_VERSIONS, MODELS, type KubeClient } from "./kube";
import { describeError, log as rootLog, type Logger } from "./log";
import { ReconcileLoop, type RunOutcome } from "./loop";
import { ObjectRetries } from "./retries";
import { StatusWriter } from "./status-writer";
import type { Translate } from "../policy/warnings";
import type { TranslateResult } from "../engine/result";
import type { ClusterSnapshot } from "../engine/snapshot";
import { ConfigVetter, type VersionedCheck } from "./config-vet";
import { OwnershipIndexWriter } from "./ownership-index-writer";
import { secretsToRead } from "../engine/secrets";
import { configSecretName } from "../dataplane/conventions";
import { SecretReader, type WantedSecret } from "./secrets";
import { ConditionEvents } from "./condition-events";
import { EventRecorder, type RecorderOptions } from "./events";
import { CrosswayMetrics } from "./metrics";

/** Vetting passes per run: each pass leaves out what the last one found; then give up for now. */
const MAX_VET_PASSES = 6;
const ROUTE_KINDS = new Set(["HTTPRoute", "GRPCRoute"]);
/** Kinds that decide which Secrets are needed (engine/secrets.ts, and our config Secrets). */
const SECRET_INPUTS = new Set<IndexKind>(["GatewayClass", "Gateway", "ListenerSet", "ReferenceGrant"]);
/** How long the first run waits at startup for the Secrets it needs to be read once. */
const PRIME_SECRETS_MS = 15_000;

export interface ControllerDeps {
  settings: ModuleSettings;
  kube: KubeClient;
  translate: Translate;
  /**
   * The data plane (renderer + per-Gateway manifests); without it nothing is programmed. With
   * `check` (`haproxy -c` of the data plane's version), every rendering is vetted before it is
   * published and routes HAProxy refuses are left out (config-vet.ts).
   */
  dataPlane?: { render: RenderGateway; manifests: DataPlaneManifests; check?: VersionedCheck };
  log?: Logger;
  /** Where the metrics go (the process's `moduleMetrics` in the module; a fresh registry by default). */
  metrics?: CrosswayMetrics;
  /** Event recorder settings (rate limits, clock); reportingInstance defaults to $HOSTNAME (the pod). */
  events?: Partial<RecorderOptions>;
}

/** No data plane wired in: say so in Programmed rather than pretend. */
const withoutDataPlane = (irs: GatewayIR[]): SyncResult => ({
  errors: [],
  gateways: irs.map((ir) => ({
    namespace: ir.gateway.namespace,
    name: ir.gateway.name,
    generation: 0,
    addresses: [],
    programmed: dataPlane.notWiredIn(),
  })),
});

export class Controller {
  readonly index = new ObjectIndex();
  readonly loop: ReconcileLoop;
  readonly settings: ModuleSettings;
  readonly metrics: CrosswayMetrics;
  /** Kubernetes Events about condition transitions (fire-and-forget; `events.idle()` in tests). */
  readonly events: EventRecorder;
  readonly #deps: ControllerDeps;
  readonly #writer: StatusWriter;
  readonly #dataplane: DataPlaneSync | undefined;
  readonly #vetter: ConfigVetter | undefined;
  readonly #ownershipIndex: OwnershipIndexWriter;
  /** Routes the data plane refused (routeKey → at which generation, why); dropped when they change. */
  #refused = new Map<string, { generation: number; why: string }>();
  /**
   * Why vetting could not run in the last run (CheckUnavailable), if it could not: what that run
   * published is unvetted, so it goes out without ANN_VETTED_WITH and the agents check it.
   */
  #vetUnavailable: string | undefined;
  /** Gateways whose data-plane sync failed, each waiting out its own backoff. */
  readonly #dataPlaneRetries: ObjectRetries;
  readonly #log: Logger;
  /** The Secrets the engine and the data-plane sync need, read by name (secrets.ts). */
  readonly #secrets: SecretReader;
  #secretsDue = false;
  /** Set once the index is first complete: from then on, changes re-decide the needed Secrets. */
  #secretsLive = false;
  #primed = false;
  #resyncTimer: NodeJS.Timeout | undefined;
  #catchUpTimer: NodeJS.Timeout | undefined;
  #watchers: { close: () => void }[] = [];
  #stopped = false;

  constructor(deps: ControllerDeps) {
    this.#deps = deps;
    this.settings = deps.settings;
    this.#log = (deps.log ?? rootLog).child({ part: "controller" });
    const retry = { baseMs: deps.settings.objectBackoffBaseMs, maxMs: deps.settings.objectBackoffMaxMs };
    this.metrics = deps.metrics ?? new CrosswayMetrics();
    this.events = new EventRecorder(deps.kube, {
      reportingController: deps.settings.controllerName,
      reportingInstance: process.env.HOSTNAME || hostname(),
      log: this.#log,
      counted: (type, outcome) => this.metrics.events.inc({ type, outcome }),
      ...deps.events,
    });
    const transitions = new ConditionEvents((e) => this.events.record(e), this.index);
    this.#writer = new StatusWriter(deps.kube, this.index, deps.settings.controllerName, {
      log: this.#log,
      retry,
      transitions,
    });
    this.#dataPlaneRetries = new ObjectRetries(retry);
    this.#ownershipIndex = new OwnershipIndexWriter(deps.kube, { log: this.#log, retry });
    const check = deps.dataPlane?.check;
    this.#vetter =
      deps.dataPlane && check
        ? new ConfigVetter(deps.dataPlane.render, { check, created: this.#routeCreated, log: this.#log })
        : undefined;
    this.#dataplane =
      deps.dataPlane &&
      new DataPlaneSync(
        deps.kube,
        this.index,
        this.#vetter?.rendered ?? deps.dataPlane.render,
        deps.dataPlane.manifests,
        {
          log: this.#log,
          controllerName: deps.settings.controllerName,
          vettedWith: () => (this.#vetter && this.#vetUnavailable === undefined ? check?.version : undefined),
        },
      );
    this.loop = new ReconcileLoop(() => this.reconcile(), { ...deps.settings, log: this.#log });
    this.#secrets = new SecretReader(deps.kube, this.index, {
      refreshMs: deps.settings.secretRefreshSeconds * 1000,
      onChange: () => this.loop.markDirty(),
      log: this.#log,
    });
  }

  /**
   * What to read: the certificateRefs the engine may use, and the config Secret of every Gateway
   * (ours: kept current, so a deleted or edited one is republished; others': read once, so the
   * data plane of a Gateway that is no longer ours is found and removed).
   */
  #wantedSecrets(): WantedSecret[] {
    const inputs = {
      gatewayClasses: this.index.list<GatewayClass>("GatewayClass"),
      gateways: this.index.list<Gateway>("Gateway"),
      listenerSets: this.index.list("ListenerSet") as never,
      referenceGrants: this.index.list("ReferenceGrant") as never,
    };
    const wanted = new Map<string, WantedSecret>();
    for (const r of secretsToRead(inputs, this.settings.controllerName))
      wanted.set(`${r.namespace}/${r.name}`, { ...r, refresh: true });
    for (const gw of inputs.gateways) {
      const namespace = gw.metadata?.namespace ?? "";
      const name = configSecretName(gw.metadata?.name ?? "");
      const key = `${namespace}/${name}`;
      wanted.set(key, { namespace, name, refresh: this.isOurs(gw) || !!wanted.get(key)?.refresh });
    }
    return [...wanted.values()];
  }

  /** True if a Secret no longer needed was dropped from the index. */
  #refreshSecrets(): boolean {
    this.#secretsDue = false;
    return this.#secrets.want(this.#wantedSecrets());
  }

  /**
   * A change to what decides the needed Secrets: start reading new ones now, during the loop's
   * debounce, rather than in the run (a burst of events computes the set once).
   */
  #secretInputsChanged(kind: IndexKind) {
    if (!SECRET_INPUTS.has(kind) || this.#secretsDue || !this.#secretsLive) return;
    this.#secretsDue = true;
    setImmediate(() => {
      if (this.#secretsDue && this.#refreshSecrets()) this.loop.markDirty();
    });
  }

  /** What translate() gets, here and in admission warnings: the same input, the same verdicts. */
  get translateOptions(): TranslateOptions {
    const excluded = this.#excluded();
    return Object.keys(excluded).length
      ? { controllerName: this.settings.controllerName, excluded }
      : { controllerName: this.settings.controllerName };
  }

  #routeOf(key: string): KubernetesObject | undefined {
    const [kind, namespace, name] = key.split("/");
    return ROUTE_KINDS.has(kind) ? this.index.get(kind as IndexKind, namespace, name) : undefined;
  }

  #routeCreated = (key: string): string => String(this.#routeOf(key)?.metadata?.creationTimestamp ?? "");

  /** Refusals that still apply: the route exists at the generation that was refused. */
  #excluded(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [key, r] of this.#refused) {
      const generation = this.#routeOf(key)?.metadata?.generation;
      if (generation === r.generation) out[key] = r.why;
      else this.#refused.delete(key);
    }
    return out;
  }

  /**
   * Translate, then vet each Gateway's rendering with the data plane's HAProxy: routes it refuses
   * are recorded and the snapshot translated again without them, so their status says why and
   * nothing they render is ever published. Gateways whose own parts are refused are returned.
   */
  async #translateVetted(
    snapshot: ClusterSnapshot,
  ): Promise<{ result: TranslateResult; refused: Map<string, string> }> {
    let result = this.#deps.translate(snapshot, this.translateOptions);
    if (!this.#vetter) return { result, refused: new Map() };
    for (let pass = 1; ; pass++) {
      const v = await this.#vetter.vet(result.ir);
      this.#noteVetting(v.unavailable);
      if (v.unavailable !== undefined) return { result, refused: new Map() };
      if (v.refused.size === 0) return { result, refused: v.gateways };
      for (const [key, why] of v.refused) {
        const generation = this.#routeOf(key)?.metadata?.generation;
        if (typeof generation === "number") this.#refused.set(key, { generation, why });
      }
      result = this.#deps.translate(snapshot, this.translateOptions);
      if (pass >= MAX_VET_PASSES) {
        // Still refusals after this many passes: publish nothing new for the Gateways that still
        // have some this run (each vetted on its own, so the others publish as usual).
        const gateways = new Map<string, string>();
        for (const ir of result.ir) {
          const left = await this.#vetter.vet([ir]);
          this.#noteVetting(left.unavailable);
          if (left.unavailable !== undefined) return { result, refused: new Map() };
          for (const [gw, why] of left.gateways) gateways.set(gw, why);
          const gw = `${ir.gateway.namespace}/${ir.gateway.name}`;
          if (left.refused.size > 0 && !gateways.has(gw))
            gateways.set(gw, `no configuration HAProxy accepts was found in ${MAX_VET_PASSES} passes`);
        }
        return { result, refused: gateways };
      }
    }
  }

  /**
   * A check that could not run is no verdict: like a controller without haproxy, publish what the
   * engine made, unvetted (the data-plane agents check it, and keep serving their last good config
   * if HAProxy refuses it). Logged when vetting stops and when it works again.
   */
  #noteVetting(unavailable: string | undefined): void {
    if (unavailable !== undefined && this.#vetUnavailable === undefined)
      this.#log.warn(
        { reason: unavailable },
        "config vetting unavailable: publishing unvetted configs (the data-plane agents check them) until it works again",
      );
    else if (unavailable === undefined && this.#vetUnavailable !== undefined)
      this.#log.info({ was: this.#vetUnavailable }, "config vetting works again");
    this.#vetUnavailable = unavailable;
  }

  /** True once every kind has been listed: before that the index is partial. */
  get primed(): boolean {
    return this.#primed;
  }

  upserted = (kind: IndexKind) => (obj: KubernetesObject) => {
    if (!this.index.upsert(kind, obj).inputChanged) return;
    this.loop.markDirty();
    this.#secretInputsChanged(kind);
  };

  deleted = (kind: IndexKind) => (obj: KubernetesObject) => {
    if (!this.index.remove(kind, obj).inputChanged) return;
    this.loop.markDirty();
    this.#secretInputsChanged(kind);
  };

  isOurs = (gw: Gateway): boolean => {
    const cls = this.index.get<GatewayClass>("GatewayClass", undefined, gw.spec?.gatewayClassName ?? "");
    return cls?.spec?.controllerName === this.settings.controllerName;
  };

  #listenerSetParent = (namespace: string, name: string) => {
    const ls = this.index.get<KubernetesObject & { spec?: { parentRef?: { name: string; namespace?: string } } }>(
      "ListenerSet",
      namespace,
      name,
    );
    const ref = ls?.spec?.parentRef;
    return ref ? { namespace: ref.namespace ?? namespace, name: ref.name } : undefined;
  };

  /**
   * One full recompute. A write that fails for one object (a status, a Gateway's data plane) is
   * that object's failure alone: the run goes on, and returns when the first such object is due
   * to be tried again. Throws (the loop backs off) only when nothing could be done for anyone.
   */
  async reconcile(): Promise<RunOutcome> {
    const end = this.metrics.reconcileDuration.startTimer();
    try {
      const outcome = await this.#reconcile();
      end({ outcome: outcome.retryInMs === undefined ? "ok" : "partial" });
      return outcome;
    } catch (e) {
      this.metrics.reconcileFailures.inc();
      end({ outcome: "error" });
      throw e;
    }
  }

  async #reconcile(): Promise<RunOutcome> {
    const started = Date.now();
    // Reads of newly needed Secrets start here at the latest; they are not awaited (their
    // answers mark the loop dirty): one slow GET must not hold up every other Gateway.
    this.#refreshSecrets();
    const { result, refused } = await this.#translateVetted(this.index.snapshot());
    const translated = Date.now();
    const planes = this.#dataplane
      ? await this.#dataplane.sync(result.ir, this.isOurs, refused)
      : withoutDataPlane(result.ir);
    const statuses = foldDataPlane(result.statuses, planes.gateways, this.#listenerSetParent);
    const summary = await this.#writer.write(statuses);
    this.metrics.observeStatuses(statuses);
    this.metrics.observeDataPlane(planes.gateways);
    if (summary.failed) this.metrics.objectWriteFailures.inc({ what: "status" }, summary.failed);
    if (planes.errors.length) this.metrics.objectWriteFailures.inc({ what: "dataplane" }, planes.errors.length);
    const indexRetry = await this.#ownershipIndex.write(result.ownershipIndex ?? { listeners: [] });
    const due = [summary.retryInMs, this.#noteDataPlaneErrors(planes), indexRetry].filter((ms) => ms !== undefined);
    const outcome: RunOutcome = due.length ? { retryInMs: Math.min(...due) } : {};
    this.#log.info(
      {
        translateMs: translated - started,
        refusedRoutes: this.#refused.size || undefined,
        totalMs: Date.now() - started,
        statuses: statuses.length,
        gateways: result.ir.length,
        ...summary,
        dataPlaneErrors: planes.errors.length,
        retryInMs: outcome.retryInMs,
      },
      "reconciled",
    );
    return outcome;
  }

  /**
   * The data plane is synced for every Gateway on every run; a Gateway whose sync failed also
   * gets a run of its own once its backoff is over. Returns when the first is due.
   */
  #noteDataPlaneErrors(planes: SyncResult): number | undefined {
    const failing = new Set<string>();
    for (const e of planes.errors) {
      const key = `${e.namespace}/${e.name}`;
      if (failing.has(key)) continue;
      failing.add(key);
      const { attempt, retryInMs } = this.#dataPlaneRetries.failed(key);
      this.#log.warn(
        { kind: "Gateway", namespace: e.namespace, name: e.name, status: e.status, error: e.error, attempt, retryInMs },
        "data-plane sync failed; retrying this Gateway",
      );
    }
    for (const gw of planes.gateways) {
      const key = `${gw.namespace}/${gw.name}`;
      if (failing.has(key)) continue;
      const failedAttempts = this.#dataPlaneRetries.succeeded(key);
      if (failedAttempts > 0) {
        this.#log.info(
          { kind: "Gateway", namespace: gw.namespace, name: gw.name, failedAttempts },
          "data-plane sync recovered",
        );
      }
    }
    this.#dataPlaneRetries.retainOnly(failing);
    return this.#dataPlaneRetries.nextRetryInMs();
  }

  /** Relists every listed kind into the index (drops what a missed DELETE left behind); returns the kinds whose content changed. */
  async resync(): Promise<IndexKind[]> {
    const changed: IndexKind[] = [];
    for (const kind of LISTED_KINDS) {
      const { items, resourceVersion } = await this.#deps.kube.list(kind);
      if (this.index.replaceAll(kind, items, resourceVersion)) changed.push(kind);
    }
    if (changed.length) this.loop.markDirty();
    this.#dataplane?.forgetApplied();
    // Re-check everything once per resync (e.g. after a data-plane HAProxy upgrade).
    this.#vetter?.forget();
    this.#refused.clear();
    return changed;
  }

  /** Prime the index (retrying with backoff), then start the loop and the periodic resync. */
  async start(): Promise<void> {
    let attempt = 0;
    while (!this.#stopped) {
      try {
        await this.resync();
        break;
      } catch (e) {
        attempt++;
        const delay = Math.min(this.settings.backoffMaxMs, this.settings.backoffBaseMs * 2 ** (attempt - 1));
        this.#log.warn({ ...describeError(e), attempt, retryInMs: delay }, "initial list failed; retrying");
        await new Promise((r) => setTimeout(r, delay));
      }
    }
    if (this.#stopped) return;
    // The first run sees the Secrets it needs (a listener is not reported without its
    // certificate because a read was still under way). Bounded: a hung read is retried later.
    this.#secretsLive = true;
    this.#refreshSecrets();
    if (!(await this.#secrets.settled(PRIME_SECRETS_MS)))
      this.#log.warn({ waitedMs: PRIME_SECRETS_MS }, "some needed Secrets were not read yet; starting without them");
    this.#primed = true;
    this.loop.markDirty();
    this.loop.start();
    this.#log.info(
      { counts: Object.fromEntries(INDEX_KINDS.map((k) => [k, this.index.size(k)])), secretReads: this.#secrets.reads },
      "controller started",
    );
    if (this.settings.resyncSeconds > 0) {
      this.#resyncTimer = setInterval(() => {
        this.resync().catch((e) => this.#log.warn(describeError(e), "periodic resync failed"));
      }, this.settings.resyncSeconds * 1000);
      this.#resyncTimer.unref();
    }
    if (this.settings.catchUpResyncSeconds > 0) {
      this.#catchUpTimer = setTimeout(() => {
        this.resync().then(
          (changed) => {
            if (changed.length) this.#log.info({ kinds: changed }, "catch-up relist repaired the index");
          },
          (e) => this.#log.warn(describeError(e), "catch-up relist failed"),
        );
      }, this.settings.catchUpResyncSeconds * 1000);
      this.#catchUpTimer.unref();
    }
  }

  /**
   * Admission-only processes (pepr's admission Deployment runs no watches) keep the index for
   * warnings current with their own watches.
   */
  async startWatchingDirectly(): Promise<void> {
    // Warnings depend on attachment and reference resolution, not on endpoints or pods.
    // Secrets are read by name, as in the controller (certificates: the verdict on a listener).
    const needed = LISTED_KINDS.filter((k) => k !== "EndpointSlice" && k !== "Pod");
    for (const kind of needed) {
      const watcher = K8s(MODELS[kind]).Watch((obj, phase) => {
        const o = { ...obj, apiVersion: obj.apiVersion ?? API_VERSIONS[kind], kind: obj.kind ?? kind };
        const change = String(phase) === "DELETED" ? this.index.remove(kind, o) : this.index.upsert(kind, o);
        if (change.inputChanged) this.#secretInputsChanged(kind);
      });
      this.#watchers.push(watcher);
      await watcher.start();
    }
    this.#secretsLive = true;
    this.#refreshSecrets();
    await this.#secrets.settled(PRIME_SECRETS_MS);
    this.#primed = true;
    this.#log.info("admission index watching");
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#resyncTimer);
    clearTimeout(this.#catchUpTimer);
    this.#watchers.forEach((w) => w.close());
    this.#secrets.stop();
    this.loop.stop();
  }
}
