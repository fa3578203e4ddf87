/**
 * Which `haproxy -c` the controller vets configs with, and the one that runs in the module's
 * `haproxy-vet` sidecar (capabilities/dataplane/vet-sidecar.ts: the data plane's own image, so the
 * same HAProxy version by construction). In order:
 * 1. CROSSWAY_VET_DIR (set on the watcher container by the shipped module): the sidecar;
 * 2. a local binary (CROSSWAY_HAPROXY_BIN, or `haproxy` on PATH): dev mode, the module as a host
 *    process;
 * 3. none: configs are published unchecked and the data-plane agents are the only guard (logged).
 */
import { randomBytes } from "node:crypto";
import { chmod, mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { VET_DIR_ENV, VET_POLL_SECONDS, VET_RUN_SECONDS, vetPaths } from "../dataplane/vet-sidecar";
import { CheckUnavailable, alertText, findHaproxy, haproxyChecker, type VersionedCheck } from "./config-vet";
import type { Logger } from "./log";

export interface SidecarOptions {
  /** How long a job may wait to be taken by the sidecar (it polls every VET_POLL_SECONDS). */
  pickupMs?: number;
  /** The same, once a job was not taken: checks fail fast while the sidecar is down. */
  pickupAfterMissMs?: number;
  /** How long a taken job may run (the sidecar bounds `haproxy -c` by VET_RUN_SECONDS). */
  runMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );

/** Exit codes of `timeout`/sh themselves (timed out, not runnable, not found) and signals: no verdict. */
const NOT_HAPROXY = 124;

/**
 * A ConfigCheck through the sidecar in `dir` (see vet-sidecar.ts for the protocol). A job the
 * sidecar does not take in time, or does not finish, throws CheckUnavailable with a reason; it
 * never yields an accepted verdict. `version` is the sidecar's `haproxy -v` line, once published.
 */
export function sidecarChecker(dir: string, o: SidecarOptions = {}): VersionedCheck {
  const pickupMs = o.pickupMs ?? 10_000;
  const pickupAfterMissMs = o.pickupAfterMissMs ?? 2_000;
  const runMs = o.runMs ?? (VET_RUN_SECONDS + 10) * 1000;
  let missed = false;
  let n = 0;
  let version: string | undefined;
  // This process's leftovers from an earlier life (jobs written or handed over, never collected).
  for (const name of safeList(dir))
    if (/^(new|job)\./.test(name)) rmSync(join(dir, name), { recursive: true, force: true });

  const check = async (files: Record<string, string>): Promise<string | undefined> => {
    const id = `${process.pid}-${++n}-${randomBytes(4).toString("hex")}`;
    const writing = join(dir, vetPaths.writing(id));
    const job = join(dir, vetPaths.job(id));
    const result = join(dir, vetPaths.result(id));
    try {
      await mkdir(writing);
      // The sidecar removes the job once checked: let the pod's group (fsGroup) do so.
      await chmod(writing, 0o770);
      await Promise.all(Object.entries(files).map(([name, text]) => writeFile(join(writing, name), text)));
      await rename(writing, job);
    } catch (e) {
      await rm(writing, { recursive: true, force: true });
      throw new CheckUnavailable(`cannot hand the config to the haproxy-vet sidecar in ${dir}: ${String(e)}`);
    }
    const started = Date.now();
    const pickup = missed ? pickupAfterMissMs : pickupMs;
    let taken = false;
    for (let wait = 10; ; wait = Math.min(wait * 2, 100)) {
      if (await exists(join(result, vetPaths.rc))) {
        missed = false;
        return verdict(dir, id, result);
      }
      const elapsed = Date.now() - started;
      if (!taken && elapsed > pickup) {
        // Take the job back atomically; if that fails, the sidecar has just taken it.
        const back = join(dir, `gone.${id}`);
        if (
          await rename(job, back).then(
            () => true,
            () => false,
          )
        ) {
          await rm(back, { recursive: true, force: true });
          missed = true;
          throw new CheckUnavailable(
            `the haproxy-vet sidecar did not take the check within ${pickup} ms (is its container running? see its log)`,
          );
        }
        taken = true;
      }
      if (elapsed > runMs)
        throw new CheckUnavailable(`the haproxy-vet sidecar took the check but gave no verdict within ${runMs} ms`);
      await sleep(wait);
    }
  };

  return Object.defineProperty(check, "version", {
    enumerable: true,
    get: () => (version ??= readVersion(dir)),
  }) as VersionedCheck;
}

/** The sidecar's result for job `id`: only an exit code haproxy itself gave is a verdict. */
async function verdict(dir: string, id: string, result: string): Promise<string | undefined> {
  try {
    const code = (await readFile(join(result, vetPaths.rc), "utf8")).trim();
    const out = await readFile(join(result, vetPaths.out), "utf8").catch(() => "");
    const last = out.trim().split("\n").slice(-1)[0] ?? "";
    // Strict: an empty or garbled exit code must never read as 0 (accepted).
    if (!/^\d{1,3}$/.test(code))
      throw new CheckUnavailable(`the haproxy-vet sidecar wrote no exit code (${JSON.stringify(code.slice(0, 40))})`);
    const rc = Number(code);
    if (rc === 0) return undefined;
    if (rc < NOT_HAPROXY) return alertText(out, join(dir, vetPaths.run(id)));
    throw new CheckUnavailable(
      rc === NOT_HAPROXY
        ? `haproxy -c in the haproxy-vet sidecar ran over ${VET_RUN_SECONDS} s`
        : `haproxy -c in the haproxy-vet sidecar could not run (exit ${rc}): ${last}`,
    );
  } finally {
    await rm(result, { recursive: true, force: true });
  }
}

function readVersion(dir: string): string | undefined {
  try {
    return readFileSync(join(dir, vetPaths.version), "utf8").split("\n")[0].trim() || undefined;
  } catch {
    return undefined;
  }
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

const isDir = (p: string) => {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
};

/** The check for this process (see the top of this file), logged once at start. */
export function chooseConfigCheck(env: NodeJS.ProcessEnv, log: Logger): VersionedCheck | undefined {
  const dir = env[VET_DIR_ENV]?.trim();
  if (dir && isDir(dir)) {
    log.info(
      { vetDir: dir, pollSeconds: VET_POLL_SECONDS },
      "configs are checked before they are published by the haproxy-vet sidecar (the data plane's image)",
    );
    return sidecarChecker(dir);
  }
  if (dir) log.warn({ vetDir: dir }, `${VET_DIR_ENV} is not a directory; looking for a local haproxy binary`);
  const bin = findHaproxy(env);
  if (bin) {
    log.info({ haproxy: bin }, "configs are checked with haproxy -c before they are published");
    return haproxyChecker(bin);
  }
  log.warn(
    "no haproxy binary (CROSSWAY_HAPROXY_BIN): configs are published unchecked; the data-plane agents still refuse configs HAProxy rejects",
  );
  return undefined;
}
