/**
 * dist/ is what gets deployed: its YAML is accepted by the real API server (server-side dry run),
 * and the built bundle boots in both of pepr's roles — the watcher (primes its index, runs the
 * loop) and the admission controller (keeps its own watches for warnings). The bundle runs with a
 * controllerName nobody uses, so it never writes to objects other suites own.
 * Least privilege: with dist's own RBAC and policies installed, the module's ServiceAccount can
 * write a Gateway's data plane (server-side apply, as the controller does) and nothing else, and
 * the watcher runs on that ServiceAccount's token without a single refused request. The watcher
 * pod carries the haproxy-vet sidecar (the command test/shell/vet-sidecar.test.ts runs).
 * Per-install credentials: dist/ holds none; the overlay `npm run credentials` writes builds with
 * kustomize into YAML the API server accepts, and the bundle serves admission with them the way
 * the API server calls it (caBundle trust, the Service's name, the token in the path).
 */
import { afterAll, beforeAll, describe, expect, jest, test } from "@jest/globals";
import { execFile, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { parse, parseAllDocuments, stringify } from "yaml";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { ensureCluster } from "../../hack/cluster/up.js";
import { BIN, KUBECONFIG } from "../../hack/cluster/config.js";
import { dataPlaneObjects } from "../../capabilities/dataplane/manifests.js";
import {
  HAPROXY_IMAGE,
  LABEL_COMPONENT,
  LABEL_GATEWAY,
  configSecretName,
} from "../../capabilities/dataplane/conventions.js";
import {
  VET_CONTAINER,
  VET_DIR,
  VET_DIR_ENV,
  VET_SCRIPT,
  VET_VOLUME,
  vetSidecarCommand,
} from "../../capabilities/dataplane/vet-sidecar.js";
import { propagatedLabels } from "../../capabilities/dataplane/metadata.js";
import { MODULE_NAMESPACE, MODULE_SERVICE_ACCOUNT } from "../../capabilities/policy/admission-policies.js";
import { eventually } from "../../hack/lib/eventually.js";
import { peprStoreCRD } from "../../hack/dev-module.js";

jest.setTimeout(120_000);
const run = promisify(execFile);
const REPO = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const DIST = join(REPO, "dist");

/** This install's credentials, as a GitOps user makes them: `npm run credentials -- --out <dir>`. */
const OVERLAY = mkdtempSync(join(tmpdir(), "crossway-dist-overlay-"));
const creds = { cert: "", key: "", ca: "", token: "", caBundle: "" };

beforeAll(async () => {
  await run(process.execPath, ["--import", "tsx", join(REPO, "hack", "credentials.ts"), "--out", OVERLAY], {
    cwd: REPO,
  });
  const secrets = parseAllDocuments(readFileSync(join(OVERLAY, "webhook-credentials.yaml"), "utf8")).map((d) =>
    d.toJS(),
  );
  const data = (name: string) => secrets.find((x) => x.metadata.name === name).data as Record<string, string>;
  const d = (v: string) => Buffer.from(v, "base64").toString();
  Object.assign(creds, {
    cert: d(data("pepr-crossway-tls")["tls.crt"]),
    key: d(data("pepr-crossway-tls")["tls.key"]),
    ca: d(data("pepr-crossway-tls")["ca.crt"]),
    token: d(data("pepr-crossway-api-path").value),
  });
  await ensureCluster();
  // What the installed module finds in place: its namespace (dist/ creates it, a dry run does not)
  // and pepr's PeprStore CRD (the image's entrypoint applies it; here the bundle runs without it).
  // pepr serves its webhook paths only once its store in that namespace is ready.
  const apply = run(
    BIN.kubectl,
    ["--kubeconfig", KUBECONFIG, "apply", "--server-side", "--force-conflicts", "-f", "-"],
    {
      timeout: 60_000,
    },
  );
  apply.child.stdin!.end(
    [{ apiVersion: "v1", kind: "Namespace", metadata: { name: MODULE_NAMESPACE } }, peprStoreCRD]
      .map((o) => stringify(o))
      .join("---\n"),
  );
  await apply;
  await run(BIN.kubectl, [
    "--kubeconfig",
    KUBECONFIG,
    "wait",
    "--for=condition=Established",
    `crd/${peprStoreCRD.metadata.name}`,
    "--timeout=30s",
  ]);
});

afterAll(() => rmSync(OVERLAY, { recursive: true, force: true }));

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

test("the watcher pod carries the haproxy-vet sidecar, with the command the unit tests run, in YAML and chart", () => {
  type Container = { name: string; image: string; command?: string[]; env?: object[]; volumeMounts?: object[] };
  const docs = parseAllDocuments(readFileSync(join(DIST, "pepr-module-crossway.yaml"), "utf8")).map((d) => d.toJS());
  const watcher = docs.find((d) => d?.kind === "Deployment" && d.metadata.name === "pepr-crossway-watcher");
  const pod = watcher.spec.template.spec as { containers: Container[]; volumes: object[] };
  expect(pod.containers.find((c) => c.name === VET_CONTAINER)).toMatchObject({
    image: HAPROXY_IMAGE,
    command: vetSidecarCommand(),
    volumeMounts: [{ name: VET_VOLUME, mountPath: VET_DIR }],
    securityContext: { runAsNonRoot: true, readOnlyRootFilesystem: true, seccompProfile: { type: "RuntimeDefault" } },
  });
  const main = pod.containers.find((c) => c.name === "watcher")!;
  expect(main.env).toContainEqual({ name: VET_DIR_ENV, value: VET_DIR });
  expect(main.volumeMounts).toContainEqual({ name: VET_VOLUME, mountPath: VET_DIR });
  expect(pod.volumes).toContainEqual({ name: VET_VOLUME, emptyDir: expect.anything() });
  // the admission controller runs no loop: no sidecar there
  const admission = docs.find((d) => d?.kind === "Deployment" && d.metadata.name === "pepr-crossway");
  expect(admission.spec.template.spec.containers.map((c: Container) => c.name)).not.toContain(VET_CONTAINER);
  const chart = readFileSync(join(DIST, "crossway-chart", "templates", "watcher-deployment.yaml"), "utf8");
  expect(chart).toContain(`- name: ${VET_CONTAINER}\n          image: ${HAPROXY_IMAGE}\n`);
  for (const line of VET_SCRIPT.split("\n")) expect(chart).toContain(line);
  expect(chart).toContain(`- name: ${VET_DIR_ENV}\n              value: ${VET_DIR}\n`);
  expect(readFileSync(join(DIST, "zarf.yaml"), "utf8")).toContain(`- ${HAPROXY_IMAGE}\n`);
});

test("the credentials overlay builds with kustomize on dist/ and passes a server-side dry-run apply", async () => {
  expect(readFileSync(join(OVERLAY, "kustomization.yaml"), "utf8")).toContain(`- ${relative(OVERLAY, DIST)}\n`);
  const built = await run(BIN.kubectl, ["kustomize", OVERLAY], { timeout: 60_000 });
  const docs = parseAllDocuments(built.stdout).map((d) => d.toJS());
  const webhook = docs.find((d) => d?.kind === "ValidatingWebhookConfiguration");
  expect(Buffer.from(webhook.webhooks[0].clientConfig.caBundle, "base64").toString()).toBe(creds.ca);
  expect(webhook.webhooks[0].clientConfig.service).toEqual({
    name: "pepr-crossway",
    namespace: "pepr-system",
    path: `/validate/${creds.token}`,
  });
  const secretNames = docs.filter((d) => d?.kind === "Secret").map((d) => d.metadata.name);
  expect(secretNames).toEqual(expect.arrayContaining(["pepr-crossway-tls", "pepr-crossway-api-path"]));
  const fingerprints = docs
    .filter((d) => d?.kind === "Deployment")
    .map((d) => d.spec.template.metadata.annotations["crossway.dev/webhook-certificate"]);
  expect(fingerprints).toHaveLength(2);
  expect(new Set(fingerprints).size).toBe(1);
  expect(fingerprints[0]).toMatch(/^[0-9a-f]{16}$/);
  for (const d of docs)
    if (d?.kind === "ValidatingWebhookConfiguration") d.metadata.name = `pepr-crossway-dryrun-${process.pid}`;
  const p = run(
    BIN.kubectl,
    ["--kubeconfig", KUBECONFIG, "apply", "--server-side", "--force-conflicts", "--dry-run=server", "-f", "-"],
    {
      timeout: 60_000,
    },
  );
  p.child.stdin!.end(docs.map((d) => stringify(d)).join("---\n"));
  const { stdout } = await p;
  for (const what of [
    "secret/pepr-crossway-tls",
    "secret/pepr-crossway-api-path",
    "deployment.apps/pepr-crossway ",
    "validatingwebhookconfiguration.admissionregistration.k8s.io/pepr-crossway-dryrun",
  ]) {
    expect(stdout).toContain(what);
  }
});

const WEBHOOK_PORT = 3900 + (process.pid % 50);

/**
 * Run the bundle for a while in one role, with this install's credentials, and collect its JSON
 * log lines; `during` runs once `until` is logged, while it still runs.
 */
async function boot(
  role: "watcher" | "admission",
  until: string,
  kubeconfig = KUBECONFIG,
  during?: () => Promise<void>,
): Promise<Record<string, unknown>[]> {
  const dir = mkdtempSync(join(tmpdir(), "crossway-dist-test-"));
  const cert = join(dir, "tls.crt");
  const key = join(dir, "tls.key");
  writeFileSync(cert, creds.cert);
  writeFileSync(key, creds.key);
  const child = spawn(process.execPath, [join(DIST, "pepr-crossway.js")], {
    cwd: REPO,
    env: {
      ...process.env,
      NODE_OPTIONS: "",
      PEPR_MODE: "",
      KUBECONFIG: kubeconfig,
      PEPR_WATCH_MODE: role === "watcher" ? "true" : "false",
      PEPR_API_PATH: creds.token,
      SSL_KEY_PATH: key,
      SSL_CERT_PATH: cert,
      CROSSWAY_WEBHOOK_PORT: String(WEBHOOK_PORT),
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
  try {
    if (during && child.exitCode === null) await during();
  } finally {
    child.kill("SIGTERM");
  }
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

/** POST an AdmissionReview as the API server does: trusting only the caBundle, to the Service's name. */
function review(path: string): Promise<{ status?: number; body: string }> {
  const body = JSON.stringify({
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid: `dist-test-${process.pid}`,
      kind: { group: "", version: "v1", kind: "Namespace" },
      resource: { group: "", version: "v1", resource: "namespaces" },
      operation: "CREATE",
      name: `dist-test-${process.pid}`,
      object: { apiVersion: "v1", kind: "Namespace", metadata: { name: `dist-test-${process.pid}` } },
      userInfo: { username: "dist-test" },
    },
  });
  return new Promise((done) => {
    const req = request(
      {
        host: "127.0.0.1",
        port: WEBHOOK_PORT,
        method: "POST",
        path,
        ca: creds.ca,
        servername: "pepr-crossway.pepr-system.svc",
        headers: { "content-type": "application/json" },
      },
      (res) => {
        let text = "";
        res.on("data", (c) => (text += c));
        res.on("end", () => done({ status: res.statusCode, body: text }));
      },
    );
    req.on("error", (e) => done({ body: String(e) }));
    req.end(body);
  });
}

test("the bundle boots as the admission controller with its own watches, and answers the API server's call with this install's credentials", async () => {
  const answers: { status?: number; body: string }[] = [];
  const lines = await boot("admission", "admission index watching", KUBECONFIG, async () => {
    // pepr binds its webhook paths once its store is ready, a moment after the watches start
    const answer = await eventually(
      "pepr to serve its webhook path",
      async () => {
        const a = await review(`/validate/${creds.token}`);
        return a.status === 404 ? undefined : a;
      },
      30_000,
      250,
    );
    answers.push(answer, await review("/validate/not-the-token"));
  });
  expect(lines.find((l) => l.msg === "crossway starting")).toMatchObject({ role: "admission" });
  expect(lines.some((l) => l.msg === "admission index watching")).toBe(true);
  expect(lines.filter((l) => l.level === 50)).toEqual([]);
  expect(answers[0].status).toBe(200);
  expect(JSON.parse(answers[0].body).response).toMatchObject({ uid: `dist-test-${process.pid}`, allowed: true });
  expect(answers[1].status).toBe(401);
  // the certificate it serves, and when it expires
  expect(lines.find((l) => l.msg === "webhook certificate")).toMatchObject({ daysLeft: 364 });
});

describe("least privilege: dist's RBAC and policies, as the module's ServiceAccount", () => {
  const docs = () =>
    parseAllDocuments(readFileSync(join(DIST, "pepr-module-crossway.yaml"), "utf8")).map(
      (d) => d.toJS() as { kind: string; metadata: { name: string }; [k: string]: unknown },
    );
  const SA = `system:serviceaccount:${MODULE_NAMESPACE}:${MODULE_SERVICE_ACCOUNT}`;
  const NS = `dist-rbac-${process.pid}`;
  const kubectl = async (args: string[], stdin?: string) => {
    const p = run(BIN.kubectl, ["--kubeconfig", KUBECONFIG, ...args], { timeout: 60_000 });
    p.child.stdin!.end(stdin ?? "");
    return (await p).stdout;
  };
  const failure = (p: Promise<unknown>) =>
    p.then(
      () => {
        throw new Error("expected the request to be refused, but it was allowed");
      },
      (e: { stderr?: string }) => String(e.stderr ?? e),
    );
  /** What the controller does: server-side apply with field manager crossway, as the module. */
  const applyAsModule = (o: object) =>
    kubectl(
      ["--as", SA, "apply", "--server-side", "--field-manager=crossway", "--force-conflicts", "-f", "-"],
      JSON.stringify(o),
    );
  // cluster-scoped objects this suite installs (and removes again): the module's RBAC and write policies
  const installed = () =>
    docs().filter(
      (d) =>
        ["ClusterRole", "ClusterRoleBinding", "ServiceAccount"].includes(d.kind) ||
        (d.kind.startsWith("ValidatingAdmissionPolicy") && d.metadata.name.startsWith("crossway-controller-writes")),
    );
  let gw: { name: string; namespace: string; uid: string };

  beforeAll(async () => {
    await kubectl(
      ["apply", "-f", "-"],
      stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name: MODULE_NAMESPACE } }),
    );
    await kubectl(
      ["apply", "--server-side", "--force-conflicts", "-f", "-"],
      installed()
        .map((d) => stringify(d))
        .join("---\n"),
    );
    await kubectl(["create", "namespace", NS]);
    const g = JSON.parse(
      await kubectl(
        ["create", "-o", "json", "-f", "-"],
        JSON.stringify({
          apiVersion: "gateway.networking.k8s.io/v1",
          kind: "Gateway",
          metadata: { name: "g", namespace: NS },
          spec: {
            gatewayClassName: `dist-rbac-none-${process.pid}`,
            listeners: [{ name: "http", port: 80, protocol: "HTTP" }],
          },
        }),
      ),
    );
    gw = { name: "g", namespace: NS, uid: g.metadata.uid };
  });

  afterAll(async () => {
    await kubectl(["delete", "namespace", NS, "--wait=false"]).catch(() => "");
    for (const d of installed().filter((d) => d.kind !== "ClusterRole" && d.kind !== "ServiceAccount"))
      await kubectl(["delete", d.kind, d.metadata.name, "--ignore-not-found"]).catch(() => "");
  });

  test("it can write a Gateway's data plane, create included, and delete it again", async () => {
    const secret = {
      apiVersion: "v1",
      kind: "Secret",
      type: "Opaque",
      metadata: {
        name: configSecretName("g"),
        namespace: NS,
        labels: propagatedLabels("g", undefined, { [LABEL_GATEWAY]: "g", [LABEL_COMPONENT]: "crossway-config" }),
        ownerReferences: [
          {
            apiVersion: "gateway.networking.k8s.io/v1",
            kind: "Gateway",
            name: "g",
            uid: gw.uid,
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      data: { "haproxy.cfg": Buffer.from("global\n").toString("base64") },
    };
    const objects = [secret, ...dataPlaneObjects(gw, [80], "// agent")];
    // RBAC and the policies take a moment to be seen after install
    await eventually(
      "the module may apply its config Secret",
      () => applyAsModule(secret).then(() => true),
      20_000,
      250,
    );
    for (const o of objects) await applyAsModule(o);
    // it reads its config Secret back (the one get it does)
    await kubectl(["--as", SA, "get", "secret", "-n", NS, configSecretName("g")]);
    for (const o of objects.reverse())
      await kubectl(["--as", SA, "delete", "-f", "-", "--wait=false"], JSON.stringify(o));
  });

  test("it cannot run anything else, mint tokens, grant more, or touch a tenant's objects", async () => {
    const [sa, role, , podsBinding, , deployment, service] = dataPlaneObjects(gw, [80], "// agent") as any[];
    await eventually("the module may apply its ServiceAccount", () => applyAsModule(sa).then(() => true), 20_000, 250);
    const d = structuredClone(deployment);
    d.spec.template.spec.containers[0].image = "busybox";
    expect(await failure(applyAsModule(d))).toContain("may only run the data plane");
    const d2 = structuredClone(deployment);
    d2.spec.template.spec.serviceAccountName = "default";
    expect(await failure(applyAsModule(d2))).toContain("may only run the data plane");
    const token = { ...structuredClone(sa), kind: "Secret", type: "kubernetes.io/service-account-token" };
    token.metadata.name = "crossway-g-token";
    token.metadata.annotations = { "kubernetes.io/service-account.name": "default" };
    expect(await failure(applyAsModule(token))).toContain("may only write Opaque Secrets");
    const r = structuredClone(role);
    r.rules.push({ apiGroups: [""], resources: ["pods"], verbs: ["patch"] });
    expect(await failure(applyAsModule(r))).toMatch(/may only grant list\/watch|forbidden/);
    const b = structuredClone(podsBinding);
    b.roleRef.name = "cluster-admin";
    expect(await failure(applyAsModule(b))).toMatch(/forbidden/i);
    const s = structuredClone(service);
    s.spec.externalIPs = ["10.1.2.3"];
    expect(await failure(applyAsModule(s))).toContain("may not set externalIPs");
    // a tenant's own objects, whatever their name
    await kubectl(["create", "secret", "generic", "-n", NS, "crossway-g-lookalike", "--from-literal=a=b"]);
    expect(
      await failure(kubectl(["--as", SA, "annotate", "secret", "-n", NS, "crossway-g-lookalike", "x=y"])),
    ).toContain("may only write its own data-plane objects");
    expect(await failure(kubectl(["--as", SA, "delete", "secret", "-n", NS, "crossway-g-lookalike"]))).toContain(
      "may only write its own data-plane objects",
    );
    // and what RBAC no longer grants at all
    for (const [verb, what] of [
      ["patch", "pods"],
      ["update", "deployments.apps"],
      ["get", "configmaps"],
      ["delete", "namespaces"],
      ["escalate", "clusterroles.rbac.authorization.k8s.io"],
      ["list", "secrets"],
      ["watch", "secrets"],
      ["bind", "clusterroles.rbac.authorization.k8s.io/cluster-admin"],
      ["patch", "customresourcedefinitions.apiextensions.k8s.io/httproutes.gateway.networking.k8s.io"],
    ]) {
      const answer = await kubectl(["auth", "can-i", verb, ...what.split(" "), "-n", NS, "--as", SA]).catch(
        (e: { stdout?: string }) => String(e.stdout),
      );
      expect(`${verb} ${what}: ${answer.trim()}`).toBe(`${verb} ${what}: no`);
    }
  });

  test("the watcher runs on the ServiceAccount's own token without a refused request", async () => {
    const token = (
      await kubectl(["create", "token", MODULE_SERVICE_ACCOUNT, "-n", MODULE_NAMESPACE, "--duration=10m"])
    ).trim();
    const admin = parse(readFileSync(KUBECONFIG, "utf8"));
    const dir = mkdtempSync(join(tmpdir(), "crossway-dist-sa-"));
    const file = join(dir, "kubeconfig");
    writeFileSync(
      file,
      stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name: "c", cluster: admin.clusters[0].cluster }],
        users: [{ name: "u", user: { token } }],
        contexts: [{ name: "c", context: { cluster: "c", user: "u" } }],
        "current-context": "c",
      }),
    );
    try {
      const lines = await boot("watcher", "reconciled", file);
      expect(lines.some((l) => l.msg === "controller started")).toBe(true);
      expect(lines.some((l) => l.msg === "reconciled")).toBe(true);
      expect(lines.filter((l) => l.level === 50)).toEqual([]);
      expect(lines.filter((l) => /forbidden|\b403\b/i.test(JSON.stringify(l)))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
