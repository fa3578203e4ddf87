/**
 * Run the crossway module against a cluster the way `npx pepr dev` does — one process serving
 * the admission webhooks and running the watches and the reconcile loop — without `pepr dev`'s
 * side effects (it rebuilds dist/ and writes certificates into the repo).
 *
 *   startModule({ kubeconfig })  → registers the ValidatingWebhookConfiguration at
 *                                  https://localhost:<port>/validate/<random path> with a fresh CA
 *                                  (server cert SAN: localhost, 127.0.0.1), applies pepr's store
 *                                  CRD, forks `pepr.ts` (tsx) and resolves once the controller has
 *                                  primed its index and the webhook answers;
 *   stopModule()                 → stops the process and removes the webhook and pepr's stores.
 *
 * One module per machine at a time (.local/dev-module.lock): two controllers would fight over
 * status. CLI: `npm run dev:module` runs it until Ctrl-C.
 */
import { spawn, execFile, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import https from "node:https";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describeError } from "../capabilities/reconcilers/log";
import { acquireLock } from "./cluster/lock.js";

const REPO = resolve(fileURLToPath(new URL("..", import.meta.url)));
const LOCAL = join(REPO, ".local");
const DIR = join(LOCAL, "dev-module");
const WEBHOOK_NAME = "pepr-crossway";
const STORES = ["pepr-crossway-store", "pepr-crossway-schedule"];
const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface StartOptions {
  /** Default .local/kubeconfig (the local cluster). */
  kubeconfig?: string;
  /** Webhook port on localhost (default 3000, like pepr dev). */
  port?: number;
  /** Extra environment for the module (e.g. CROSSWAY_LABEL_ADMINS). */
  env?: Record<string, string>;
  /**
   * Default "Ignore": the local cluster is shared by several suites, and a crashed dev module must
   * not block their namespace and route writes. The deployed module uses "Ignore" too (onError=ignore;
   * its label policy is also a ValidatingAdmissionPolicy, which needs no module).
   */
  failurePolicy?: "Fail" | "Ignore";
  readyTimeoutMs?: number;
  lockTimeoutMs?: number;
}

export interface RunningModule {
  pid: number;
  logFile: string;
  webhookUrl: string;
  /** Log lines written so far (JSON objects where parseable). */
  logs(): Record<string, unknown>[];
}

let current: { child: ChildProcess; info: RunningModule } | undefined;
/** Releases .local/dev-module.lock; held from startModule to stopModule. */
let releaseLock: (() => void) | undefined;

/** A throwaway CA and a server certificate for localhost (the API server checks the SAN). */
async function makeTLS(): Promise<{ caPem: string; key: string; crt: string }> {
  mkdirSync(DIR, { recursive: true });
  const f = (n: string) => join(DIR, n);
  writeFileSync(
    f("ext.cnf"),
    "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nbasicConstraints=CA:FALSE\n" +
      "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
  );
  await run("openssl", [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    f("ca.key"),
    "-out",
    f("ca.crt"),
    "-days",
    "7",
    "-subj",
    "/CN=crossway dev webhook CA",
  ]);
  await run("openssl", [
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    f("tls.key"),
    "-out",
    f("tls.csr"),
    "-subj",
    "/CN=localhost",
  ]);
  await run("openssl", [
    "x509",
    "-req",
    "-in",
    f("tls.csr"),
    "-CA",
    f("ca.crt"),
    "-CAkey",
    f("ca.key"),
    "-CAcreateserial",
    "-out",
    f("tls.crt"),
    "-days",
    "7",
    "-extfile",
    f("ext.cnf"),
  ]);
  return { caPem: readFileSync(f("ca.crt"), "utf8"), key: f("tls.key"), crt: f("tls.crt") };
}

async function k8s() {
  // Imported lazily so KUBECONFIG is set before kubernetes-fluent-client reads it.
  const { K8s, kind } = await import("kubernetes-fluent-client");
  return { K8s, kind };
}

/** pepr's PeprStore CRD (pepr/src/lib/assets/store.ts), which the controller needs to start (the image's entrypoint applies it). */
const STORE_GVK = { group: "pepr.dev", version: "v1", kind: "PeprStore", plural: "peprstores" };
export const peprStoreCRD = {
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: { name: "peprstores.pepr.dev" },
  spec: {
    group: "pepr.dev",
    versions: [
      {
        name: "v1",
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: "object",
            properties: { data: { type: "object", additionalProperties: { type: "string" } } },
          },
        },
      },
    ],
    scope: "Namespaced",
    names: { plural: "peprstores", singular: "peprstore", kind: "PeprStore" },
  },
};

/**
 * What the deployed module installs for its data plane (dist/, capabilities/policy/admission-policies.ts):
 * the agents' ClusterRole (their RoleBindings point at it) and the policy that keeps each agent to
 * its own pod's annotations, and the route-ownership policies (admission: Deny held by the API server
 * with the index this module writes, also once it stops). Cluster-scoped, idempotent, left installed. (The label and controller
 * policies are not: this module runs with the kubeconfig's credentials and its webhook is the label policy.)
 */
async function installDataPlanePolicies() {
  const { K8s, GenericKind } = await import("kubernetes-fluent-client");
  const { agentClusterRole, agentPolicy } = await import("../capabilities/policy/admission-policies");
  const { ownershipAdmissionPolicy } = await import("../capabilities/policy/ownership-vap");
  const plural: Record<string, string> = {
    ClusterRole: "clusterroles",
    ValidatingAdmissionPolicy: "validatingadmissionpolicies",
    ValidatingAdmissionPolicyBinding: "validatingadmissionpolicybindings",
  };
  for (const o of [agentClusterRole(), ...agentPolicy(), ...ownershipAdmissionPolicy()]) {
    const [group, version] = o.apiVersion.split("/");
    const gvk = { group, version, kind: o.kind, plural: plural[o.kind] };
    await K8s(GenericKind, { kindOverride: gvk } as never).Apply(o as never, { force: true });
  }
}

async function webhookRules() {
  process.env.LOG_LEVEL ??= "warn"; // pepr logs every binding it registers at info
  const { GatewayAPI } = await import("../capabilities/gateway-api");
  const rules = new Map<string, object>();
  for (const b of GatewayAPI.bindings) {
    if (!b.isValidate) continue;
    const operations = b.event === "CREATEORUPDATE" ? ["CREATE", "UPDATE"] : [String(b.event)];
    const rule = {
      apiGroups: [b.kind.group],
      apiVersions: [b.kind.version || "*"],
      operations,
      resources: [b.kind.plural || `${b.kind.kind.toLowerCase()}s`],
    };
    rules.set(JSON.stringify(rule), rule);
  }
  return [...rules.values()];
}

async function registerWebhook(url: string, caPem: string, failurePolicy: "Fail" | "Ignore") {
  const { K8s, kind } = await k8s();
  await K8s(kind.Namespace).Apply(
    { apiVersion: "v1", kind: "Namespace", metadata: { name: "pepr-system" } },
    { force: true },
  );
  await K8s(kind.CustomResourceDefinition).Apply(peprStoreCRD as never, { force: true });
  await installDataPlanePolicies();
  const deadline = Date.now() + 30_000;
  for (;;) {
    const crd = await K8s(kind.CustomResourceDefinition).Get(peprStoreCRD.metadata.name);
    if (crd.status?.conditions?.some((c) => c.type === "Established" && c.status === "True")) break;
    if (Date.now() > deadline) throw new Error("pepr's PeprStore CRD did not become Established in 30s");
    await sleep(200);
  }
  await K8s(kind.MutatingWebhookConfiguration).Delete(WEBHOOK_NAME);
  await K8s(kind.ValidatingWebhookConfiguration).Apply(
    {
      apiVersion: "admissionregistration.k8s.io/v1",
      kind: "ValidatingWebhookConfiguration",
      metadata: { name: WEBHOOK_NAME },
      webhooks: [
        {
          name: `${WEBHOOK_NAME}.pepr.dev`,
          admissionReviewVersions: ["v1", "v1beta1"],
          clientConfig: { url, caBundle: Buffer.from(caPem).toString("base64") },
          failurePolicy,
          matchPolicy: "Equivalent",
          timeoutSeconds: 10,
          namespaceSelector: {
            matchExpressions: [
              { key: "kubernetes.io/metadata.name", operator: "NotIn", values: ["kube-system", "pepr-system"] },
            ],
          },
          rules: (await webhookRules()) as never,
          sideEffects: "None",
        },
      ],
    },
    { force: true },
  );
}

async function removeWebhook() {
  const { K8s, kind } = await k8s();
  const { GenericKind } = await import("kubernetes-fluent-client");
  await K8s(kind.ValidatingWebhookConfiguration).Delete(WEBHOOK_NAME);
  await K8s(kind.MutatingWebhookConfiguration).Delete(WEBHOOK_NAME);
  for (const s of STORES) {
    await K8s(GenericKind, { namespace: "pepr-system", kindOverride: STORE_GVK } as never)
      .Delete(s)
      .catch(() => undefined);
  }
}

const healthy = (port: number) =>
  new Promise<boolean>((done) => {
    // loopback only; the certificate is our own throwaway one
    const req = https.get(
      { host: "127.0.0.1", port, path: "/healthz", rejectUnauthorized: false, timeout: 1000 },
      (res) => {
        res.resume();
        done(res.statusCode === 200);
      },
    );
    req.on("error", () => done(false));
    req.on("timeout", () => (req.destroy(), done(false)));
  });

function readLogs(file: string): Record<string, unknown>[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => {
      try {
        return JSON.parse(l) as Record<string, unknown>;
      } catch {
        return { msg: l };
      }
    });
}

export async function startModule(opts: StartOptions = {}): Promise<RunningModule> {
  if (current) return current.info;
  const kubeconfig = resolve(opts.kubeconfig ?? join(LOCAL, "kubeconfig"));
  if (!existsSync(kubeconfig)) throw new Error(`no kubeconfig at ${kubeconfig}: run npm run local:up first`);
  process.env.KUBECONFIG = kubeconfig;
  const port = opts.port ?? 3000;
  releaseLock = await acquireLock("dev-module", {
    timeoutMs: opts.lockTimeoutMs ?? 120_000,
    pollMs: 500,
    reentrant: true, // a module this process started and lost track of
    busy: (file, owner) => `a crossway dev module is already running (pid ${owner}, ${file}); stop it first`,
  });
  try {
    const tls = await makeTLS();
    const apiPath = randomBytes(32).toString("hex");
    const webhookUrl = `https://localhost:${port}/validate/${apiPath}`;
    await registerWebhook(webhookUrl, tls.caPem, opts.failurePolicy ?? "Ignore");
    mkdirSync(join(LOCAL, "logs"), { recursive: true });
    const logFile = join(LOCAL, "logs", "dev-module.log");
    const out = openSync(logFile, "w");
    const child = spawn(process.execPath, ["--import", "tsx", "pepr.ts"], {
      cwd: REPO,
      env: {
        ...process.env,
        NODE_OPTIONS: "",
        KUBECONFIG: kubeconfig,
        PEPR_MODE: "dev",
        PEPR_WATCH_MODE: "false",
        PEPR_API_PATH: apiPath,
        SSL_KEY_PATH: tls.key,
        SSL_CERT_PATH: tls.crt,
        CROSSWAY_WEBHOOK_PORT: String(port),
        LOG_LEVEL: process.env.CROSSWAY_DEV_PEPR_LOG_LEVEL ?? "warn", // pepr logs a line per request at info
        CROSSWAY_LOG_LEVEL: process.env.CROSSWAY_DEV_LOG_LEVEL ?? "info",
        ...opts.env,
      },
      stdio: ["ignore", out, out, "ipc"], // the module exits when this process goes away
    });
    closeSync(out);
    const info: RunningModule = { pid: child.pid!, logFile, webhookUrl, logs: () => readLogs(logFile) };
    current = { child, info };
    const deadline = Date.now() + (opts.readyTimeoutMs ?? 60_000);
    for (;;) {
      if (child.exitCode !== null) throw new Error(`crossway module exited with ${child.exitCode}; see ${logFile}`);
      const started = info.logs().some((l) => l.msg === "controller started");
      if (started && (await healthy(port))) return info;
      if (Date.now() > deadline)
        throw new Error(`crossway module not ready after ${opts.readyTimeoutMs ?? 60_000}ms; see ${logFile}`);
      await sleep(250);
    }
  } catch (e) {
    await stopModule().catch(() => undefined);
    if (e instanceof Error) throw e;
    // kubernetes-fluent-client throws raw responses: turn them into a readable Error
    const d = describeError(e);
    throw new Error(`could not start the crossway module: ${d.status ? `HTTP ${d.status} ` : ""}${d.error}`);
  }
}

export async function stopModule(): Promise<void> {
  const c = current;
  current = undefined;
  if (c && c.child.exitCode === null) {
    const exited = new Promise((r) => c.child.once("exit", r));
    c.child.kill("SIGTERM");
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 5000)))]);
    clearTimeout(timer);
    if (c.child.exitCode === null) c.child.kill("SIGKILL");
  }
  try {
    await removeWebhook();
  } finally {
    releaseLock?.();
    releaseLock = undefined;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  startModule().then(
    (m) => {
      console.log(`crossway module running (pid ${m.pid}); logs ${m.logFile}; Ctrl-C stops it`);
      const stop = () => void stopModule().then(() => process.exit(0));
      process.on("SIGINT", stop);
      process.on("SIGTERM", stop);
    },
    (e) => {
      console.error(e instanceof Error ? e.message : `could not start the crossway module: ${describeError(e).error}`);
      process.exitCode = 1;
    },
  );
}
