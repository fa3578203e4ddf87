/**
 * One pod on this node, driven by a serialized sync loop (kicked by watch events, process exits,
 * probe results and a 1 s tick): sandbox (IP + netns) -> volumes -> init containers in order ->
 * containers (restart with backoff per restartPolicy) -> probes -> status patch when it changed.
 * Deletion stops the processes (SIGTERM, SIGKILL after grace), removes the sandbox and then
 * finalises the Pod object. Errors stay inside the pod: they show in its status and the log.
 */
import path from "node:path";
import { Ctr, isRunning, newCtr } from "./container-status.js";
import { containerEnv, expand } from "./env.js";
import { containerArgv, ensureHostBinary, mapImage } from "./images.js";
import { Ipam } from "./ipam.js";
import { Kube, isStatus } from "./kube.js";
import { Log, errInfo } from "./log.js";
import { ensurePodNetwork, hostVethName, netnsName, netnsPids, removePodNetwork } from "./netns.js";
import { NODE_IP } from "./node-info.js";
import { buildStatus, podPhase } from "./pod-status.js";
import { runDueProbes } from "./probe-runner.js";
import { Mount, launch, missingHostPaths, signalGroup, startError, stopGroup } from "./process.js";
import { PodRecord, StateDir, procAlive } from "./state.js";
import { ContainerStatus, Pod, Probe } from "./types.js";
import { Token, VolumeSources, materialiseVolume } from "./volumes.js";
import { Recorder } from "./events.js";

export interface WorkerDeps {
  kube: Kube;
  state: StateDir;
  ipam: Ipam;
  sources: VolumeSources;
  log: Log;
  /** paths other live pods created on the host (not to be removed under them) */
  onFinished: (uid: string) => void;
  event: Recorder;
}

const BACKOFF_MAX_MS = 60_000;
const BACKOFF_RESET_AFTER_MS = 60_000;
/** a deletion waits at most this long for a running sync before the pod is stopped alongside it */
const DELETION_WAITS_FOR_SYNC_MS = 2_000;
/** a sync running longer than this is logged (once per sync) with the step it is waiting in */
const SYNC_STUCK_MS = 30_000;

/**
 * Is `a` an older version of the same object than `b`? resourceVersions are etcd revisions
 * (decimal integers) in every API server we run against; anything else is not comparable (false).
 */
const olderVersion = (a: Pod, b: Pod): boolean => {
  const ra = a.metadata.resourceVersion ?? "";
  const rb = b.metadata.resourceVersion ?? "";
  if (!/^\d+$/.test(ra) || !/^\d+$/.test(rb)) return false;
  return BigInt(ra) < BigInt(rb);
};

const statusKey = (s: unknown) => JSON.stringify(s);

export class PodWorker {
  readonly uid: string;
  pod: Pod;
  rec?: PodRecord;
  private readonly log: Log;
  private init: Ctr[] = [];
  private main: Ctr[] = [];
  private volumePaths = new Map<string, string>();
  private volumeErrors = new Map<string, string>();
  private volumesDirty = true;
  private tokenRefreshAt = Infinity;
  /** after a volume failed: when to try again (doubling up to 10 s; a watch event retries at once) */
  private volumeRetryAt = 0;
  private volumeRetryMs = 500;
  private sandboxReady = false;
  private sandboxMessage?: string;
  private sandboxRetryAt = 0;
  private teardownFailures = 0;
  private sandboxRetryMs = 1000;
  private startTime = new Date().toISOString();
  private lastPublished = "";
  private lastPublishError?: string;
  private running = false;
  private dirty = false;
  /** when the running sync started, and the step it is in (for the watchdog) */
  private syncStartedAt = 0;
  private step = "";
  private stuckLogged = false;
  /**
   * The deletion of the Pod as first seen on any version of it. Sticky: a response or event
   * carrying an older version (without deletionTimestamp) must never undo it.
   */
  private deletion?: { timestamp: string; graceS?: number };
  private deleting = false;
  private terminating?: Promise<void>;
  /** the grace period of the stop in progress */
  private graceMs = 0;
  /** the Pod object is gone from the API (no finalising delete needed) */
  private gone = false;
  private finished = false;
  private readonly timer: NodeJS.Timeout;
  private terminalOnArrival: boolean;

  constructor(
    pod: Pod,
    private readonly d: WorkerDeps,
    rec?: PodRecord,
  ) {
    this.uid = pod.metadata.uid!;
    this.pod = pod;
    this.rec = rec;
    this.log = d.log.child({ pod: `${pod.metadata.namespace}/${pod.metadata.name}`, uid: this.uid });
    const phase = pod.status?.phase;
    // a pod that finished before this agent run (it restarted since) must not run again
    this.terminalOnArrival = phase === "Succeeded" || phase === "Failed";
    if (pod.status?.startTime) this.startTime = pod.status.startTime;
    this.noteDeletion(pod);
    this.buildContainers();
    this.timer = setInterval(() => this.tick(), 1000);
  }

  /** Remembers a deletion seen on any version of the pod (it cannot be undone). */
  private noteDeletion(pod: Pod) {
    if (this.deletion || !pod.metadata.deletionTimestamp) return;
    this.deletion = { timestamp: pod.metadata.deletionTimestamp, graceS: pod.metadata.deletionGracePeriodSeconds };
  }

  /** Takes a newer version of the pod; an older one (a late response, a stale event) only contributes its deletion. */
  private takePod(pod: Pod, from: string) {
    this.noteDeletion(pod);
    if (olderVersion(pod, this.pod)) {
      this.log.debug(
        { from, got: pod.metadata.resourceVersion, have: this.pod.metadata.resourceVersion },
        "ignored an older version of the pod",
      );
      return;
    }
    this.pod = pod;
  }

  /** Is the pod to be stopped (deleted in the API, or gone from it)? */
  get deletionRequested(): boolean {
    return !!this.deletion || this.gone;
  }

  /** How long the current sync has been running (0 when none is). */
  syncRunningMs(now = Date.now()): number {
    return this.running ? now - this.syncStartedAt : 0;
  }

  /**
   * The 1 s tick, which is also the watchdog: a sync stuck in an await is logged with its step, and
   * a requested deletion never waits behind it for more than DELETION_WAITS_FOR_SYNC_MS.
   */
  private tick() {
    if (this.finished) return;
    const ranMs = this.syncRunningMs();
    // stopping waits up to the grace period by design; only beyond that is it stuck
    if (ranMs > SYNC_STUCK_MS + (this.terminating ? this.graceMs : 0) && !this.stuckLogged) {
      this.stuckLogged = true;
      this.log.error({ step: this.step, runningMs: ranMs }, "pod sync stuck; deletions still proceed without it");
    }
    if (ranMs > DELETION_WAITS_FOR_SYNC_MS && this.deletionRequested) this.stopNow("sync still running");
    this.kick();
  }

  /** Starts stopping the pod now, alongside a sync that may be stuck (the sweep and the watchdog use this). */
  stopNow(why: string) {
    if (this.finished || this.terminating) return;
    this.log.warn(
      { why, step: this.step, syncRunningMs: this.syncRunningMs() },
      "stopping pod without waiting for its sync",
    );
    void this.terminate().catch((err) =>
      this.log.error({ err: errInfo(err) }, "stopping pod failed; retrying on next tick"),
    );
  }

  private buildContainers() {
    const prev = new Map<string, ContainerStatus>(
      [...(this.pod.status?.containerStatuses ?? []), ...(this.pod.status?.initContainerStatuses ?? [])].map((s) => [
        s.name,
        s,
      ]),
    );
    const mk = (spec: Pod["spec"]["containers"][number], init: boolean) => {
      const count = this.rec?.restartCounts[spec.name] ?? prev.get(spec.name)?.restartCount ?? 0;
      const c = newCtr(spec, init, mapImage(spec.image), count);
      const p = this.rec?.procs[spec.name];
      if (p && procAlive(p)) {
        // keep the readiness last reported, so an agent restart does not blip endpoints; probes correct it
        const ready = prev.get(spec.name)?.ready ?? false;
        Object.assign(c, {
          pid: p.pid,
          startTicks: p.startTicks,
          startedAt: p.startedAt,
          adopted: true,
          everStarted: true,
          ready,
          probeOk: ready ? 1 : 0,
          startupDone: !spec.startupProbe || (prev.get(spec.name)?.started ?? false),
        });
        this.log.info({ container: spec.name, pid: p.pid }, "adopted running container from previous agent run");
      }
      return c;
    };
    this.init = (this.pod.spec.initContainers ?? []).map((s) => mk(s, true));
    this.main = this.pod.spec.containers.map((s) => mk(s, false));
    // init containers already completed in an earlier agent run are not run again
    const initialized = this.pod.status?.conditions?.some((c) => c.type === "Initialized" && c.status === "True");
    if (initialized || this.main.some((c) => c.adopted)) for (const c of this.init) c.done = true;
  }

  update(pod: Pod) {
    this.takePod(pod, "watch");
    this.kick();
  }

  volumesChanged() {
    this.volumesDirty = true;
    this.volumeRetryAt = 0;
    this.volumeRetryMs = 500;
    this.kick();
  }

  /** The Pod object was deleted from the API (force delete or our own finalising delete). */
  removed() {
    this.gone = true;
    this.kick();
  }

  kick() {
    if (this.finished) return;
    if (this.running) {
      this.dirty = true;
      return;
    }
    this.running = true;
    void (async () => {
      try {
        do {
          this.dirty = false;
          this.syncStartedAt = Date.now();
          this.stuckLogged = false;
          this.step = "sync";
          await this.sync();
        } while (this.dirty && !this.finished);
      } catch (err) {
        this.log.error({ err: errInfo(err) }, "pod sync failed; retrying on next tick");
      } finally {
        this.running = false;
      }
    })();
  }

  private async sync() {
    if (this.deletionRequested) return this.terminate();
    if (this.terminalOnArrival) return;
    this.step = "sandbox";
    if (!(await this.ensureSandbox())) return this.publish();
    if (this.deleting) return;
    const now = Date.now();
    this.step = "volumes";
    if ((this.volumesDirty && now >= this.volumeRetryAt) || now >= this.tokenRefreshAt) await this.syncVolumes();
    if (this.deleting) return;
    this.step = "containers";
    this.pollAdopted();
    const phase = podPhase(this.view());
    if (phase !== "Succeeded" && phase !== "Failed") {
      const pending = this.init.find((c) => !c.done);
      if (pending) await this.maybeStart(pending);
      else for (const c of this.main) await this.maybeStart(c);
      runDueProbes(this.main, {
        ip: this.rec!.ip,
        log: this.log,
        event: (type, reason, message, c) => this.event(type, reason, message, c),
        kick: () => this.kick(),
      });
    }
    await this.publish();
  }

  private view() {
    return {
      pod: this.pod,
      ip: this.rec?.ip,
      sandboxReady: this.sandboxReady,
      sandboxMessage: this.sandboxMessage,
      init: this.init,
      main: this.main,
      startTime: this.startTime,
    };
  }

  private event(type: "Normal" | "Warning", reason: string, message: string, c?: Ctr) {
    const fieldPath = c ? `spec.${c.init ? "initContainers" : "containers"}{${c.spec.name}}` : undefined;
    this.d.event(this.pod, type, reason, message, fieldPath);
  }

  private saveRec() {
    if (!this.rec) return;
    try {
      this.d.state.savePod(this.rec);
    } catch (err) {
      this.log.error({ err: errInfo(err) }, "could not write the pod record to the state dir");
    }
  }

  private async ensureSandbox(): Promise<boolean> {
    if (this.sandboxReady) return true;
    if (Date.now() < this.sandboxRetryAt) return false;
    const hostNet = !!this.pod.spec.hostNetwork;
    try {
      if (!this.rec) {
        const ip = hostNet ? NODE_IP : this.d.ipam.allocate(this.uid);
        this.rec = {
          uid: this.uid,
          namespace: this.pod.metadata.namespace ?? "default",
          name: this.pod.metadata.name,
          netns: hostNet ? "" : netnsName(this.uid),
          hostVeth: hostNet ? "" : hostVethName(this.uid),
          ip,
          procs: {},
          restartCounts: {},
        };
        this.saveRec(); // before touching the host, so cleanup always knows
      }
      if (!hostNet) {
        const hostname = (this.pod.spec.hostname ?? this.pod.metadata.name).slice(0, 63);
        this.step = "sandbox: network";
        const net = await ensurePodNetwork(
          this.uid,
          this.rec.ip,
          hostname,
          this.pod.spec.hostAliases,
          this.pod.spec.securityContext?.sysctls,
        );
        if (this.deleting || !this.rec) return false; // stopped meanwhile: terminate removes what was made
        this.rec.netns = net.netns;
        this.rec.hostVeth = net.hostVeth;
        this.saveRec();
      }
      this.sandboxReady = true;
      this.sandboxMessage = undefined;
      this.log.info({ ip: this.rec.ip, netns: this.rec.netns || "(host)" }, "pod sandbox ready");
      return true;
    } catch (err) {
      const msg = `pod sandbox: ${(err as Error).message ?? err}`;
      if (msg !== this.sandboxMessage) {
        this.log.error({ err: errInfo(err) }, "pod sandbox setup failed");
        this.event(
          "Warning",
          "FailedCreatePodSandBox",
          `Failed to create pod sandbox: ${(err as Error).message ?? err}`,
        );
      }
      this.sandboxMessage = msg;
      this.sandboxRetryAt = Date.now() + this.sandboxRetryMs;
      this.sandboxRetryMs = Math.min(this.sandboxRetryMs * 2, 30_000);
      return false;
    }
  }

  private async syncVolumes() {
    this.volumesDirty = false;
    let refreshAt = Infinity;
    const sources: VolumeSources = {
      ...this.d.sources,
      configMap: this.d.sources.configMap,
      secret: this.d.sources.secret,
      token: async (pod, aud, exp): Promise<Token> => {
        const t = await this.d.sources.token(pod, aud, exp);
        refreshAt = Math.min(refreshAt, t.expiresAt - 0.2 * exp * 1000);
        return t;
      },
    };
    for (const vol of this.pod.spec.volumes ?? []) {
      if (this.deleting || !this.rec) return;
      this.step = `volume ${vol.name}`;
      const r = await materialiseVolume(this.pod, vol, this.d.state.volumesDir(this.uid), this.rec!.ip, sources);
      if (r.ok) {
        this.volumePaths.set(vol.name, r.hostPath);
        if (this.volumeErrors.delete(vol.name)) this.log.info({ volume: vol.name }, "volume ready");
        if (r.changed) this.log.info({ volume: vol.name }, "volume contents updated");
      } else {
        if (this.volumeErrors.get(vol.name) !== r.reason) {
          this.log.warn({ volume: vol.name, reason: r.reason }, "volume not ready");
          this.event("Warning", "FailedMount", `MountVolume.SetUp failed for ${r.reason}`);
        }
        this.volumeErrors.set(vol.name, r.reason);
        this.volumesDirty = true;
      }
    }
    this.tokenRefreshAt = refreshAt;
    if (this.volumesDirty) {
      this.volumeRetryAt = Date.now() + this.volumeRetryMs;
      this.volumeRetryMs = Math.min(this.volumeRetryMs * 2, 10_000);
    } else this.volumeRetryMs = 500;
  }

  private pollAdopted() {
    for (const c of [...this.init, ...this.main]) {
      if (c.adopted && c.pid !== undefined && !procAlive({ pid: c.pid, startTicks: c.startTicks!, startedAt: "" })) {
        this.onExit(c, 255, null, "exited while the node agent was not watching it");
      }
    }
  }

  private shouldRestart(c: Ctr): boolean {
    const policy = this.pod.spec.restartPolicy ?? "Always";
    if (c.init) return c.terminated?.exitCode !== 0 && policy !== "Never";
    return policy === "Always" || (policy === "OnFailure" && c.terminated?.exitCode !== 0);
  }

  private async maybeStart(c: Ctr) {
    if (isRunning(c) || c.done || Date.now() < c.nextStartAt) return;
    const name = c.spec.name;
    const setWaiting = (reason: string, message: string) => {
      if (c.waiting?.message !== message) {
        this.log.warn({ container: name, reason, message }, "container cannot start");
        if (reason !== "ContainerCreating") this.event("Warning", "Failed", `Error: ${message}`, c);
      }
      c.waiting = { reason, message };
    };
    // volumes
    const mounts: Mount[] = [];
    for (const vm of c.spec.volumeMounts ?? []) {
      const hostPath = this.volumePaths.get(vm.name);
      if (!hostPath) {
        const why = this.volumeErrors.get(vm.name) ?? `volume "${vm.name}" is not defined in the pod`;
        return setWaiting("ContainerCreating", why);
      }
      mounts.push({
        hostPath: vm.subPath ? path.join(hostPath, vm.subPath) : hostPath,
        mountPath: vm.mountPath,
        readOnly: !!vm.readOnly,
      });
    }
    const envR = containerEnv(this.pod, c.spec, this.rec!.ip, this.d.sources);
    if (!envR.ok) return setWaiting("CreateContainerConfigError", envR.reason);
    const now = new Date().toISOString();
    const restarting = c.everStarted;
    if (!c.mapping) {
      if (!c.skipped) {
        this.log.warn(
          { container: name, image: c.spec.image },
          "UNKNOWN IMAGE: container NOT RUN; reported Ready without a process (no host command maps to this image)",
        );
        this.event(
          "Warning",
          "NotRun",
          `Image ${c.spec.image} has no host command on the crossway local node: container reported Ready WITHOUT RUNNING`,
          c,
        );
      }
      Object.assign(c, { skipped: true, everStarted: true, startedAt: now, ready: true, waiting: undefined });
      return;
    }
    const argv = containerArgv(
      c.mapping,
      c.spec.command?.map((s) => expand(s, envR.env)),
      c.spec.args?.map((s) => expand(s, envR.env)),
    );
    const missing = await ensureHostBinary(c.mapping, this.log);
    if (missing) return setWaiting("ErrImagePull", missing);
    if (this.deleting || !this.rec) return; // never start a container of a pod being stopped
    const notExecutable = startError(argv, envR.env, mounts, c.spec.workingDir);
    if (notExecutable) {
      // as a runtime does: the container fails to start (exit 128, StartError) and backs off
      if (restarting) c.restartCount++;
      Object.assign(c, { everStarted: true, startedAt: now, waiting: undefined });
      this.log.warn({ container: name, argv, err: notExecutable }, "container failed to start");
      this.event("Warning", "Failed", `Error: failed to start container "${name}": ${notExecutable}`, c);
      this.onExit(c, 128, null, notExecutable, "StartError");
      return;
    }
    const workDir = c.spec.workingDir ? [{ hostPath: "", mountPath: c.spec.workingDir, readOnly: false }] : [];
    this.d.state.addCreatedPaths(missingHostPaths([...mounts, ...workDir]));
    try {
      if (restarting) this.d.state.rotateLog(this.rec!.namespace, this.rec!.name, name);
      const l = launch({
        netns: this.pod.spec.hostNetwork ? undefined : this.rec!.netns,
        hostname: (this.pod.spec.hostname ?? this.pod.metadata.name).slice(0, 63),
        argv,
        env: envR.env,
        workingDir: c.spec.workingDir,
        mounts,
        logFile: this.d.state.logFile(this.rec!.namespace, this.rec!.name, name),
      });
      if (restarting) {
        c.restartCount++;
        if (c.terminated) c.lastState = { terminated: c.terminated };
      }
      Object.assign(c, {
        pid: l.pid,
        startTicks: l.startTicks,
        startedAt: now,
        child: l.child,
        adopted: false,
        everStarted: true,
        waiting: undefined,
        terminated: undefined,
        ready: false,
        probeOk: 0,
        probeFail: 0,
        liveFail: 0,
        startupDone: !c.spec.startupProbe,
        startupFail: 0,
      });
      const delay = (p?: Probe) => Date.now() + (p?.initialDelaySeconds ?? 0) * 1000;
      c.nextProbeAt = delay(c.spec.readinessProbe);
      c.nextLiveAt = delay(c.spec.livenessProbe);
      c.nextStartupAt = delay(c.spec.startupProbe);
      this.rec!.procs[name] = { pid: l.pid, startTicks: l.startTicks, startedAt: now };
      this.rec!.restartCounts[name] = c.restartCount;
      this.saveRec();
      l.child.on("exit", (code, signal) => {
        if (c.pid === l.pid) this.onExit(c, code, signal);
      });
      this.log.info(
        { container: name, pid: l.pid, argv, restartCount: c.restartCount },
        restarting ? "container restarted" : "container started",
      );
      this.event("Normal", "Started", `Started container ${name} (pid ${l.pid}: ${argv.join(" ").slice(0, 200)})`, c);
    } catch (err) {
      setWaiting("RunContainerError", `${(err as Error).message ?? err}`);
    }
  }

  private onExit(c: Ctr, code: number | null, signal: NodeJS.Signals | null, message?: string, reason?: string) {
    const exitCode =
      code ??
      128 +
        (signal
          ? (({ SIGKILL: 9, SIGTERM: 15, SIGINT: 2, SIGSEGV: 11, SIGABRT: 6 } as Record<string, number>)[signal] ?? 0)
          : 0);
    const ranMs = c.startedAt ? Date.now() - Date.parse(c.startedAt) : 0;
    c.terminated = {
      exitCode,
      reason: reason ?? (exitCode === 0 ? "Completed" : "Error"),
      startedAt: c.startedAt,
      finishedAt: new Date().toISOString(),
      ...(signal ? { signal: exitCode - 128 } : {}),
      ...(message ? { message } : {}),
    };
    c.pid = undefined;
    c.child = undefined;
    c.adopted = false;
    c.ready = false;
    if (this.rec) {
      delete this.rec.procs[c.spec.name];
      this.saveRec();
    }
    if (this.deleting) return;
    if (c.init && exitCode === 0) {
      c.done = true;
      this.log.info({ container: c.spec.name }, "init container completed");
    } else if (this.shouldRestart(c)) {
      if (ranMs >= BACKOFF_RESET_AFTER_MS) c.backoffMs = 1000;
      c.nextStartAt = Date.now() + c.backoffMs;
      c.waiting = {
        reason: "CrashLoopBackOff",
        message: `back-off ${Math.round(c.backoffMs / 1000)}s restarting failed container=${c.spec.name} pod=${this.pod.metadata.name}`,
      };
      c.lastState = { terminated: c.terminated };
      this.log.warn(
        { container: c.spec.name, exitCode, signal, backoffMs: c.backoffMs },
        "container exited; restarting after back-off",
      );
      this.event(
        "Warning",
        "BackOff",
        `Back-off restarting failed container ${c.spec.name} in pod ${this.pod.metadata.name}`,
        c,
      );
      c.backoffMs = Math.min(c.backoffMs * 2, BACKOFF_MAX_MS);
    } else {
      c.done = !c.init;
      this.log.info({ container: c.spec.name, exitCode, signal }, "container exited; not restarting (restartPolicy)");
    }
    this.kick();
  }

  private async publish() {
    const now = new Date().toISOString();
    const status = buildStatus(this.view(), now);
    const key = statusKey({
      ...status,
      conditions: status.conditions?.map((c) => ({ ...c, lastTransitionTime: undefined })),
    });
    if (key === this.lastPublished) return;
    const prevPhase = this.pod.status?.phase;
    const prevReady = this.pod.status?.conditions?.find((c) => c.type === "Ready")?.status;
    try {
      const ns = this.pod.metadata.namespace;
      this.step = "status patch";
      const updated = await this.d.kube.request<Pod>(
        "PATCH",
        `/api/v1/namespaces/${ns}/pods/${this.pod.metadata.name}/status`,
        { status },
        "merge",
      );
      if (updated.metadata.uid !== this.uid) return; // a new pod with the same name: not ours
      this.lastPublished = key;
      this.lastPublishError = undefined;
      // the response may be older than a watch event already taken (e.g. the pod's deletion)
      this.takePod(updated, "status patch response");
      const ready = status.conditions?.find((c) => c.type === "Ready")?.status;
      if (prevPhase !== status.phase || prevReady !== ready)
        this.log.info({ phase: status.phase, ready, podIP: status.podIP }, "pod status");
    } catch (err) {
      if (isStatus(err, 404)) this.gone = true;
      else if (this.lastPublishError !== String(err))
        this.log.warn({ err: errInfo(err) }, "pod status update failed; retrying every second");
      this.lastPublishError = String(err);
      return;
    }
  }

  /** One termination at a time: the sync loop, the watchdog and the sweep share it. */
  private terminate(): Promise<void> {
    this.terminating ??= this.doTerminate().finally(() => (this.terminating = undefined));
    return this.terminating;
  }

  private async doTerminate() {
    if (this.finished) return;
    if (!this.deleting) this.log.info({ gone: this.gone, deletionTimestamp: this.deletion?.timestamp }, "stopping pod");
    this.deleting = true;
    const graceS =
      this.pod.metadata.deletionGracePeriodSeconds ??
      this.deletion?.graceS ??
      this.pod.spec.terminationGracePeriodSeconds ??
      30;
    this.graceMs = Math.max(graceS, 0) * 1000;
    this.step = "stopping containers";
    await Promise.all(
      [...this.init, ...this.main].map(async (c) => {
        if (c.pid !== undefined) {
          if (!this.gone) this.event("Normal", "Killing", `Stopping container ${c.spec.name}`, c);
          await stopGroup(c.pid, Math.max(graceS, 0) * 1000);
          if (c.adopted || c.pid !== undefined) this.onExit(c, null, "SIGTERM");
        }
        c.skipped = false;
      }),
    );
    this.step = "removing sandbox";
    if (this.rec) {
      let leftBehind = false;
      try {
        if (this.rec.netns) for (const pid of await netnsPids(this.rec.netns)) signalGroup(pid, "SIGKILL");
        if (this.rec.netns) await removePodNetwork(this.rec.netns, this.rec.hostVeth);
      } catch (err) {
        // a Pod stuck in Terminating blocks its namespace: after some tries finalise it anyway,
        // leaving the network namespace (and its IP, not handed out again) for --cleanup
        if (++this.teardownFailures < 10) throw err;
        leftBehind = true;
        this.log.error(
          { err: errInfo(err), netns: this.rec.netns },
          "pod sandbox could not be removed; finalising the pod anyway (--cleanup removes it)",
        );
      }
      this.d.state.removePod(this.uid);
      if (!leftBehind) this.d.ipam.release(this.uid);
      this.rec = undefined;
      this.log.info({ leftBehind }, "pod sandbox removed");
    }
    this.step = "finalising delete";
    if (!this.gone) {
      const { namespace: ns, name } = this.pod.metadata;
      try {
        await this.d.kube.request("DELETE", `/api/v1/namespaces/${ns}/pods/${name}`, {
          apiVersion: "v1",
          kind: "DeleteOptions",
          gracePeriodSeconds: 0,
          preconditions: { uid: this.uid },
        });
        this.log.info("pod finalised (deleted with grace 0)");
      } catch (err) {
        if (!isStatus(err, 404) && !isStatus(err, 409)) {
          this.log.warn({ err: errInfo(err) }, "finalising delete failed; will retry");
          return; // the tick retries
        }
      }
    }
    this.finished = true;
    clearInterval(this.timer);
    this.d.onFinished(this.uid);
  }

  /** Agent shutdown without touching the pod: stop ticking, leave processes for adoption. */
  detach() {
    this.finished = true;
    clearInterval(this.timer);
  }
}
