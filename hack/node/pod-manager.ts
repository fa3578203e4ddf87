/**
 * Routes Pod, ConfigMap and Secret watch events to per-pod workers: binds unscheduled pods to this
 * node (there is no scheduler), starts a worker per pod bound here, adopts what a previous agent
 * run left in the state dir and tears down what no longer has a pod.
 */
import { Recorder } from "./events.js";
import { Change } from "./informer.js";
import { Ipam } from "./ipam.js";
import { Kube, isStatus } from "./kube.js";
import { Log, errInfo } from "./log.js";
import { NODE_NAME } from "./node-info.js";
import { PodWorker, WorkerDeps } from "./pod-worker.js";
import { PodRecord, StateDir } from "./state.js";
import { TokenCache } from "./tokens.js";
import { ConfigMap, Pod, Secret } from "./types.js";
import { VolumeSources, volumeUses } from "./volumes.js";

/** a pod whose deletion deadline (deletionTimestamp = deletion time + grace) passed this long ago is stopped at once */
const OVERDUE_STOP_MS = 3_000;
/** ...and one still in the API this long after its deadline is logged as an error */
const OVERDUE_ERROR_MS = 30_000;
/** finished pods are remembered this long, so late events about them start no new worker */
const FINISHED_MEMORY_MS = 10 * 60_000;

export class PodManager {
  private readonly workers = new Map<string, PodWorker>();
  /** uid -> when its worker finished */
  private readonly finished = new Map<string, number>();
  private readonly overdueLogged = new Set<string>();
  private readonly binding = new Set<string>();
  private readonly adoptable = new Map<string, PodRecord>();

  constructor(
    private readonly kube: Kube,
    private readonly state: StateDir,
    private readonly ipam: Ipam,
    private readonly sources: VolumeSources,
    private readonly tokens: TokenCache,
    private readonly log: Log,
    private readonly event: Recorder,
    /** the node whose pods this manager runs (tests run one for a node of their own) */
    private readonly nodeName: string = NODE_NAME,
  ) {
    for (const rec of state.loadPods()) this.adoptable.set(rec.uid, rec);
    ipam.retainOnly(new Set(this.adoptable.keys()));
  }

  get size() {
    return this.workers.size;
  }

  onPod(c: Change<Pod>) {
    const pod = c.obj;
    const uid = pod.metadata.uid!;
    if (c.type === "delete") {
      this.workers.get(uid)?.removed();
      return;
    }
    if (!pod.spec.nodeName) {
      if (!pod.metadata.deletionTimestamp) void this.bind(pod);
      return;
    }
    if (pod.spec.nodeName !== this.nodeName) return;
    let w = this.workers.get(uid);
    if (!w) {
      // a late event (e.g. our own finalising delete's) about a pod already stopped and finalised
      if (this.finished.has(uid) && pod.metadata.deletionTimestamp) return;
      w = new PodWorker(pod, this.deps(), this.adoptable.get(uid));
      this.adoptable.delete(uid);
      this.workers.set(uid, w);
    }
    w.update(pod);
  }

  /** Called once the pod list is synced: state records with no pod left are torn down. */
  reapOrphans(livePods: Pod[]) {
    const live = new Set(livePods.map((p) => p.metadata.uid));
    for (const rec of [...this.adoptable.values()]) {
      if (live.has(rec.uid)) continue;
      this.adoptable.delete(rec.uid);
      this.log.info(
        { pod: `${rec.namespace}/${rec.name}`, uid: rec.uid },
        "pod from a previous agent run is gone; cleaning up",
      );
      // its containers as recorded, so their processes are stopped gracefully (SIGTERM first)
      const containers = Object.keys(rec.procs).map((name) => ({ name, image: "" }));
      const stub = {
        metadata: { name: rec.name, namespace: rec.namespace, uid: rec.uid },
        spec: { containers },
      } as Pod;
      const w = new PodWorker(stub, this.deps(), rec);
      this.workers.set(rec.uid, w);
      w.removed();
    }
  }

  /**
   * Safety net run every few seconds against the API's view of the pods (the informer's cache),
   * whatever the workers believe: a deleted pod whose worker has not taken the deletion (or that
   * has no worker) gets it again; one whose deletion deadline has passed is stopped now, alongside
   * whatever its worker is doing; a worker whose pod is no longer in the API is told so. Also the
   * watchdog's report: a pod still in the API long after its deadline is an error with its step.
   */
  sweep(apiPods: Pod[], now = Date.now()) {
    const present = new Set<string>();
    for (const pod of apiPods) {
      const uid = pod.metadata.uid!;
      present.add(uid);
      const deletedAt = pod.metadata.deletionTimestamp;
      if (pod.spec.nodeName !== this.nodeName || !deletedAt) continue;
      const who = { pod: `${pod.metadata.namespace}/${pod.metadata.name}`, uid, deletionTimestamp: deletedAt };
      let w = this.workers.get(uid);
      if (!w) {
        if (this.finished.has(uid)) continue; // finalised; the API is catching up
        this.log.warn(who, "sweep: deleted pod had no worker; starting one to stop it");
        this.onPod({ type: "upsert", obj: pod });
        w = this.workers.get(uid);
        if (!w) continue;
      }
      if (!w.deletionRequested) {
        this.log.warn(who, "sweep: the pod's worker had missed its deletion; handing it over again");
        w.update(pod);
      }
      const overdueMs = now - Date.parse(deletedAt);
      if (overdueMs > OVERDUE_STOP_MS) w.stopNow(`deletion deadline passed ${Math.round(overdueMs / 1000)} s ago`);
      if (overdueMs > OVERDUE_ERROR_MS && !this.overdueLogged.has(uid)) {
        this.overdueLogged.add(uid);
        this.log.error(
          { ...who, overdueMs, syncRunningMs: w.syncRunningMs(now) },
          "pod still in the API long after its deletion deadline",
        );
      }
    }
    for (const [uid, w] of this.workers) {
      if (present.has(uid) || w.deletionRequested) continue;
      this.log.warn(
        { pod: `${w.pod.metadata.namespace}/${w.pod.metadata.name}`, uid },
        "sweep: pod is no longer in the API; stopping it",
      );
      w.removed();
    }
    for (const [uid, t] of this.finished) if (t < now - FINISHED_MEMORY_MS) this.finished.delete(uid);
  }

  private deps(): WorkerDeps {
    return {
      kube: this.kube,
      state: this.state,
      ipam: this.ipam,
      sources: this.sources,
      log: this.log,
      event: this.event,
      onFinished: (id) => {
        this.workers.delete(id);
        this.finished.set(id, Date.now());
        this.overdueLogged.delete(id);
        this.tokens.forget(id);
      },
    };
  }

  onObject(kind: "ConfigMap" | "Secret", c: Change<ConfigMap | Secret>) {
    const ns = c.obj.metadata.namespace;
    const name = c.obj.metadata.name;
    for (const w of this.workers.values()) {
      if (w.pod.metadata.namespace !== ns) continue;
      if ((w.pod.spec.volumes ?? []).some((v) => volumeUses(v, kind, name))) w.volumesChanged();
    }
  }

  private async bind(pod: Pod) {
    const uid = pod.metadata.uid!;
    if (this.binding.has(uid)) return;
    this.binding.add(uid);
    const { namespace: ns, name } = pod.metadata;
    try {
      await this.kube.request("POST", `/api/v1/namespaces/${ns}/pods/${name}/binding`, {
        apiVersion: "v1",
        kind: "Binding",
        metadata: { name, namespace: ns, uid },
        target: { apiVersion: "v1", kind: "Node", name: this.nodeName },
      });
      this.log.info({ pod: `${ns}/${name}`, uid, node: this.nodeName }, "pod bound to node");
      this.event(pod, "Normal", "Scheduled", `Successfully assigned ${ns}/${name} to ${this.nodeName}`);
    } catch (err) {
      if (!isStatus(err, 409) && !isStatus(err, 404))
        this.log.warn({ pod: `${ns}/${name}`, err: errInfo(err) }, "binding failed; retrying on the next event");
    } finally {
      setTimeout(() => this.binding.delete(uid), 2000);
    }
  }

  /** Leave every pod running (for the next agent run to adopt). */
  detachAll() {
    for (const w of this.workers.values()) w.detach();
  }
}
