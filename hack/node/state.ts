/**
 * The agent's state dir: what it made on this host, so restarts adopt it and --cleanup removes it.
 *   <state>/ipam.json             pod IP -> pod UID, plus the last IP handed out (round robin)
 *   <state>/pods/<uid>/pod.json   PodRecord: netns, veth, IP, container pids
 *   <state>/pods/<uid>/volumes/   materialised volumes
 *   <state>/logs/<ns>_<pod>_<container>.log            the running instance's stdout+stderr
 *   <state>/logs/<ns>_<pod>_<container>.previous.log   the instance before the last restart
 *   <state>/created-paths.json   mount points made on the host (removed by --cleanup)
 */
import fs from "node:fs";
import path from "node:path";

export interface ProcRecord {
  pid: number;
  /** /proc/<pid>/stat field 22, so a recycled pid is never mistaken for ours. */
  startTicks: number;
  startedAt: string;
}

export interface PodRecord {
  uid: string;
  namespace: string;
  name: string;
  netns: string;
  hostVeth: string;
  ip: string;
  /** container name -> its live process (absent when not running) */
  procs: Record<string, ProcRecord>;
  restartCounts: Record<string, number>;
}

export const writeJsonAtomic = (file: string, value: unknown) => {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(value, null, 2));
  fs.renameSync(tmp, file);
};

const readJson = <T>(file: string): T | undefined => {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8")) as T;
  } catch {
    return undefined;
  }
};

export class StateDir {
  constructor(readonly dir: string) {
    fs.mkdirSync(path.join(dir, "pods"), { recursive: true });
    fs.mkdirSync(path.join(dir, "logs"), { recursive: true });
  }

  podDir(uid: string) {
    return path.join(this.dir, "pods", uid);
  }
  volumesDir(uid: string) {
    return path.join(this.podDir(uid), "volumes");
  }
  logFile(ns: string, pod: string, container: string) {
    return path.join(this.dir, "logs", `${ns}_${pod}_${container}.log`);
  }
  /** The output of the container's previous instance (`kubectl logs --previous`). */
  previousLogFile(ns: string, pod: string, container: string) {
    return path.join(this.dir, "logs", `${ns}_${pod}_${container}.previous.log`);
  }
  /** A restarted container writes a fresh log; the last instance's is kept as the previous one. */
  rotateLog(ns: string, pod: string, container: string) {
    try {
      fs.renameSync(this.logFile(ns, pod, container), this.previousLogFile(ns, pod, container));
    } catch {
      /* no log yet */
    }
  }

  /** Container logs outlive their pods (for debugging a failed run); a day later they go. */
  pruneLogs(maxAgeMs = 24 * 3600_000): number {
    const dir = path.join(this.dir, "logs");
    let removed = 0;
    for (const f of fs.readdirSync(dir)) {
      const file = path.join(dir, f);
      try {
        if (Date.now() - fs.statSync(file).mtimeMs > maxAgeMs) {
          fs.rmSync(file);
          removed++;
        }
      } catch {
        /* gone meanwhile */
      }
    }
    return removed;
  }

  savePod(rec: PodRecord) {
    writeJsonAtomic(path.join(this.podDir(rec.uid), "pod.json"), rec);
  }

  loadPods(): PodRecord[] {
    const root = path.join(this.dir, "pods");
    return fs
      .readdirSync(root)
      .map((uid) => readJson<PodRecord>(path.join(root, uid, "pod.json")))
      .filter((r): r is PodRecord => !!r);
  }

  /**
   * Mount points created on the host filesystem for bind mounts. They are removed (where empty) only
   * by --cleanup: removing one while any pod still has a mount on it would detach that mount.
   */
  addCreatedPaths(paths: string[]) {
    if (!paths.length) return;
    const all = new Set([...this.createdPaths(), ...paths]);
    writeJsonAtomic(path.join(this.dir, "created-paths.json"), [...all]);
  }

  createdPaths(): string[] {
    return readJson<string[]>(path.join(this.dir, "created-paths.json")) ?? [];
  }

  removePod(uid: string) {
    fs.rmSync(this.podDir(uid), { recursive: true, force: true });
  }
}

/** Start time of a process in clock ticks since boot, or undefined if it does not exist. */
export const procStartTicks = (pid: number): number | undefined => {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // rest[0] is field 3 (state); starttime is field 22
    if (rest[0] === "Z") return undefined;
    return Number(rest[19]);
  } catch {
    return undefined;
  }
};

export const procAlive = (p: ProcRecord) => procStartTicks(p.pid) === p.startTicks;

/** Removes a mount-point tree the agent created, only where it is empty (never host content). */
export const removeEmptyTree = (p: string) => {
  try {
    const st = fs.lstatSync(p);
    if (!st.isDirectory()) {
      if (st.isFile() && st.size === 0) fs.rmSync(p);
      return;
    }
    for (const e of fs.readdirSync(p)) removeEmptyTree(path.join(p, e));
    fs.rmdirSync(p);
  } catch {
    /* not empty, or already gone */
  }
};
