/**
 * One container = one host process group: `ip netns exec <pod netns> unshare -m -u
 * --propagation private sh -c <mount script> <argv>`. Every step execs the next, so the pid we
 * get is the container's main process and its process group is the container. Volumes are bind
 * mounted in the private mount namespace (invisible to the host); stdout/stderr append to the
 * container's log file, so the process outlives an agent restart and can be adopted.
 */
import { ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { shq } from "./shell.js";
import { procStartTicks } from "./state.js";

export interface Mount {
  hostPath: string;
  mountPath: string;
  readOnly: boolean;
}

export interface LaunchSpec {
  /** undefined for hostNetwork pods */
  netns?: string;
  hostname: string;
  argv: string[];
  env: Record<string, string>;
  workingDir?: string;
  mounts: Mount[];
  logFile: string;
}

export interface Launched {
  child: ChildProcess;
  pid: number;
  startTicks: number;
}

/** Where the prologue stages mount sources: the first candidate no container mount covers. */
const STAGE_CANDIDATES = ["/run/crossway-node-stage", "/var/lib/crossway-node-stage", "/crossway-node-stage"];
const covers = (mountPath: string, p: string) => {
  const m = path.resolve(mountPath);
  return p === m || p.startsWith(m === "/" ? "/" : `${m}/`);
};

/**
 * The shell prologue run inside the new mount namespace before exec'ing the container. Every
 * source is first bound into a private staging tmpfs, then from there onto its mount path: a
 * container mount that covers the node's own state (an emptyDir at /tmp while the checkout lives
 * under /tmp) would otherwise hide the sources of the mounts after it.
 */
const mountScript = (spec: LaunchSpec): string => {
  const lines = ["set -e", `hostname ${shq(spec.hostname)}`];
  const mounts = [...spec.mounts].sort((a, b) => a.mountPath.length - b.mountPath.length);
  const stage = STAGE_CANDIDATES.find((c) => !mounts.some((m) => covers(m.mountPath, c))) ?? STAGE_CANDIDATES[0];
  if (mounts.length > 0) lines.push(`mkdir -p ${shq(stage)}`, `mount -t tmpfs crossway-stage ${shq(stage)}`);
  const isFile = (m: Mount) => fs.existsSync(m.hostPath) && !fs.statSync(m.hostPath).isDirectory();
  mounts.forEach((m, i) => {
    const staged = shq(`${stage}/${i}`);
    lines.push(isFile(m) ? `: > ${staged}` : `mkdir ${staged}`, `mount --bind ${shq(m.hostPath)} ${staged}`);
  });
  mounts.forEach((m, i) => {
    const dst = shq(m.mountPath);
    lines.push(
      isFile(m) ? `[ -e ${dst} ] || { mkdir -p ${shq(path.dirname(m.mountPath))}; : > ${dst}; }` : `mkdir -p ${dst}`,
    );
    lines.push(`mount --bind ${shq(`${stage}/${i}`)} ${dst}`);
    if (m.readOnly) lines.push(`mount -o remount,bind,ro ${dst}`);
  });
  if (mounts.length > 0) lines.push(`umount -l ${shq(stage)}`);
  // like a runtime, create a missing workingDir
  lines.push(`mkdir -p ${shq(spec.workingDir ?? "/")}`, `cd ${shq(spec.workingDir ?? "/")}`);
  lines.push('exec "$@"');
  return lines.join("\n");
};

/** Where a path inside the container lives on the host: under the deepest mount covering it, else itself. */
const hostPathOf = (p: string, mounts: Mount[]): string => {
  const abs = path.resolve("/", p);
  const m = mounts
    .filter((o) => abs === path.resolve(o.mountPath) || abs.startsWith(path.resolve(o.mountPath) + "/"))
    .sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
  return m ? path.join(m.hostPath, path.relative(path.resolve(m.mountPath), abs)) : abs;
};

const isExecutable = (p: string) => {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
};

/**
 * undefined when argv[0] names an executable the container can run (looking through its mounts and
 * PATH); otherwise the runtime's StartError message, as runc reports it.
 */
export const startError = (
  argv: string[],
  env: Record<string, string>,
  mounts: Mount[],
  workingDir = "/",
): string | undefined => {
  const cmd = argv[0];
  if (!cmd) return "no command specified";
  if (cmd.includes("/")) {
    return isExecutable(hostPathOf(path.resolve(workingDir, cmd), mounts))
      ? undefined
      : `exec: "${cmd}": stat ${cmd}: no such file or directory`;
  }
  const dirs = (env.PATH ?? "").split(":").filter(Boolean);
  return dirs.some((d) => isExecutable(hostPathOf(path.join(d, cmd), mounts)))
    ? undefined
    : `exec: "${cmd}": executable file not found in $PATH`;
};

/** Topmost host paths a launch would create as mount points (so teardown can remove them). */
export const missingHostPaths = (mounts: Mount[]): string[] => {
  const out = new Set<string>();
  for (const m of mounts) {
    let p = path.resolve(m.mountPath);
    let top: string | undefined;
    while (p !== "/" && !fs.existsSync(p)) {
      top = p;
      p = path.dirname(p);
    }
    // only paths created outside another mount of the same container are host-visible
    if (top && !mounts.some((o) => o !== m && top!.startsWith(path.resolve(o.mountPath) + "/"))) out.add(top);
  }
  return [...out];
};

export function launch(spec: LaunchSpec): Launched {
  fs.mkdirSync(path.dirname(spec.logFile), { recursive: true });
  const fd = fs.openSync(spec.logFile, "a");
  try {
    const inner = [
      "unshare",
      "-m",
      "-u",
      "--propagation",
      "private",
      "--",
      "/bin/sh",
      "-c",
      mountScript(spec),
      "crossway-container",
      ...spec.argv,
    ];
    const [cmd, ...args] = spec.netns ? ["ip", "netns", "exec", spec.netns, ...inner] : inner;
    const child = spawn(cmd, args, { detached: true, stdio: ["ignore", fd, fd], env: spec.env, cwd: "/" });
    const spawnError: { err?: Error } = {};
    child.on("error", (err) => (spawnError.err = err)); // reported through the pid check below or the exit event
    child.unref();
    if (child.pid === undefined)
      throw new Error(`could not start ${cmd}${spawnError.err ? `: ${spawnError.err.message}` : ""}`);
    return { child, pid: child.pid, startTicks: procStartTicks(child.pid) ?? -1 };
  } finally {
    fs.closeSync(fd);
  }
}

/** Signals a container's whole process group; false when it no longer exists. */
export const signalGroup = (pid: number, sig: NodeJS.Signals): boolean => {
  try {
    process.kill(-pid, sig);
    return true;
  } catch {
    try {
      process.kill(pid, sig);
      return true;
    } catch {
      return false;
    }
  }
};

const groupAlive = (pid: number) => {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the group is gone (or after 5 s more). */
export async function stopGroup(pid: number, graceMs: number): Promise<void> {
  if (!signalGroup(pid, "SIGTERM")) return;
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && groupAlive(pid)) await new Promise((r) => setTimeout(r, 100));
  if (!groupAlive(pid)) return;
  signalGroup(pid, "SIGKILL");
  const hard = Date.now() + 5000;
  while (Date.now() < hard && groupAlive(pid)) await new Promise((r) => setTimeout(r, 50));
}
