/**
 * Long-running cluster processes: started detached (own process group, logs appended to a file),
 * recorded in .local/pids/<name>.pid, found again by pid + command line (so a recycled pid is never
 * mistaken for ours), and stopped by process group with SIGTERM, then SIGKILL after a grace period.
 */
import { spawn } from "node:child_process";
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { DIRS } from "./config.js";
import { log } from "./log.js";

export interface ProcSpec {
  /** Short name: pid file .local/pids/<name>.pid, log .local/logs/<name>.log. */
  name: string;
  cmd: string;
  args: string[];
  /** A string the live process's command line must contain for it to count as this process. */
  marker: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

const pidFile = (name: string) => join(DIRS.pids, `${name}.pid`);
export const logFile = (name: string) => join(DIRS.logs, `${name}.log`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const cmdline = (pid: number): string | undefined => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
  } catch {
    return undefined;
  }
};

const isZombie = (pid: number) => {
  try {
    return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return true;
  }
};

const isAlive = (pid: number, marker: string) => {
  const cl = cmdline(pid);
  return cl !== undefined && cl.includes(marker) && !isZombie(pid);
};

/** The recorded pid of `name` if that process is still running as `marker`. */
export function runningPid(name: string, marker: string): number | undefined {
  const file = pidFile(name);
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, "utf8").trim().split("\n")[0]);
  return Number.isInteger(pid) && pid > 0 && isAlive(pid, marker) ? pid : undefined;
}

/** Every pid file with its recorded pid and marker (second line), for local:down. */
export function recorded(): { name: string; pid: number; marker: string }[] {
  if (!existsSync(DIRS.pids)) return [];
  return readdirSync(DIRS.pids)
    .filter((f) => f.endsWith(".pid"))
    .map((f) => {
      const [pid, marker = ""] = readFileSync(join(DIRS.pids, f), "utf8").split("\n");
      return { name: f.slice(0, -4), pid: Number(pid), marker };
    });
}

/** Starts `spec` unless it is already running; returns its pid and whether it was started now. */
export function ensureRunning(spec: ProcSpec): { pid: number; started: boolean } {
  const existing = runningPid(spec.name, spec.marker);
  if (existing) return { pid: existing, started: false };
  mkdirSync(DIRS.pids, { recursive: true });
  mkdirSync(DIRS.logs, { recursive: true });
  const fd = openSync(logFile(spec.name), "a");
  try {
    const child = spawn(spec.cmd, spec.args, {
      detached: true,
      stdio: ["ignore", fd, fd],
      env: spec.env ?? process.env,
      cwd: spec.cwd,
    });
    if (child.pid === undefined) throw new Error(`could not start ${spec.name}: ${spec.cmd}`);
    child.on("error", (err) => log.error({ proc: spec.name, err: err.message }, "process error"));
    child.unref();
    writeFileSync(pidFile(spec.name), `${child.pid}\n${spec.marker}\n`);
    log.info({ proc: spec.name, pid: child.pid, log: logFile(spec.name) }, "started");
    return { pid: child.pid, started: true };
  } finally {
    closeSync(fd);
  }
}

/** Last lines of a process's log, for error messages. */
const logTail = (name: string, lines = 15) => {
  try {
    return readFileSync(logFile(name), "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
};

/**
 * A process spawned moments ago may not have exec'd yet: until then /proc/<pid>/cmdline is still
 * node's, without the marker. On a loaded machine that window was long enough for a fresh
 * `local:up` to report a healthy kube-apiserver as "exited". Give a live, non-zombie pid whose
 * pid file is younger than 10 s the benefit of the doubt.
 */
function execPending(name: string): boolean {
  const file = pidFile(name);
  if (!existsSync(file)) return false;
  const pid = Number(readFileSync(file, "utf8").trim().split("\n")[0]);
  if (!Number.isInteger(pid) || pid <= 0 || isZombie(pid) || cmdline(pid) === undefined) return false;
  return Date.now() - statSync(file).mtimeMs < 10_000;
}

/** Throws a specific error (with the log tail) if `name` is not running. */
export function assertRunning(name: string, marker: string): void {
  if (!runningPid(name, marker) && !execPending(name)) {
    throw new Error(`${name} exited; last lines of ${logFile(name)}:\n${logTail(name)}`);
  }
}

/** SIGTERM the process group, wait up to graceMs, then SIGKILL; removes the pid file. */
export async function stop(name: string, pid: number, marker: string, graceMs = 10_000): Promise<boolean> {
  const signal = (sig: NodeJS.Signals) => {
    for (const target of [-pid, pid]) {
      try {
        process.kill(target, sig);
      } catch {
        /* already gone or not a group leader */
      }
    }
  };
  if (isAlive(pid, marker)) {
    signal("SIGTERM");
    const deadline = Date.now() + graceMs;
    while (isAlive(pid, marker) && Date.now() < deadline) await sleep(100);
    if (isAlive(pid, marker)) {
      log.warn({ proc: name, pid }, "did not exit after SIGTERM; sending SIGKILL");
      signal("SIGKILL");
      for (let i = 0; i < 50 && isAlive(pid, marker); i++) await sleep(100);
    }
  }
  const gone = !isAlive(pid, marker);
  if (gone) rmSync(pidFile(name), { force: true });
  log.info({ proc: name, pid, stopped: gone }, gone ? "stopped" : "still running");
  return gone;
}
