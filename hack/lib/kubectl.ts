/**
 * kubectl for the demo, the conformance runner and the cluster tests: the Go-built kubectl
 * against the local cluster's admin kubeconfig.
 * Resolves with stdout; rejects with an Error whose message is kubectl's stderr (what a user sees).
 */
import { spawn } from "node:child_process";
import { BIN, KUBECONFIG } from "../cluster/config.js";

export class KubectlError extends Error {
  constructor(
    readonly args: string[],
    readonly code: number | null,
    readonly stderr: string,
    readonly stdout: string,
  ) {
    super(`kubectl ${args.join(" ")} exited ${code}: ${stderr.trim()}`);
  }
}

export function kubectl(args: string[], stdin?: string, timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(BIN.kubectl, ["--kubeconfig", KUBECONFIG, ...args], { stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.stdout.on("data", (c: Buffer) => out.push(c));
    child.stderr.on("data", (c: Buffer) => err.push(c));
    child.on("error", (e) => (clearTimeout(timer), reject(e)));
    child.on("close", (code) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString("utf8");
      const stderr = Buffer.concat(err).toString("utf8");
      if (code === 0) resolve(stdout);
      else
        reject(new KubectlError(args, code, code === null ? `killed after ${timeoutMs}ms; ${stderr}` : stderr, stdout));
    });
    // kubectl may exit without reading stdin (EPIPE): its exit code and stderr tell the story.
    child.stdin.on("error", () => undefined);
    child.stdin.end(stdin ?? "");
  });
}

/** kubectl … -o json, parsed. */
export const kubectlJson = async <T = unknown>(args: string[]): Promise<T> =>
  JSON.parse(await kubectl([...args, "-o", "json"])) as T;

/** The error kubectl reported, for asserting on rejections. */
export async function kubectlError(args: string[], stdin?: string): Promise<KubectlError> {
  try {
    await kubectl(args, stdin);
  } catch (e) {
    if (e instanceof KubectlError) return e;
    throw e;
  }
  throw new Error(`expected kubectl ${args.join(" ")} to fail, but it succeeded`);
}
