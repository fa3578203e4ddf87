/**
 * Reload safety and controller-outage behaviour on the real data plane: keep-alive traffic keeps
 * flowing (0 failed requests) while 20 route changes are applied one after another, each change
 * is measured from `kubectl apply` to the new behaviour on the wire, and a stopped controller
 * leaves the data plane serving its last good config.
 */
import { afterAll, beforeAll, expect, jest, test } from "@jest/globals";
import http from "node:http";
import { ensureCluster } from "../../hack/cluster/up.js";
import { KUBECONFIG } from "../../hack/cluster/config.js";
import { startModule, stopModule } from "../../hack/dev-module.js";
import { kubectl } from "../../hack/lib/kubectl.js";
import { applyFile, deleteNamespaces, freshNamespaces, gatewayAddress, get, waitStatus } from "../../hack/lib/e2e.js";

jest.setTimeout(300_000);
const NS = "reload-e2e";
const CHANGES = 20;

const yaml = (s: string) => kubectl(["apply", "-f", "-"], s);
const app = (name: string) => `
apiVersion: apps/v1
kind: Deployment
metadata: { name: ${name}, namespace: ${NS} }
spec:
  replicas: 1
  selector: { matchLabels: { app: ${name} } }
  template:
    metadata: { labels: { app: ${name} } }
    spec:
      containers:
        - name: echo
          image: registry.k8s.io/gateway-api/echo-basic:v1.6.1
          env:
            - { name: POD_NAME, valueFrom: { fieldRef: { fieldPath: metadata.name } } }
            - { name: NAMESPACE, valueFrom: { fieldRef: { fieldPath: metadata.namespace } } }
          readinessProbe: { httpGet: { path: /, port: 3000 } }
---
apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: ${NS} }
spec:
  selector: { app: ${name} }
  ports: [{ name: http, port: 8080, targetPort: 3000 }]
`;
const route = (name: string, path: string) => `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: ${name}, namespace: ${NS} }
spec:
  parentRefs: [{ name: gw }]
  rules:
    - matches: [{ path: { type: PathPrefix, value: ${path} } }]
      backendRefs: [{ name: echo, port: 8080 }]
`;

let address: string;

beforeAll(async () => {
  await ensureCluster();
  // A clean slate before the module starts: a previous run's namespace may still be terminating.
  await freshNamespaces([NS]);
  await startModule({ kubeconfig: KUBECONFIG, readyTimeoutMs: 90_000, lockTimeoutMs: 600_000 });
  await applyFile("gatewayclass.yaml");
  await kubectl(["create", "namespace", NS]);
  await yaml(app("echo"));
  await yaml(`
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: gw, namespace: ${NS} }
spec:
  gatewayClassName: crossway
  listeners: [{ name: http, protocol: HTTP, port: 80 }]
`);
  await yaml(route("stable", "/stable"));
  address = await gatewayAddress(NS, "gw");
  await waitStatus(address, "/stable", 200, 60_000);
});

afterAll(async () => {
  await stopModule();
  await deleteNamespaces(NS);
});

test(`keep-alive traffic sees 0 failures while ${CHANGES} route changes are applied`, async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  let stop = false;
  let ok = 0;
  const failures: string[] = [];
  const deadline = Date.now() + 240_000;
  const worker = async () => {
    for (let i = 0; i < 200_000 && !stop && Date.now() < deadline; i++) {
      try {
        const r = await get(address, "/stable", { agent });
        if (r.status === 200) ok++;
        else failures.push(`status ${r.status}`);
      } catch (e) {
        failures.push(e instanceof Error ? e.message : String(e));
      }
    }
  };
  const load = Promise.all([worker(), worker(), worker(), worker()]);
  const latencies: number[] = [];
  try {
    for (let i = 0; i < CHANGES; i++) {
      const started = Date.now();
      await yaml(route(`r${i}`, `/r${i}`));
      await waitStatus(address, `/r${i}`, 200, 30_000);
      latencies.push(Date.now() - started);
    }
  } finally {
    stop = true;
    await load;
    agent.destroy();
  }
  latencies.sort((a, b) => a - b);
  process.stderr.write(
    `reload: ${ok} keep-alive requests, ${failures.length} failed, during ${CHANGES} route changes; ` +
      `apply→on-the-wire median ${latencies[Math.floor(CHANGES / 2)]} ms, max ${latencies[CHANGES - 1]} ms\n`,
  );
  expect(failures.slice(0, 5)).toEqual([]);
  expect(ok).toBeGreaterThan(CHANGES);
});

test("with the controller stopped, the data plane keeps serving its last good config", async () => {
  await stopModule();
  for (let i = 0; i < 20; i++) {
    expect((await get(address, "/stable")).status).toBe(200);
    expect((await get(address, `/r${CHANGES - 1}`)).status).toBe(200);
  }
});
