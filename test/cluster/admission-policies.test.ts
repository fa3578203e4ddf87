/**
 * The ValidatingAdmissionPolicies installed with the module (capabilities/policy/admission-policies.ts),
 * enforced by the local API server itself, with no crossway module involved:
 * - the namespace label policy denies a non-admin adding, changing or removing a protected label,
 *   with the webhook's own message (a copy of the policy under its own name, protecting a key no
 *   module knows, so the verdict is the API server's alone);
 * - a data-plane agent (ServiceAccount crossway-*) may update only the pod its token is bound to,
 *   and only its crossway.dev/ annotations;
 * - the data-plane pod template passes Pod Security "restricted".
 */
import { afterAll, beforeAll, describe, expect, jest, test } from "@jest/globals";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { BIN, KUBECONFIG } from "../../hack/cluster/config.js";
import { ensureCluster } from "../../hack/cluster/up.js";
import { agentClusterRole, agentPolicy, namespaceLabelPolicy } from "../../capabilities/policy/admission-policies.js";
import { checkNamespaceLabels } from "../../capabilities/policy/namespace-labels.js";
import { dataPlaneObjects } from "../../capabilities/dataplane/manifests.js";
import {
  ANN_SERVED_GENERATION,
  agentPodsBindingName,
  dataPlaneName,
} from "../../capabilities/dataplane/conventions.js";
import { patchPodAnnotations } from "../../agent/kube.js";
import { KubectlError, kubectl, kubectlError } from "../../hack/lib/kubectl.js";
import { eventually } from "../../hack/lib/eventually.js";

jest.setTimeout(180_000);

const ID = `${process.pid}`;
const NS = `vap-test-${ID}`;
const apply = (objs: object[]) =>
  kubectl(["apply", "--server-side", "--force-conflicts", "-f", "-"], objs.map((o) => stringify(o)).join("---\n"));
const tmp = mkdtempSync(join(tmpdir(), "crossway-vap-test-"));

/** kubectl as a bearer token only (the admin kubeconfig's client certificate would win over it). */
async function kubectlWithToken(token: string, args: string[]): Promise<string> {
  const admin = parse(readFileSync(KUBECONFIG, "utf8"));
  const cluster = admin.clusters[0].cluster;
  const file = join(tmp, `token-${Math.random().toString(36).slice(2)}.kubeconfig`);
  writeFileSync(
    file,
    stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "c", cluster }],
      users: [{ name: "u", user: { token } }],
      contexts: [{ name: "c", context: { cluster: "c", user: "u" } }],
      "current-context": "c",
    }),
  );
  const { spawn } = await import("node:child_process");
  return new Promise((resolve, reject) => {
    const child = spawn(BIN.kubectl, ["--kubeconfig", file, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (c) => (out += c));
    child.stderr.on("data", (c) => (err += c));
    child.on("close", (code) => (code === 0 ? resolve(out) : reject(new KubectlError(args, code, err, out))));
  });
}

const denied = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
  } catch (e) {
    if (e instanceof KubectlError) return e.stderr;
    throw e;
  }
  throw new Error("expected the request to be denied, but it was allowed");
};

beforeAll(async () => {
  await ensureCluster();
  await kubectl(["create", "namespace", NS]);
});

afterAll(async () => {
  await kubectl(["delete", "pods", "--all", "-n", NS, "--grace-period=0", "--force", "--wait=false"]).catch(() => "");
  await kubectl([
    "delete",
    "namespace",
    NS,
    `${NS}-labels`,
    `${NS}-restricted`,
    "--wait=false",
    "--ignore-not-found",
  ]).catch(() => "");
  for (const kind of [
    "validatingadmissionpolicybinding",
    "validatingadmissionpolicy",
    "clusterrolebinding",
    "clusterrole",
  ])
    await kubectl(["delete", kind, `crossway-namespace-labels-test-${ID}`, "--ignore-not-found"]).catch(() => "");
  rmSync(tmp, { recursive: true, force: true });
});

describe("namespace label policy (ValidatingAdmissionPolicy, no module running)", () => {
  const KEY = `vap-test.crossway.dev/access-${ID}`;
  const NAME = `crossway-namespace-labels-test-${ID}`;
  const TARGET = `${NS}-labels`;
  const settings = { protectedLabels: KEY, admins: "alice", adminGroups: "platform-admins" };
  const policy = { protectedLabels: [KEY], admins: ["alice"], adminGroups: ["platform-admins"] };
  const bob = ["--as=bob", "--as-group=system:authenticated"];
  const label = (who: string[], ns: string, ...kv: string[]) =>
    kubectl([...who, "label", "--overwrite", "ns", ns, ...kv]);
  /** What checkNamespaceLabels (the webhook) says for the same request. */
  const webhookMessage = (before: Record<string, string>, after: Record<string, string>, op = "UPDATE") => {
    const d = checkNamespaceLabels(policy, {
      operation: op,
      userInfo: { username: "bob", groups: ["system:authenticated"] },
      object: { metadata: { name: TARGET, labels: after } },
      oldObject: op === "UPDATE" ? { metadata: { name: TARGET, labels: before } } : undefined,
    });
    if (d.allowed) throw new Error("the webhook would allow this");
    return d.message;
  };

  beforeAll(async () => {
    await apply([
      ...namespaceLabelPolicy(settings, { name: NAME }),
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRole",
        metadata: { name: NAME },
        rules: [{ apiGroups: [""], resources: ["namespaces"], verbs: ["get", "list", "create", "patch", "update"] }],
      },
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRoleBinding",
        metadata: { name: NAME },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: NAME },
        subjects: ["bob", "alice", "carol"].map((name) => ({
          apiGroup: "rbac.authorization.k8s.io",
          kind: "User",
          name,
        })),
      },
    ]);
    await kubectl(["create", "namespace", TARGET]);
  });

  test("a non-admin may not add, change or remove a protected label; the message is the webhook's", async () => {
    // the policy and RBAC take a moment to be seen by the API server
    const addDenied = await eventually("policy denies bob", async () => {
      const r = await label(bob, TARGET, `${KEY}=yes`).then(
        () => "allowed",
        (e: KubectlError) => e.stderr,
      );
      if (r === "allowed") await kubectl(["label", "ns", TARGET, `${KEY}-`]); // too early: undo, retry
      return r.includes("ValidatingAdmissionPolicy") ? r : undefined;
    });
    expect(addDenied).toContain(`'${NAME}'`);
    expect(addDenied).toContain(webhookMessage({}, { [KEY]: "yes" }));
    expect(addDenied).toContain(`may not add ${KEY}=yes on namespace "${TARGET}"`);

    // other labels are anyone's business
    await label(bob, TARGET, "team=people");

    // an admin user, and a member of an admin group, may
    await label(["--as=alice"], TARGET, `${KEY}=yes`);
    await label(["--as=carol", "--as-group=platform-admins"], TARGET, `${KEY}=still-yes`);

    const change = await denied(label(bob, TARGET, `${KEY}=no`));
    expect(change).toContain(webhookMessage({ [KEY]: "still-yes" }, { [KEY]: "no" }));
    expect(change).toContain(`may not change ${KEY} from still-yes to no`);
    const remove = await denied(kubectl([...bob, "label", "ns", TARGET, `${KEY}-`]));
    expect(remove).toContain(webhookMessage({ [KEY]: "still-yes" }, {}));
    expect(remove).toContain(`may not remove ${KEY} (was still-yes)`);

    // nor create a namespace that carries it
    const created = await denied(
      kubectl(
        [...bob, "create", "-f", "-"],
        JSON.stringify({
          apiVersion: "v1",
          kind: "Namespace",
          metadata: { name: `${NS}-x`, labels: { [KEY]: "yes" } },
        }),
      ),
    );
    expect(created).toContain(`may not add ${KEY}=yes on namespace "${NS}-x"`);
    expect(created).toContain("may only be changed by users [alice] or groups [platform-admins]");
  });
});

describe("data-plane agent policy", () => {
  const SA = dataPlaneName(`vaptest-${ID}`);
  const pod = (name: string) => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: NS, annotations: { "example.com/kept": "1" } },
    // bound to a node that does not exist: the pod object is all this test needs
    spec: { nodeName: "vap-test-nowhere", serviceAccountName: SA, containers: [{ name: "c", image: "none" }] },
  });

  beforeAll(async () => {
    await apply([
      agentClusterRole(),
      ...agentPolicy(),
      { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: SA, namespace: NS } },
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "RoleBinding",
        metadata: { name: agentPodsBindingName(`vaptest-${ID}`), namespace: NS },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: agentClusterRole().metadata.name },
        subjects: [{ kind: "ServiceAccount", name: SA, namespace: NS }],
      },
      pod("own"),
      pod("other"),
    ]);
  });

  const token = (boundTo?: string) =>
    kubectl([
      "create",
      "token",
      SA,
      "-n",
      NS,
      "--duration=10m",
      ...(boundTo ? ["--bound-object-kind=Pod", `--bound-object-name=${boundTo}`] : []),
    ]).then((t) => t.trim());

  /**
   * A merge patch of a pod's metadata, no GET first (kubectl would GET, which the agent may not);
   * `asAgent`: sent by the agent's own code (agent/kube.ts patchPodAnnotations, whose errors keep
   * only the first 300 characters of the API's answer).
   */
  const patchPod = async (
    tok: string,
    name: string,
    meta: { annotations?: Record<string, string | null>; labels?: object },
    opts: { asAgent?: boolean } = {},
  ) => {
    const cluster = parse(readFileSync(KUBECONFIG, "utf8")).clusters[0].cluster;
    const url = new URL(cluster.server);
    const ca = Buffer.from(cluster["certificate-authority-data"], "base64");
    const asKubectlError = (e: Error) => {
      throw new KubectlError([], 1, e.message, "");
    };
    if (opts.asAgent) {
      const k = { host: url.hostname, port: url.port, token: () => tok, ca };
      return patchPodAnnotations(k, NS, name, meta.annotations!).catch(asKubectlError);
    }
    await new Promise<void>((resolve, reject) => {
      const body = JSON.stringify({ metadata: meta });
      const req = https.request(
        {
          host: url.hostname,
          port: url.port,
          method: "PATCH",
          path: `/api/v1/namespaces/${NS}/pods/${name}`,
          ca,
          headers: { authorization: `Bearer ${tok}`, "content-type": "application/merge-patch+json" },
        },
        (res) => {
          let text = "";
          res.on("data", (d) => (text += d));
          res.on("end", () => ((res.statusCode ?? 0) < 300 ? resolve() : reject(new Error(text))));
        },
      );
      req.on("error", reject);
      req.end(body);
    }).catch(asKubectlError);
  };

  test("may annotate its own pod with crossway.dev/ annotations, and nothing else", async () => {
    const own = await token("own");
    const served = (v: string | null) => ({ annotations: { [ANN_SERVED_GENERATION]: v } });
    // allowed (RBAC may take a moment to see the binding)
    await eventually(
      "agent annotates its own pod",
      () => patchPod(own, "own", served("7"), { asAgent: true }).then(() => true),
      20_000,
      250,
    );
    const p = JSON.parse(await kubectl(["get", "pod", "own", "-n", NS, "-o", "json"]));
    expect(p.metadata.annotations).toEqual({ "example.com/kept": "1", [ANN_SERVED_GENERATION]: "7" });
    await patchPod(own, "own", served(null), { asAgent: true }); // and remove it

    expect(await denied(patchPod(own, "other", served("7")))).toContain(
      "may only update the pod its token is bound to (own), not other",
    );
    expect(await denied(patchPod(own, "own", { labels: { x: "y" } }))).toContain(
      "may change only annotations of its pod",
    );
    expect(await denied(patchPod(own, "own", { annotations: { "example.com/other": "1" } }))).toContain(
      "may change only crossway.dev/ annotations",
    );
    expect(await denied(patchPod(own, "own", { annotations: { "example.com/kept": null } }))).toContain(
      "may change only crossway.dev/ annotations",
    );
    // RBAC grants nothing else
    expect(await denied(kubectlWithToken(own, ["-n", NS, "delete", "pod", "own", "--wait=false"]))).toMatch(
      /forbidden/i,
    );
    expect(await denied(kubectlWithToken(own, ["-n", NS, "get", "pod", "own"]))).toMatch(/forbidden/i);
  });

  test("a token not bound to a pod may not update any pod", async () => {
    // (runs after the test above, which waited for RBAC to see the binding)
    const unbound = await token();
    const err = await denied(patchPod(unbound, "own", { annotations: { [ANN_SERVED_GENERATION]: "1" } }));
    expect(err).toContain("may only update the pod its token is bound to (none");
  });
});

test("the data-plane pod template passes Pod Security 'restricted'", async () => {
  const ns = `${NS}-restricted`;
  await kubectl(["create", "namespace", ns]);
  await kubectl(["label", "namespace", ns, "pod-security.kubernetes.io/enforce=restricted"]);
  const objs = dataPlaneObjects({ name: "g", namespace: ns, uid: "u" }, [80, 443, 8080], "//");
  await kubectl(["create", "serviceaccount", "-n", ns, dataPlaneName("g")]);
  const d = objs.find((o) => o.kind === "Deployment") as unknown as {
    spec: { template: { metadata: object; spec: object } };
  };
  const podObj = { apiVersion: "v1", kind: "Pod", metadata: { name: "dp", namespace: ns }, spec: d.spec.template.spec };
  const out = await kubectl(["create", "--dry-run=server", "-f", "-"], JSON.stringify(podObj));
  expect(out).toContain("pod/dp created (server dry run)");
  // and what the restricted profile refuses is refused here (the check is real)
  const bad = { ...podObj, spec: { containers: [{ name: "c", image: "x" }] } };
  expect((await kubectlError(["create", "--dry-run=server", "-f", "-"], JSON.stringify(bad))).stderr).toContain(
    "violates PodSecurity",
  );
});
