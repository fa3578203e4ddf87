/**
 * Probe scheduling for a pod's running containers: startup (gates the others, restarts on
 * failureThreshold), readiness (ready after successThreshold, unready after failureThreshold) and
 * liveness (SIGKILL after failureThreshold, so the exit handler restarts the container). Probes run
 * in the background; each result updates the container and kicks the pod's sync loop.
 */
import { Ctr, isRunning } from "./container-status.js";
import { Log } from "./log.js";
import { signalGroup } from "./process.js";
import { runProbe } from "./probes.js";

export interface ProbeHost {
  /** the pod IP probes are sent to */
  ip: string;
  log: Log;
  event: (type: "Normal" | "Warning", reason: string, message: string, c: Ctr) => void;
  /** re-run the pod's sync loop (after a result) */
  kick: () => void;
}

/** Until the startupProbe succeeds no other probe runs; failureThreshold failures restart the container. */
function startupProbe(c: Ctr, now: number, h: ProbeHost) {
  const sp = c.spec.startupProbe!;
  if (now < c.nextStartupAt) return;
  c.probing = true;
  const pid = c.pid;
  void (async () => {
    try {
      const r = await runProbe(sp, c.spec, h.ip, pid);
      c.nextStartupAt = Date.now() + (sp.periodSeconds ?? 10) * 1000;
      if (c.pid !== pid) return;
      if (r.ok) {
        c.startupDone = true;
        c.nextProbeAt = Math.max(c.nextProbeAt, Date.now());
        c.nextLiveAt = Math.max(c.nextLiveAt, Date.now());
        h.log.info({ container: c.spec.name, detail: r.detail }, "container started (startup probe passed)");
      } else if (++c.startupFail >= (sp.failureThreshold ?? 3) && pid !== undefined) {
        h.log.warn({ container: c.spec.name, detail: r.detail }, "startup probe failed; killing container");
        h.event("Warning", "Unhealthy", `Startup probe failed: ${r.detail}`, c);
        h.event("Normal", "Killing", `Container ${c.spec.name} failed startup probe, will be restarted`, c);
        signalGroup(pid, "SIGKILL");
      }
    } finally {
      c.probing = false;
      h.kick();
    }
  })();
}

/** Starts the due probes of running containers without blocking the caller; results update `containers`. */
export function runDueProbes(containers: Ctr[], h: ProbeHost) {
  const now = Date.now();
  for (const c of containers) {
    if (!isRunning(c) || c.skipped || c.probing) continue;
    if (!c.startupDone) {
      startupProbe(c, now, h);
      continue;
    }
    const rp = c.spec.readinessProbe;
    const lp = c.spec.livenessProbe;
    if (!rp) c.ready = true;
    const dueR = rp && now >= c.nextProbeAt;
    const dueL = lp && now >= c.nextLiveAt;
    if (!dueR && !dueL) continue;
    c.probing = true;
    const pid = c.pid;
    void (async () => {
      try {
        if (dueR && rp) {
          const r = await runProbe(rp, c.spec, h.ip, pid);
          c.nextProbeAt = Date.now() + (rp.periodSeconds ?? 10) * 1000;
          if (c.pid !== pid) return;
          if (r.ok) {
            c.probeFail = 0;
            if (++c.probeOk >= (rp.successThreshold ?? 1) && !c.ready) {
              c.ready = true;
              h.log.info({ container: c.spec.name, detail: r.detail }, "container ready");
            }
          } else {
            c.probeOk = 0;
            h.event("Warning", "Unhealthy", `Readiness probe failed: ${r.detail}`, c);
            if (++c.probeFail >= (rp.failureThreshold ?? 3) && c.ready) {
              c.ready = false;
              h.log.warn({ container: c.spec.name, detail: r.detail }, "container not ready");
            }
          }
        }
        if (dueL && lp) {
          const r = await runProbe(lp, c.spec, h.ip, pid);
          c.nextLiveAt = Date.now() + (lp.periodSeconds ?? 10) * 1000;
          if (c.pid !== pid) return;
          c.liveFail = r.ok ? 0 : c.liveFail + 1;
          if (c.liveFail >= (lp.failureThreshold ?? 3) && pid !== undefined) {
            h.log.warn({ container: c.spec.name, detail: r.detail }, "liveness probe failed; killing container");
            h.event("Warning", "Unhealthy", `Liveness probe failed: ${r.detail}`, c);
            h.event("Normal", "Killing", `Container ${c.spec.name} failed liveness probe, will be restarted`, c);
            c.liveFail = 0;
            signalGroup(pid, "SIGKILL");
          }
        }
      } finally {
        c.probing = false;
        h.kick();
      }
    })();
  }
}
