/**
 * The local control plane is a real Kubernetes: readyz, the Gateway API CRDs Established, CEL
 * validation rejecting bad Gateways with the CRD's own messages, server-side apply dry-run, and
 * kube-controller-manager doing its work (Deployment → ReplicaSet → Pod, namespace deletion,
 * service-account tokens). Uses the shared cluster (ensureCluster); leaves it running.
 */
import { afterAll, beforeAll, expect, jest, test } from "@jest/globals";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import https from "node:https";
import { X509Certificate } from "node:crypto";
import { parseAllDocuments } from "yaml";
import {
  APISERVER_PORT,
  BRIDGE_IP,
  GATEWAY_API_CRDS,
  GATEWAY_API_VERSION,
  K8S_VERSION,
} from "../../hack/cluster/config.js";
import { PKI } from "../../hack/cluster/pki.js";
import { ensureCluster, type ClusterInfo } from "../../hack/cluster/up.js";
import { kubectl, kubectlError, kubectlJson } from "../../hack/lib/kubectl.js";

jest.setTimeout(120_000);
import { eventually as poll } from "../../hack/lib/eventually.js";

const NS = `cp-test-${process.pid}`;
const eventually = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000) =>
  poll(what, probe, timeoutMs, 250);

const gateway = (name: string, listeners: object[]) =>
  JSON.stringify({
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "Gateway",
    metadata: { name, namespace: NS },
    spec: { gatewayClassName: "crossway", listeners },
  });

let first: ClusterInfo;

beforeAll(async () => {
  first = await ensureCluster();
  await kubectl(["create", "namespace", NS]);
});

afterAll(async () => {
  await kubectl(["delete", "namespace", NS, "--wait=false", "--ignore-not-found"]).catch(() => undefined);
});

test("the API server is ready and runs the pinned Kubernetes version", async () => {
  expect(await kubectl(["get", "--raw", "/readyz"])).toBe("ok");
  const v = await kubectlJson<{ serverVersion: { gitVersion: string } }>(["version"]);
  expect(v.serverVersion.gitVersion).toBe(K8S_VERSION);
});

test("pods reach the API server at the bridge address: the kubernetes Service points there and the cert is valid for it", async () => {
  expect(first.node).toBe(true); // the node agent made the bridge that carries BRIDGE_IP
  type Slice = { endpoints: { addresses: string[] }[]; ports: { port: number }[] };
  const slice = await kubectlJson<Slice>(["get", "endpointslice", "kubernetes", "-n", "default"]);
  expect(slice.endpoints.flatMap((e) => e.addresses)).toEqual([BRIDGE_IP]);
  expect(slice.ports.map((p) => p.port)).toEqual([APISERVER_PORT]);
  // A TLS client that checks the cert against the cluster CA and the IP it dialled, as a pod's client does.
  const body = await new Promise<string>((resolve, reject) => {
    const req = https.get(
      {
        host: BRIDGE_IP,
        port: APISERVER_PORT,
        path: "/readyz",
        ca: readFileSync(PKI.caCert),
        cert: readFileSync(PKI.adminCert),
        key: readFileSync(PKI.adminKey),
        timeout: 5000,
      },
      (res) => {
        let b = "";
        res.on("data", (c: Buffer) => (b += c.toString()));
        res.on("end", () => resolve(`${res.statusCode} ${b}`));
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
  });
  expect(body).toBe("200 ok");
  const cert = new X509Certificate(readFileSync(PKI.apiserverCert));
  for (const name of ["kubernetes.default.svc", "localhost"]) expect(cert.checkHost(name)).toBe(name);
  for (const ip of ["127.0.0.1", BRIDGE_IP, "10.96.0.1"]) expect(cert.checkIP(ip)).toBe(ip);
});

test("every Gateway API CRD of the vendored standard install is Established at the vendored version", async () => {
  const wanted = parseAllDocuments(readFileSync(GATEWAY_API_CRDS, "utf8"))
    .map((d) => d.toJS() as { kind?: string; metadata?: { name: string } })
    .filter((d) => d?.kind === "CustomResourceDefinition")
    .map((d) => d.metadata!.name)
    .sort();
  expect(wanted).toEqual(
    expect.arrayContaining(["gateways.gateway.networking.k8s.io", "httproutes.gateway.networking.k8s.io"]),
  );
  type Crd = {
    metadata: { name: string; annotations?: Record<string, string> };
    status?: { conditions?: { type: string; status: string }[] };
  };
  const crds = (await kubectlJson<{ items: Crd[] }>(["get", "crd"])).items.filter((c) =>
    wanted.includes(c.metadata.name),
  );
  expect(crds.map((c) => c.metadata.name).sort()).toEqual(wanted);
  for (const c of crds) {
    expect({
      name: c.metadata.name,
      established: c.status?.conditions?.find((x) => x.type === "Established")?.status,
    }).toEqual({
      name: c.metadata.name,
      established: "True",
    });
    expect(c.metadata.annotations?.["gateway.networking.k8s.io/bundle-version"]).toBe(GATEWAY_API_VERSION);
  }
});

test("CEL rules of the Gateway CRD reject a listener with tls on HTTP, with the CRD's message", async () => {
  const bad = gateway("tls-on-http", [
    { name: "web", port: 80, protocol: "HTTP", tls: { mode: "Terminate", certificateRefs: [{ name: "cert" }] } },
  ]);
  const err = await kubectlError(["apply", "--server-side", "-f", "-"], bad);
  expect(err.stderr).toContain("is invalid");
  expect(err.stderr).toContain("tls must not be specified for protocols ['HTTP', 'TCP', 'UDP']");
  await expect(kubectl(["get", "gateway", "tls-on-http", "-n", NS])).rejects.toThrow(/NotFound|not found/);
});

test("CEL rules reject two listeners with the same port, protocol and hostname", async () => {
  const bad = gateway("dup-listeners", [
    { name: "a", port: 80, protocol: "HTTP" },
    { name: "b", port: 80, protocol: "HTTP" },
  ]);
  const err = await kubectlError(["create", "-f", "-"], bad);
  expect(err.stderr).toContain("Combination of port, protocol and hostname must be unique for each listener");
});

test("server-side apply with dry-run validates and defaults without persisting", async () => {
  const ok = gateway("dry", [{ name: "web", port: 80, protocol: "HTTP" }]);
  const out = JSON.parse(
    await kubectl(
      ["apply", "--server-side", "--dry-run=server", "--field-manager=crossway-test", "-o", "json", "-f", "-"],
      ok,
    ),
  ) as { spec: { listeners: { allowedRoutes?: { namespaces?: { from?: string } } }[] } };
  // CRD schema defaulting ran on the server: allowedRoutes.namespaces.from defaults to Same.
  expect(out.spec.listeners[0].allowedRoutes?.namespaces?.from).toBe("Same");
  await expect(kubectl(["get", "gateway", "dry", "-n", NS])).rejects.toThrow(/NotFound|not found/);
});

test("kube-controller-manager turns a Deployment into a ReplicaSet and a Pod", async () => {
  await kubectl(["create", "deployment", "web", "-n", NS, "--image=registry.k8s.io/pause:3.10", "--replicas=1"]);
  const rs = await eventually("a ReplicaSet owned by the Deployment", async () => {
    const list = await kubectlJson<{ items: { metadata: { ownerReferences?: { kind: string; name: string }[] } }[] }>([
      "get",
      "rs",
      "-n",
      NS,
    ]);
    return list.items.find((r) => r.metadata.ownerReferences?.some((o) => o.kind === "Deployment" && o.name === "web"));
  });
  expect(rs).toBeDefined();
  const pod = await eventually("a Pod created by the ReplicaSet", async () => {
    const list = await kubectlJson<{ items: { metadata: { name: string }; spec: { serviceAccountName?: string } }[] }>([
      "get",
      "pods",
      "-n",
      NS,
      "-l",
      "app=web",
    ]);
    return list.items[0];
  });
  // The ServiceAccount admission plugin ran (normal admission chain).
  expect(pod.spec.serviceAccountName).toBe("default");
});

test("service-account tokens are signed by the cluster and accepted by the API server", async () => {
  const token = (await kubectl(["create", "token", "default", "-n", NS, "--duration=10m"])).trim();
  expect(token.split(".")).toHaveLength(3);
  const review = JSON.parse(
    await kubectl(
      ["create", "-o", "json", "-f", "-"],
      JSON.stringify({ apiVersion: "authentication.k8s.io/v1", kind: "TokenReview", spec: { token } }),
    ),
  ) as { status: { authenticated?: boolean; user?: { username?: string } } };
  expect(review.status.authenticated).toBe(true);
  expect(review.status.user?.username).toBe(`system:serviceaccount:${NS}:default`);
});

test("namespace deletion is finalized by the namespace controller", async () => {
  const ns = `${NS}-gone`;
  await kubectl(["create", "namespace", ns]);
  await kubectl(["create", "configmap", "x", "-n", ns, "--from-literal=a=b"]);
  await kubectl(["delete", "namespace", ns, "--wait=false"]);
  await eventually(
    `namespace ${ns} to disappear`,
    async () => {
      const err = await kubectlError(["get", "namespace", ns]).catch(() => undefined);
      return err && /NotFound|not found/.test(err.stderr) ? true : undefined;
    },
    60_000,
  );
});

test("admission webhooks behind a Service are called at the endpoint IP, with TLS checked against the Service name", async () => {
  // A webhook server on the host side of the pod bridge, reached only through a selector-less
  // Service + Endpoints: the API server must route to the endpoint (--enable-aggregator-routing).
  const svc = "cp-webhook";
  const dir = mkdtempSync(join(tmpdir(), "cp-webhook-"));
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-days",
      "1",
      "-subj",
      `/CN=${svc}.${NS}.svc`,
      "-addext",
      `subjectAltName=DNS:${svc}.${NS}.svc`,
      "-keyout",
      join(dir, "key.pem"),
      "-out",
      join(dir, "cert.pem"),
    ],
    { stdio: "ignore" },
  );
  const cert = readFileSync(join(dir, "cert.pem"));
  const calls: string[] = [];
  const server = https.createServer({ key: readFileSync(join(dir, "key.pem")), cert }, (req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      const review = JSON.parse(body) as { request: { uid: string; name: string } };
      calls.push(review.request.name);
      const allowed = !review.request.name.startsWith("deny-");
      res.setHeader("content-type", "application/json");
      res.end(
        JSON.stringify({
          apiVersion: "admission.k8s.io/v1",
          kind: "AdmissionReview",
          response: {
            uid: review.request.uid,
            allowed,
            status: allowed ? undefined : { code: 403, message: "denied by the cp-test webhook" },
          },
        }),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, BRIDGE_IP, r));
  const port = (server.address() as { port: number }).port;
  const hook = `cp-test-${process.pid}.crossway.dev`;
  try {
    await kubectl(
      ["apply", "-f", "-"],
      JSON.stringify({
        apiVersion: "v1",
        kind: "List",
        items: [
          {
            apiVersion: "v1",
            kind: "Service",
            metadata: { name: svc, namespace: NS },
            spec: { ports: [{ port: 443, targetPort: port }] },
          },
          {
            apiVersion: "v1",
            kind: "Endpoints",
            metadata: { name: svc, namespace: NS },
            subsets: [{ addresses: [{ ip: BRIDGE_IP }], ports: [{ port }] }],
          },
        ],
      }),
    );
    await kubectl(
      ["apply", "-f", "-"],
      JSON.stringify({
        apiVersion: "admissionregistration.k8s.io/v1",
        kind: "ValidatingWebhookConfiguration",
        metadata: { name: hook },
        webhooks: [
          {
            name: hook,
            clientConfig: {
              service: { name: svc, namespace: NS, port: 443, path: "/validate" },
              caBundle: cert.toString("base64"),
            },
            rules: [{ apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE"], resources: ["configmaps"] }],
            // Only this test's namespace: the cluster is shared with other suites.
            namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": NS } },
            failurePolicy: "Fail",
            sideEffects: "None",
            admissionReviewVersions: ["v1"],
            timeoutSeconds: 5,
          },
        ],
      }),
    );
    // The webhook configuration takes effect asynchronously; the allowed object proves the call path.
    let attempt = 0;
    await eventually("the webhook to be called", async () => {
      await kubectl(["create", "configmap", `allow-${attempt++}`, "-n", NS]);
      return calls.some((c) => c.startsWith("allow-")) ? true : undefined;
    });
    const err = await kubectlError(["create", "configmap", "deny-me", "-n", NS]);
    expect(err.stderr).toContain("denied by the cp-test webhook");
    expect(calls).toContain("deny-me");
  } finally {
    await kubectl(["delete", "validatingwebhookconfiguration", hook, "--ignore-not-found"]);
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("ensureCluster is idempotent: a repeated call starts nothing and returns quickly", async () => {
  // The first call of this file may have found the cluster already up; either way a call now and
  // one after it must see the same processes and start none of them.
  const now = await ensureCluster();
  const again = await ensureCluster();
  expect(again.processes.map((p) => p.name)).toEqual(expect.arrayContaining(first.processes.map((p) => p.name)));
  expect(again.processes.filter((p) => p.started)).toEqual([]);
  expect(again.processes.map((p) => [p.name, p.pid])).toEqual(now.processes.map((p) => [p.name, p.pid]));
  expect(again.elapsedMs).toBeLessThan(10_000);
});
