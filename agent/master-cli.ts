/** HAProxy master CLI over its unix socket: one command per connection, every call bounded. */
import net from "node:net";

export async function masterCommand(socket: string, command: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = "";
    const conn = net.connect(socket);
    const timer = setTimeout(() => {
      conn.destroy();
      reject(new Error(`master CLI: "${command}" got no answer within ${timeoutMs}ms`));
    }, timeoutMs);
    conn.setEncoding("utf8");
    conn.on("connect", () => conn.write(`${command}; quit\n`));
    conn.on("data", (d: string) => (out += d));
    conn.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    conn.on("close", () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}

export interface ProcStatus {
  masterPid: number;
  reloads: number;
  failedReloads: number;
  /** Workers, each with the number of reloads it has lived through (0 = newest generation). */
  workers: { pid: number; reloads: number }[];
}

/** Parse `show proc` (2.6: `<pid> master <reloads> [failed: <n>] ...`, then `# workers`). */
export function parseShowProc(text: string): ProcStatus | undefined {
  const master = /^(\d+)\s+master\s+(\d+)(?:\s+\[failed:\s*(\d+)\])?/m.exec(text);
  if (!master) return undefined;
  const workers = [...text.matchAll(/^(\d+)\s+worker\s+(\d+)/gm)].map((m) => ({
    pid: Number(m[1]),
    reloads: Number(m[2]),
  }));
  return { masterPid: Number(master[1]), reloads: Number(master[2]), failedReloads: Number(master[3] ?? 0), workers };
}

export async function showProc(socket: string): Promise<ProcStatus | undefined> {
  try {
    return parseShowProc(await masterCommand(socket, "show proc", 2000));
  } catch {
    return undefined; // socket absent or master re-executing
  }
}

/**
 * The pid of the newest worker, if any: the one that went through the fewest reloads (after a
 * failed reload the serving worker's count goes up too, so it is not always 0).
 */
export const currentWorker = (p: ProcStatus | undefined) =>
  p?.workers.reduce<{ pid: number; reloads: number } | undefined>(
    (best, w) => (!best || w.reloads < best.reloads ? w : best),
    undefined,
  )?.pid;
