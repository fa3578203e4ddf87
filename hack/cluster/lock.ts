/** A cross-process lock (.local/<name>.lock holding the owner's pid), so parallel callers of
 * ensureCluster() / local:down take turns instead of starting two etcds. Stale locks of dead
 * owners are taken over; waiting is bounded. */
import { mkdirSync, openSync, readFileSync, rmSync, writeSync, closeSync } from "node:fs";
import { join } from "node:path";
import { LOCAL } from "./config.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

export async function withLock<T>(name: string, fn: () => Promise<T>, timeoutMs = 180_000): Promise<T> {
  mkdirSync(LOCAL, { recursive: true });
  const file = join(LOCAL, `${name}.lock`);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fd = openSync(file, "wx");
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      let owner = NaN;
      try {
        owner = Number(readFileSync(file, "utf8"));
      } catch {
        continue; // released between open and read
      }
      if (!Number.isInteger(owner) || !alive(owner)) {
        rmSync(file, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`${file} is held by pid ${owner} for more than ${timeoutMs}ms`);
      await sleep(250);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(file, { force: true });
  }
}
