/**
 * The agent's core: make HAProxy serve a rendered config, choosing the cheapest safe way.
 *   - first config: write it (the haproxy container waits for haproxy.cfg, then starts);
 *   - same files: nothing;
 *   - only server addresses/states differ: runtime API on the current worker, no reload;
 *   - anything else: write, `reload` on the master CLI, confirm a new worker generation runs.
 *     A rejected config leaves the old worker serving; the previous files are restored.
 * No Kubernetes here: `main.ts` feeds it from the config Secret and reports the outcome.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CHECK_OUT, RUN_DIR } from "../capabilities/dataplane/conventions";
import { configSkeleton, serverStates, type ServerState } from "../capabilities/render/skeleton";
import { checkFiles, readCurrent, sameFiles, writeFiles, type Files } from "./files";
import { currentWorker, masterCommand, showProc, type ProcStatus } from "./master-cli";
import { log, type Logger } from "./log";
import { haproxyVersion } from "../capabilities/dataplane/haproxy-version";

export interface CoreOptions {
  runDir: string;
  masterSocket: string;
  /** How long to wait for haproxy to start (first config) or for a reload to settle. */
  startTimeoutMs: number;
  reloadTimeoutMs: number;
  /** `haproxy` binary for a pre-check (`haproxy -c`), when the agent's image has one. */
  haproxyBin?: string;
  /**
   * The controller already checked these files with a haproxy printing this version line; the
   * pre-check is skipped when ours prints the same (haproxyVersion).
   */
  vettedWith?: string;
  /** Our haproxy's `-v` version line, when haproxyBin is set. */
  haproxyVersion?: string;
  log: Logger;
}

/** `waiting`: the files are written but no haproxy worker runs yet (container starting or restarting). */
export type Outcome = "initial" | "unchanged" | "runtime" | "reloaded" | "rejected" | "waiting";

export interface ApplyResult {
  outcome: Outcome;
  generation: string;
  reason?: string;
  workerPid?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function findHaproxy(): string | undefined {
  const bin = process.env.CROSSWAY_HAPROXY_BIN ?? "haproxy";
  try {
    return spawnSync(bin, ["-v"], { stdio: "ignore", timeout: 5000 }).status === 0 ? bin : undefined;
  } catch {
    return undefined;
  }
}

export function defaultOptions(): CoreOptions {
  const bin = findHaproxy();
  const runDir = process.env.CROSSWAY_RUN_DIR ?? RUN_DIR;
  return {
    runDir,
    masterSocket: join(runDir, "master.sock"),
    startTimeoutMs: 120_000,
    reloadTimeoutMs: 30_000,
    haproxyBin: bin,
    haproxyVersion: bin ? haproxyVersion(bin) : undefined,
    log,
  };
}

/** The controller checked these files with the very haproxy version we would check them with. */
const alreadyVetted = (o: CoreOptions) => !!o.vettedWith && o.vettedWith === o.haproxyVersion;

/** `haproxy -c` in a scratch folder; the ALERT lines if it fails. */
function precheck(bin: string, files: Files): string | undefined {
  const dir = mkdtempSync(join(tmpdir(), "crossway-check-"));
  try {
    writeFiles(dir, files, undefined);
    const r = spawnSync(bin, ["-c", "-C", dir, "-f", join(dir, "haproxy.cfg")], { encoding: "utf8", timeout: 30_000 });
    if (r.status === 0) return undefined;
    const alerts = `${r.stdout}${r.stderr}`.split("\n").filter((l) => /ALERT/.test(l));
    return (alerts.length ? alerts.join("\n") : `haproxy -c exited ${r.status}`).replaceAll(dir, ".");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The haproxy container's own `haproxy -c` refused the files written at or after `since`
 * (manifests.ts HAPROXY_COMMAND): its ALERT lines, else undefined.
 */
function refusedAtStart(o: CoreOptions, since: number): string | undefined {
  const file = join(o.runDir, CHECK_OUT);
  try {
    if (statSync(file).mtimeMs < since - 1000) return undefined;
    const alerts = readFileSync(file, "utf8")
      .split("\n")
      .filter((l) => /ALERT/.test(l));
    return alerts.length ? alerts.join("\n").replaceAll(`${o.runDir}/`, "") : undefined;
  } catch {
    return undefined;
  }
}

/** The new worker's pid once haproxy runs; or why the haproxy container refused to start on the files. */
async function waitForWorker(o: CoreOptions, since: number): Promise<{ pid?: number; refused?: string }> {
  const deadline = Date.now() + o.startTimeoutMs;
  while (Date.now() < deadline) {
    const pid = currentWorker(await showProc(o.masterSocket));
    if (pid) return { pid };
    const refused = refusedAtStart(o, since);
    if (refused) return { refused };
    await sleep(100);
  }
  return {};
}

/** Server changes as runtime API commands; undefined if the server sets differ (structural). */
function runtimeCommands(before: ServerState[], after: ServerState[]): string[] | undefined {
  if (before.length !== after.length) return undefined;
  const cmds: string[] = [];
  for (let i = 0; i < after.length; i++) {
    const [b, a] = [before[i], after[i]];
    if (a.key !== b.key) return undefined;
    if (a.host === b.host && a.port === b.port && a.enabled === b.enabled) continue;
    // Take a slot out of rotation before touching its address; put it back only after.
    if (!a.enabled) cmds.push(`set server ${a.key} state maint`);
    if (a.host !== b.host || a.port !== b.port) cmds.push(`set server ${a.key} addr ${a.host} port ${a.port}`);
    if (a.enabled) cmds.push(`set server ${a.key} state ready`);
  }
  return cmds;
}

const endpointOnly = (prev: Files, next: Files) =>
  Object.keys(prev).length === Object.keys(next).length &&
  Object.keys(next).every((k) =>
    k === "haproxy.cfg" ? configSkeleton(prev[k] ?? "") === configSkeleton(next[k]) : prev[k] === next[k],
  );

async function applyRuntime(o: CoreOptions, cmds: string[]): Promise<string | undefined> {
  for (const cmd of cmds) {
    const out = await masterCommand(o.masterSocket, `@1 ${cmd}`);
    if (/No such|Require|invalid|unknown|error|failed/i.test(out)) return `${cmd}: ${out.trim()}`;
  }
  return undefined;
}

async function reload(o: CoreOptions, before: ProcStatus | undefined): Promise<{ pid?: number; error?: string }> {
  await masterCommand(o.masterSocket, "reload").catch(() => ""); // the master re-executes: the answer may be cut
  const oldPids = new Set(before?.workers.map((w) => w.pid));
  const deadline = Date.now() + o.reloadTimeoutMs;
  while (Date.now() < deadline) {
    await sleep(100);
    const now = await showProc(o.masterSocket);
    if (!now) continue;
    if (before && now.failedReloads > before.failedReloads)
      return { error: "haproxy rejected the configuration on reload" };
    const pid = currentWorker(now);
    if (pid && !oldPids.has(pid)) return { pid };
  }
  return { error: `no new worker within ${o.reloadTimeoutMs}ms of the reload` };
}

export async function applyConfig(
  files: Files,
  generation: string,
  options?: Partial<CoreOptions>,
): Promise<ApplyResult> {
  const o = { ...defaultOptions(), ...options };
  const bad = checkFiles(files);
  if (bad) return { outcome: "rejected", generation, reason: bad };
  const prev = readCurrent(o.runDir);

  if (!prev) {
    if (o.haproxyBin && !alreadyVetted(o)) {
      const reason = precheck(o.haproxyBin, files);
      if (reason) return { outcome: "rejected", generation, reason };
    }
    const since = Date.now();
    writeFiles(o.runDir, files, undefined);
    o.log("info", "first config written; waiting for haproxy", { generation });
    const w = await waitForWorker(o, since);
    // The haproxy container waits for another config instead of crash-looping on this one.
    if (w.refused) return { outcome: "rejected", generation, reason: w.refused };
    if (!w.pid) return { outcome: "waiting", generation, reason: `no haproxy worker within ${o.startTimeoutMs}ms` };
    return { outcome: "initial", generation, workerPid: w.pid };
  }
  if (sameFiles(prev, files))
    return { outcome: "unchanged", generation, workerPid: currentWorker(await showProc(o.masterSocket)) };

  if (endpointOnly(prev, files)) {
    const cmds = runtimeCommands(serverStates(prev["haproxy.cfg"]), serverStates(files["haproxy.cfg"]));
    if (cmds) {
      const error = await applyRuntime(o, cmds);
      if (!error) {
        writeFiles(o.runDir, files, prev);
        return { outcome: "runtime", generation, workerPid: currentWorker(await showProc(o.masterSocket)) };
      }
      o.log("warn", "runtime API update failed; reloading instead", { generation, error });
    }
  }

  if (o.haproxyBin && !alreadyVetted(o)) {
    const reason = precheck(o.haproxyBin, files);
    if (reason) return { outcome: "rejected", generation, reason };
  }
  const before = await showProc(o.masterSocket);
  const since = Date.now();
  writeFiles(o.runDir, files, prev);
  if (!currentWorker(before)) {
    // Nothing serves (haproxy is starting or restarting): it will read these files when it starts.
    const w = await waitForWorker(o, since);
    if (w.refused) {
      writeFiles(o.runDir, prev, files); // the previous files were accepted before: start on those
      return { outcome: "rejected", generation, reason: w.refused };
    }
    if (!w.pid) return { outcome: "waiting", generation, reason: `no haproxy worker within ${o.startTimeoutMs}ms` };
    return { outcome: "initial", generation, workerPid: w.pid };
  }
  const r = await reload(o, before);
  if (r.error) {
    writeFiles(o.runDir, prev, files);
    return { outcome: "rejected", generation, reason: r.error };
  }
  return { outcome: "reloaded", generation, workerPid: r.pid };
}
