/** Cross-process locks (.local/<name>.lock holding the owner's pid): parallel callers of
 * ensureCluster() / local:down take turns instead of starting two etcds, and only one dev module
 * runs per machine. Stale locks of dead owners are taken over; waiting is bounded. */
import { mkdirSync, openSync, readFileSync, rmSync, writeSync, closeSync } from "node:fs";
import { join } from "node:path";
import { LOCAL } from "./config.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Whether a process with this pid exists (signal 0 checks without sending anything). */
export const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const lockFile = (name: string) => join(LOCAL, `${name}.lock`);

const ownerOf = (file: string): number | undefined => {
  try {
    return Number(readFileSync(file, "utf8"));
  } catch {
    return undefined; // released meanwhile
  }
};

export interface LockOptions {
  timeoutMs?: number;
  pollMs?: number;
  /** A lock this process already holds counts as free (held across calls, e.g. the dev module's). */
  reentrant?: boolean;
  /** The error message when another live process still holds the lock at the deadline. */
  busy?: (file: string, owner: number) => string;
}

/** Takes the lock; resolves to its release (which removes the file only while it is still ours). */
export async function acquireLock(name: string, o: LockOptions = {}): Promise<() => void> {
  const { timeoutMs = 180_000, pollMs = 250 } = o;
  mkdirSync(LOCAL, { recursive: true });
  const file = lockFile(name);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fd = openSync(file, "wx");
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => {
        if (ownerOf(file) === process.pid) rmSync(file, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const owner = ownerOf(file);
      if (owner === undefined) continue;
      if (!Number.isInteger(owner) || !alive(owner) || (o.reentrant && owner === process.pid)) {
        rmSync(file, { force: true });
        continue;
      }
      if (Date.now() > deadline)
        throw new Error(o.busy?.(file, owner) ?? `${file} is held by pid ${owner} for more than ${timeoutMs}ms`);
      await sleep(pollMs);
    }
  }
}

export async function withLock<T>(name: string, fn: () => Promise<T>, timeoutMs = 180_000): Promise<T> {
  const release = await acquireLock(name, { timeoutMs });
  try {
    return await fn();
  } finally {
    release();
  }
}
