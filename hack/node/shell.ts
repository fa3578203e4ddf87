/** Running host commands (ip, mount, ...) with their stderr in the error message. */
import { execFile } from "node:child_process";

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command; never throws (for probes of state such as "does this link exist"). */
export const tryRun = (cmd: string, args: string[], timeoutMs = 15_000): Promise<RunResult> =>
  new Promise((resolve) => {
    // execFile answers only once the output pipes close, which a descendant holding them can
    // delay forever: the hard bound answers anyway (exit 124, as timeout(1) does)
    const hard = setTimeout(() => {
      child.kill("SIGKILL");
      resolve({ code: 124, stdout: "", stderr: `${cmd}: no result within ${timeoutMs + 5000} ms` });
    }, timeoutMs + 5000);
    const child = execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
      clearTimeout(hard);
      const code = err
        ? typeof (err as { code?: unknown }).code === "number"
          ? (err as { code: number }).code
          : 1
        : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr || (err && !stderr ? err.message : "")) });
    });
  });

/** Runs a command and throws `cmd args: stderr` when it exits non-zero. */
export const run = async (cmd: string, args: string[], timeoutMs = 15_000): Promise<string> => {
  const r = await tryRun(cmd, args, timeoutMs);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
};

/** Single-quotes a value for /bin/sh. */
export const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
