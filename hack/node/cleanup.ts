/**
 * `--cleanup`: remove everything the agent made on this host: container process groups, pod
 * network namespaces (and any process still inside one), veths, the crossway0 bridge, /etc/netns
 * entries, mount points it created and its state. Works from the state dir and, for anything a
 * crashed run did not record, from the names only this agent uses. Never touches the API.
 */
import fs from "node:fs";
import path from "node:path";
import { Log, errInfo } from "./log.js";
import { deleteLink, listOurNetns, listOurVeths, netnsPids, removeBridge, removePodNetwork } from "./netns.js";
import { signalGroup, stopGroup } from "./process.js";
import { StateDir, procAlive, removeEmptyTree } from "./state.js";

export interface CleanupReport {
  processes: number;
  netns: number;
  veths: number;
  errors: string[];
}

export async function cleanupHost(stateDir: string, log: Log): Promise<CleanupReport> {
  const report: CleanupReport = { processes: 0, netns: 0, veths: 0, errors: [] };
  const attempt = async (what: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch (err) {
      report.errors.push(`${what}: ${(err as Error).message ?? err}`);
      log.error({ what, err: errInfo(err) }, "cleanup step failed");
    }
  };
  const state = fs.existsSync(stateDir) ? new StateDir(stateDir) : undefined;
  const records = state?.loadPods() ?? [];
  // 1. container process groups from the state dir (hostNetwork pods have no netns to sweep)
  await Promise.all(
    records.flatMap((rec) =>
      Object.values(rec.procs)
        .filter(procAlive)
        .map((p) =>
          attempt(`stop pid ${p.pid}`, async () => {
            await stopGroup(p.pid, 5000);
            report.processes++;
          }),
        ),
    ),
  );
  // 2. every crossway pod netns: kill what is inside, then delete it
  const namespaces = new Set([...records.map((r) => r.netns).filter(Boolean), ...(await listOurNetns())]);
  for (const ns of namespaces) {
    await attempt(`netns ${ns}`, async () => {
      for (let i = 0; i < 50; i++) {
        const pids = await netnsPids(ns);
        if (!pids.length) break;
        for (const pid of pids) signalGroup(pid, i < 20 ? "SIGTERM" : "SIGKILL");
        report.processes += i === 0 ? pids.length : 0;
        await new Promise((r) => setTimeout(r, 100));
      }
      const rec = records.find((r) => r.netns === ns);
      await removePodNetwork(ns, rec?.hostVeth ?? `cw${ns.slice("crossway-".length)}`);
      report.netns++;
    });
  }
  // 3. stray veths and the bridge
  for (const v of await listOurVeths()) {
    await attempt(`veth ${v}`, async () => {
      await deleteLink(v);
      report.veths++;
    });
  }
  await attempt("bridge crossway0", removeBridge);
  // 4. mount points created on the host, /etc/netns leftovers, then the state itself
  for (const p of state?.createdPaths() ?? []) removeEmptyTree(p);
  if (fs.existsSync("/etc/netns")) {
    for (const d of fs.readdirSync("/etc/netns"))
      if (/^crossway-[0-9a-f]{12}$/.test(d)) fs.rmSync(path.join("/etc/netns", d), { recursive: true, force: true });
  }
  if (state) {
    for (const rec of records) state.removePod(rec.uid);
    fs.rmSync(path.join(stateDir, "ipam.json"), { force: true });
    fs.rmSync(path.join(stateDir, "created-paths.json"), { force: true });
  }
  log.info(report, "cleanup done");
  return report;
}
