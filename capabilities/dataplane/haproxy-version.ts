/**
 * Which HAProxy a binary is: the first line of `<bin> -v` (e.g. "HAProxy version 2.6.12-1+deb12u4
 * 2026/10/17 - https://haproxy.org/"). The controller publishes the line it checked a config with
 * (ANN_VETTED_WITH); the agent compares it with its own. Node built-ins only (bundled into the agent).
 */
import { spawnSync } from "node:child_process";

export function haproxyVersion(bin: string): string | undefined {
  try {
    const r = spawnSync(bin, ["-v"], { encoding: "utf8", timeout: 5000 });
    return r.status === 0 ? r.stdout.split("\n")[0].trim() || undefined : undefined;
  } catch {
    return undefined;
  }
}
