/**
 * dist/ is what gets deployed: its YAML is accepted by the real API server (server-side dry run),
 * and the built bundle boots in both of pepr's roles — the watcher (primes its index, runs the
 * loop) and the admission controller (keeps its own watches for warnings). The bundle runs with a
 * controllerName nobody uses, so it never writes to objects other suites own.
 */
import { beforeAll, expect, jest, test } from "@jest/globals";
import { execFile, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { parseAllDocuments, stringify } from "yaml";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { ensureCluster } from "../../hack/cluster/up.js";
import { BIN, KUBECONFIG } from "../../hack/cluster/config.js";

jest.setTimeout(120_000);
const run = promisify(execFile);
const REPO = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const DIST = join(REPO, "dist");

beforeAll(async () => {
  await ensureCluster();
});

test("the module YAML passes a server-side dry-run apply", async () => {
  // A dev module (hack/dev-module.ts) may hold a webhook of the same name with a url client
  // config: dry-run ours under another name so the two are not merged.
  const docs = parseAllDocuments(readFileSync(join(DIST, "pepr-module-crossway.yaml"), "utf8")).map((d) => d.toJS());
  for (const d of docs)
    if (d?.kind === "ValidatingWebhookConfiguration") d.metadata.name = `pepr-crossway-dryrun-${process.pid}`;
  const p = run(BIN.kubectl, ["--kubeconfig", KUBECONFIG, "apply", "--dry-run=server", "-f", "-"], { timeout: 60_000 });
  p.child.stdin!.end(docs.map((d) => stringify(d)).join("---\n"));
  const { stdout } = await p;
  for (const what of [
    "clusterrole.rbac.authorization.k8s.io/pepr-crossway",
    "deployment.apps/pepr-crossway-watcher",
    "deployment.apps/pepr-crossway ",
    "validatingwebhookconfiguration.admissionregistration.k8s.io/pepr-crossway-dryrun",
  ]) {
    expect(stdout).toContain(what);
  }
});

/** Run the bundle for a while in one role and collect its JSON log lines. */
async function boot(role: "watcher" | "admission", until: string): Promise<Record<string, unknown>[]> {
  const dir = mkdtempSync(join(tmpdir(), "crossway-dist-test-"));
  const cert = join(dir, "tls.crt");
  const key = join(dir, "tls.key");
  await run("openssl", [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    key,
    "-out",
    cert,
    "-days",
    "1",
    "-subj",
    "/CN=localhost",
  ]);
  const child = spawn(process.execPath, [join(DIST, "pepr-crossway.js")], {
    cwd: REPO,
    env: {
      ...process.env,
      NODE_OPTIONS: "",
      PEPR_MODE: "",
      KUBECONFIG,
      PEPR_WATCH_MODE: role === "watcher" ? "true" : "false",
      PEPR_API_PATH: "dist-test",
      SSL_KEY_PATH: key,
      SSL_CERT_PATH: cert,
      CROSSWAY_WEBHOOK_PORT: String(3900 + (process.pid % 50)),
      CROSSWAY_CONTROLLER_NAME: `dist-test.example.com/${process.pid}`,
      LOG_LEVEL: "warn",
      CROSSWAY_LOG_LEVEL: "info",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: Record<string, unknown>[] = [];
  let buf = "";
  const take = (chunk: Buffer) => {
    buf += chunk.toString();
    const parts = buf.split("\n");
    buf = parts.pop()!;
    for (const l of parts) {
      try {
        lines.push(JSON.parse(l));
      } catch {
        lines.push({ msg: l });
      }
    }
  };
  child.stdout!.on("data", take);
  child.stderr!.on("data", take);
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && !lines.some((l) => l.msg === until) && child.exitCode === null) {
    await new Promise((r) => setTimeout(r, 200));
  }
  child.kill("SIGTERM");
  await new Promise((r) => (child.exitCode !== null ? r(null) : child.once("exit", r)));
  rmSync(dir, { recursive: true, force: true });
  return lines;
}

test("the bundle boots as the watcher: primes the index and reconciles", async () => {
  const lines = await boot("watcher", "reconciled");
  expect(lines.find((l) => l.msg === "crossway starting")).toMatchObject({ role: "controller" });
  expect(lines.some((l) => l.msg === "controller started")).toBe(true);
  expect(lines.some((l) => l.msg === "reconciled")).toBe(true);
  expect(lines.filter((l) => l.level === 50)).toEqual([]);
});

test("the bundle boots as the admission controller with its own watches", async () => {
  const lines = await boot("admission", "admission index watching");
  expect(lines.find((l) => l.msg === "crossway starting")).toMatchObject({ role: "admission" });
  expect(lines.some((l) => l.msg === "admission index watching")).toBe(true);
  expect(lines.filter((l) => l.level === 50)).toEqual([]);
});
