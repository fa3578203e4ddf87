/**
 * `npm run local:down`: stops everything local:up started (node agent first, so it can stop its
 * pods while the API server still answers; then controller manager, API server, etcd), lets the
 * node agent remove its network namespaces, links and mounts, removes the bridge, and verifies that
 * nothing is left. Exit code 1 (and a list) if anything is. `--purge` also deletes .local/.
 */
import { execFile } from "node:child_process";
import { existsSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { BIN, BRIDGE, CACHE, DIRS, KUBECONFIG, LOCAL, NODE_AGENT, REPO } from "./config.js";
import { withLock } from "./lock.js";
import { log } from "./log.js";
import { cmdline, recorded, stop } from "./proc.js";

const run = promisify(execFile);
const ORDER = ["node", "kube-controller-manager", "kube-apiserver", "etcd"];

/** Runs the node agent's own cleanup (it owns netns/veth/mount teardown). */
async function nodeCleanup(): Promise<string | undefined> {
  if (!existsSync(NODE_AGENT)) return undefined;
  try {
    await run(
      process.execPath,
      ["--import", "tsx", NODE_AGENT, "--cleanup", "--kubeconfig", KUBECONFIG, "--state", DIRS.node],
      {
        cwd: REPO,
        timeout: 60_000,
      },
    );
    return undefined;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    return `node agent --cleanup failed: ${(e.stderr || e.message).trim().split("\n").slice(-5).join(" | ")}`;
  }
}

async function linkExists(name: string) {
  try {
    await run("ip", ["link", "show", name]);
    return true;
  } catch {
    return false;
  }
}

/** What the cluster could have left behind: processes, network namespaces, links, mounts. */
export async function leftovers(): Promise<string[]> {
  const found: string[] = [];
  const ours = [LOCAL, BIN.etcd, BIN.apiserver, BIN.controllerManager, NODE_AGENT, `${CACHE}/echo-basic-`];
  for (const entry of readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    const cl = cmdline(pid);
    if (cl && ours.some((m) => cl.includes(m)) && !cl.includes("hack/cluster/down.ts"))
      found.push(`process ${pid}: ${cl.slice(0, 160)}`);
  }
  const netns = await run("ip", ["netns", "list"]).then(
    (r) => r.stdout,
    () => "",
  );
  for (const line of netns.split("\n")) if (line.startsWith("crossway")) found.push(`netns ${line.split(" ")[0]}`);
  const links = await run("ip", ["-o", "link", "show"]).then(
    (r) => r.stdout,
    () => "",
  );
  for (const line of links.split("\n")) {
    const name = /^\d+: ([^:@]+)/.exec(line)?.[1];
    if (name?.startsWith("crossway") || (name?.startsWith("cw") && line.includes("veth"))) found.push(`link ${name}`);
  }
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const mountPoint = line.split(" ")[4];
    if (mountPoint?.startsWith(LOCAL) || mountPoint?.startsWith("/run/netns/crossway"))
      found.push(`mount ${mountPoint}`);
  }
  return found;
}

export interface DownResult {
  stopped: string[];
  problems: string[];
}

async function down(purge: boolean): Promise<DownResult> {
  const problems: string[] = [];
  const stopped: string[] = [];
  const procs = recorded().sort((a, b) => {
    const rank = (n: string) => (ORDER.indexOf(n) < 0 ? -1 : ORDER.indexOf(n));
    return rank(a.name) - rank(b.name);
  });
  for (const p of procs) {
    if (await stop(p.name, p.pid, p.marker || String(p.pid))) stopped.push(p.name);
    else problems.push(`${p.name} (pid ${p.pid}) did not stop`);
    if (p.name === "node") {
      const err = await nodeCleanup();
      if (err) problems.push(err);
    }
  }
  if (!procs.some((p) => p.name === "node")) {
    const err = await nodeCleanup();
    if (err) problems.push(err);
  }
  if (await linkExists(BRIDGE)) {
    await run("ip", ["link", "del", BRIDGE]).catch((err: Error) =>
      problems.push(`ip link del ${BRIDGE}: ${err.message}`),
    );
    log.info({ link: BRIDGE }, "removed bridge");
  }
  problems.push(...(await leftovers()));
  if (purge && problems.length === 0) {
    rmSync(LOCAL, { recursive: true, force: true });
    log.info({ dir: LOCAL }, "purged");
  }
  return { stopped, problems };
}

/** Stops the local cluster; `purge` also deletes .local/ (etcd data, PKI, logs) when all is clean. */
export const stopCluster = (purge = false) => withLock("cluster", () => down(purge));

const isMain = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  process.chdir(REPO);
  stopCluster(process.argv.includes("--purge")).then(
    ({ stopped, problems }) => {
      if (problems.length) {
        process.stderr.write(`local:down left things behind:\n  ${problems.join("\n  ")}\n`);
        process.exitCode = 1;
      } else {
        process.stdout.write(
          `crossway local cluster stopped (${stopped.join(", ") || "nothing was running"}); no process, netns, link or mount left\n`,
        );
      }
    },
    (err: Error) => {
      process.stderr.write(`local:down failed: ${err.message}\n`);
      process.exitCode = 1;
    },
  );
}
