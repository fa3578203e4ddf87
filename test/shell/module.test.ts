/**
 * The module against the real local API server, run the way `pepr dev` runs it (one process:
 * webhooks at https://localhost:<port> + watches + the reconcile loop). Asserts what a user sees:
 * kubectl warnings, status written by the controller, live re-evaluation on a namespace label,
 * the namespace label policy denying a non-admin, other controllers' status entries untouched,
 * and no status patch when nothing changed.
 */
import { afterAll, beforeAll, expect, jest, test } from "@jest/globals";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import http from "node:http";
import { ensureCluster } from "../../hack/cluster/up.js";
import { BIN, KUBECONFIG } from "../../hack/cluster/config.js";
import { startModule, stopModule, type RunningModule } from "../../hack/dev-module.js";
import { eventually } from "../../hack/lib/eventually.js";

// waiting for another suite that runs the module (one per machine) may take a while
jest.setTimeout(720_000);
const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const S = `mt${process.pid}`;
const NS = { infra: `${S}-infra`, careers: `${S}-careers`, hr: `${S}-hr` };
const CLASS = `${S}-class`;
const OURS = "crossway.dev/gateway-controller";

async function kubectl(args: string[], stdin?: string): Promise<{ stdout: string; stderr: string }> {
  const p = run(BIN.kubectl, ["--kubeconfig", KUBECONFIG, ...args], { timeout: 30_000 });
  if (stdin !== undefined) {
    p.child.stdin!.end(stdin);
  }
  return p;
}
const apply = (obj: object) => kubectl(["apply", "-f", "-"], JSON.stringify(obj));
const getJson = async (...args: string[]) => JSON.parse((await kubectl(["get", "-o", "json", ...args])).stdout);

type Cond = { type: string; status: string; reason: string; lastTransitionTime: string };
type Parent = { controllerName: string; parentRef: { name: string }; conditions: Cond[] };
const routeParents = async (ns: string, name: string): Promise<Parent[]> =>
  (await getJson("httproute", "-n", ns, name)).status?.parents ?? [];
const ourAccepted = async (ns: string, name: string) =>
  (await routeParents(ns, name)).find((p) => p.controllerName === OURS)?.conditions.find((c) => c.type === "Accepted");

const route = (ns: string, name: string, extra: object = {}) => ({
  apiVersion: "gateway.networking.k8s.io/v1",
  kind: "HTTPRoute",
  metadata: { name, namespace: ns },
  spec: {
    parentRefs: [{ name: "shared", namespace: NS.infra }],
    rules: [{ matches: [{ path: { type: "PathPrefix", value: `/${name}` } }], backendRefs: [{ name, port: 9080 }] }],
    ...extra,
  },
});

let mod: RunningModule;

beforeAll(async () => {
  await ensureCluster();
  mod = await startModule({ kubeconfig: KUBECONFIG, readyTimeoutMs: 90_000, lockTimeoutMs: 600_000 });
  await apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS.infra } });
  await apply({
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: NS.careers, labels: { "shared-gateway-access": "true" } },
  });
  await apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS.hr } });
  await apply({
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "GatewayClass",
    metadata: { name: CLASS },
    spec: { controllerName: OURS },
  });
  await apply({
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "Gateway",
    metadata: { name: "shared", namespace: NS.infra },
    spec: {
      gatewayClassName: CLASS,
      listeners: [
        {
          name: "http",
          port: 80,
          protocol: "HTTP",
          allowedRoutes: {
            namespaces: { from: "Selector", selector: { matchLabels: { "shared-gateway-access": "true" } } },
          },
        },
      ],
    },
  });
  for (const [ns, name] of [
    [NS.careers, "careers"],
    [NS.hr, "hr"],
  ] as const) {
    await apply({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name, namespace: ns },
      spec: { selector: { app: name }, ports: [{ name: "http", port: 9080, targetPort: 3000 }] },
    });
    await apply({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name, namespace: ns },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: {
            containers: [
              {
                name: "echo",
                image: "registry.k8s.io/gateway-api/echo-basic:v1.6.1",
                env: [{ name: "NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } }],
                readinessProbe: { httpGet: { path: "/", port: 3000 } },
              },
            ],
          },
        },
      },
    });
  }
});

/** GET through the Gateway's address (a pod IP in a network namespace the local cluster made). */
function httpGet(address: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolveGet, reject) => {
    const req = http.get({ host: address, port: 80, path, timeout: 2000, agent: false }, (res) => {
      let body = "";
      res.on("data", (c) => (body += c));
      res.on("end", () => resolveGet({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.on("timeout", () => req.destroy(new Error("timeout")));
  });
}

async function gatewayAddress(): Promise<string> {
  return eventually(
    "Gateway Programmed with an address",
    async () => {
      const g = await getJson("gateway", "-n", NS.infra, "shared");
      const p = g.status?.conditions?.find((c: Cond) => c.type === "Programmed");
      return p?.status === "True" && g.status.addresses?.[0]?.value
        ? (g.status.addresses[0].value as string)
        : undefined;
    },
    90_000,
  );
}

afterAll(async () => {
  await kubectl(["delete", "ns", NS.infra, NS.careers, NS.hr, "--wait=false", "--ignore-not-found"]).catch(
    () => undefined,
  );
  await kubectl(["delete", "gatewayclass", CLASS, "--ignore-not-found"]).catch(() => undefined);
  await kubectl(["delete", "clusterrole,clusterrolebinding", `${S}-ns-editor`, "--ignore-not-found"]).catch(
    () => undefined,
  );
  await stopModule();
});

test("GatewayClass and Gateway get Accepted status from the controller", async () => {
  const cls = await eventually("GatewayClass Accepted", async () => {
    const c = (await getJson("gatewayclass", CLASS)).status?.conditions?.find((x: Cond) => x.type === "Accepted");
    return c?.status === "True" ? c : undefined;
  });
  expect(cls.reason).toBe("Accepted");
  const gw = await eventually("Gateway status", async () => {
    const g = await getJson("gateway", "-n", NS.infra, "shared");
    return g.status?.listeners?.length ? g : undefined;
  });
  expect(gw.status.conditions.find((c: Cond) => c.type === "Accepted").status).toBe("True");
});

test("the data plane comes up and the Gateway becomes Programmed with an address", async () => {
  const gw = await eventually(
    "Gateway Programmed",
    async () => {
      const g = await getJson("gateway", "-n", NS.infra, "shared");
      const p = g.status?.conditions?.find((c: Cond) => c.type === "Programmed");
      return p?.status === "True" ? g : undefined;
    },
    90_000,
  );
  expect(gw.status.addresses?.[0]?.value).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
  const secret = await getJson("secret", "-n", NS.infra, "crossway-shared-config");
  const pods = (await getJson("pods", "-n", NS.infra, "-l", "crossway.dev/gateway=shared")).items;
  const served = pods.map(
    (p: { metadata: { annotations?: Record<string, string> } }) =>
      p.metadata.annotations?.["crossway.dev/served-generation"],
  );
  expect(served).toContain(secret.metadata.annotations["crossway.dev/config-generation"]);
  const fields = (await getJson("deployment", "-n", NS.infra, "crossway-shared", "--show-managed-fields")).metadata
    .managedFields;
  expect(fields.map((f: { manager: string }) => f.manager)).toContain("crossway");
});

test("kubectl apply of a route from an excluded namespace prints a warning naming the listener", async () => {
  await apply(route(NS.careers, "careers"));
  const { stderr } = await apply(route(NS.hr, "hr"));
  expect(stderr).toContain("Warning: crossway:");
  expect(stderr).toContain("NotAllowedByListeners");
  expect(stderr).toContain(`listener "http" of Gateway ${NS.infra}/shared`);
  expect(stderr).toContain("shared-gateway-access=true");
  const ok = await eventually("careers Accepted", async () =>
    (await ourAccepted(NS.careers, "careers"))?.status === "True" ? true : undefined,
  );
  expect(ok).toBe(true);
  const hr = await eventually("hr refused", async () => {
    const c = await ourAccepted(NS.hr, "hr");
    return c?.status === "False" ? c : undefined;
  });
  expect(hr.reason).toBe("NotAllowedByListeners");
});

test("traffic: careers answers through the shared Gateway, hr is a 404", async () => {
  const address = await gatewayAddress();
  const careers = await eventually(
    "careers 200",
    async () => {
      const r = await httpGet(address, "/careers");
      return r.status === 200 ? r : undefined;
    },
    60_000,
  );
  expect(JSON.parse(careers.body).namespace).toBe(NS.careers);
  expect((await httpGet(address, "/hr")).status).toBe(404);
});

test("labelling the namespace attaches the route (status and wire) within seconds; unrelated changes patch nothing", async () => {
  await eventually("careers Accepted", async () =>
    (await ourAccepted(NS.careers, "careers"))?.status === "True" ? true : undefined,
  );
  const address = await gatewayAddress();
  const before = await getJson("httproute", "-n", NS.careers, "careers");
  const t0 = Date.now();
  await kubectl(["label", "ns", NS.hr, "shared-gateway-access=true"]);
  await eventually(
    "hr Accepted after label",
    async () => ((await ourAccepted(NS.hr, "hr"))?.status === "True" ? true : undefined),
    5_000,
  );
  const latencyMs = Date.now() - t0;
  await eventually(
    "hr 200 on the wire",
    async () => ((await httpGet(address, "/hr")).status === 200 ? true : undefined),
    10_000,
  );
  const wireMs = Date.now() - t0;
  console.info(`namespace label → route Accepted in ${latencyMs} ms, → 200 on the wire in ${wireMs} ms`);
  expect(latencyMs).toBeLessThan(3_000);
  await sleep(1_000); // let the loop settle after the recompute the label caused
  const after = await getJson("httproute", "-n", NS.careers, "careers");
  expect(after.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
  // and removing the label detaches it again, with a fresh lastTransitionTime
  const accepted = (await ourAccepted(NS.hr, "hr"))!;
  await kubectl(["label", "ns", NS.hr, "shared-gateway-access-"]);
  const refused = await eventually(
    "hr refused again",
    async () => {
      const c = await ourAccepted(NS.hr, "hr");
      return c?.status === "False" ? c : undefined;
    },
    5_000,
  );
  expect(refused.lastTransitionTime >= accepted.lastTransitionTime).toBe(true);
  await eventually(
    "hr 404 on the wire again",
    async () => ((await httpGet(address, "/hr")).status === 404 ? true : undefined),
    10_000,
  );
});

test("the namespace label policy denies a non-admin and names the policy", async () => {
  // bob may edit namespaces as far as RBAC goes; only the policy stands in his way
  await apply({
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRole",
    metadata: { name: `${S}-ns-editor` },
    rules: [{ apiGroups: [""], resources: ["namespaces"], verbs: ["get", "list", "patch", "update"] }],
  });
  await apply({
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRoleBinding",
    metadata: { name: `${S}-ns-editor` },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: `${S}-ns-editor` },
    subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: "bob" }],
  });
  const tryLabel = () =>
    kubectl(["--as=bob", "--as-group=system:authenticated", "label", "ns", NS.hr, "shared-gateway-access=true"]).catch(
      (e) => e,
    );
  // (RBAC takes a moment to see the new binding; until then the API server itself says Forbidden)
  const denied = await eventually(
    "policy denial",
    async () => {
      const r = await tryLabel();
      return String(r.stderr).includes('User "bob" cannot') ? undefined : r;
    },
    10_000,
  );
  expect(denied.code).not.toBe(0);
  expect(String(denied.stderr)).toContain("crossway namespace label policy");
  expect(String(denied.stderr)).toContain('user "bob" may not add shared-gateway-access=true');
  const ns = await getJson("ns", NS.hr);
  expect(ns.metadata.labels?.["shared-gateway-access"]).toBeUndefined();
  // other labels are anyone's business
  await eventually("bob may label", async () => {
    await kubectl(["--as=bob", "--as-group=system:authenticated", "label", "--overwrite", "ns", NS.hr, "team=people"]);
    return true;
  });
});

test("a burst of 100 routes applied at once is coalesced into a few recomputes, all get status", async () => {
  const reconciledBefore = mod.logs().filter((l) => l.msg === "reconciled").length;
  const routes = Array.from({ length: 100 }, (_, i) => {
    const r = route(NS.careers, `burst-${i}`);
    return { ...r, metadata: { ...r.metadata, labels: { burst: "true" } } };
  });
  const t0 = Date.now();
  await kubectl(["apply", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items: routes }));
  const applyMs = Date.now() - t0;
  await eventually(
    "100 routes Accepted",
    async () => {
      const items = (await getJson("httproute", "-n", NS.careers)).items as {
        metadata: { name: string };
        status?: { parents?: Parent[] };
      }[];
      const ok = items.filter(
        (r) =>
          r.metadata.name.startsWith("burst-") &&
          r.status?.parents?.some(
            (p) => p.controllerName === OURS && p.conditions.some((c) => c.type === "Accepted" && c.status === "True"),
          ),
      );
      return ok.length === 100 ? true : undefined;
    },
    30_000,
  );
  const runs = mod.logs().filter((l) => l.msg === "reconciled").length - reconciledBefore;
  console.info(
    `100 routes: kubectl apply took ${applyMs} ms, all Accepted ${Date.now() - t0} ms after it began, ${runs} recompute(s)`,
  );
  expect(runs).toBeLessThan(25);
  await kubectl(["delete", "httproute", "-n", NS.careers, "-l", "burst=true", "--wait=false"]);
});

test("a Gateway edit that would detach routes warns (even on a server-side dry run)", async () => {
  await eventually("careers Accepted", async () =>
    (await ourAccepted(NS.careers, "careers"))?.status === "True" ? true : undefined,
  );
  const p = kubectl(
    ["apply", "--dry-run=server", "-f", "-"],
    JSON.stringify({
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "Gateway",
      metadata: { name: "shared", namespace: NS.infra },
      spec: {
        gatewayClassName: CLASS,
        listeners: [{ name: "http", port: 80, protocol: "HTTP", allowedRoutes: { namespaces: { from: "Same" } } }],
      },
    }),
  );
  const { stderr } = await p;
  expect(stderr).toContain(`Warning: crossway: this change detaches`);
  expect(stderr).toContain(`HTTPRoute ${NS.careers}/careers`);
});

test("other controllers' parents are never touched; ours goes when the parentRef goes", async () => {
  await eventually("careers Accepted", async () =>
    (await ourAccepted(NS.careers, "careers"))?.status === "True" ? true : undefined,
  );
  const current = await routeParents(NS.careers, "careers");
  const foreign = {
    parentRef: { group: "gateway.networking.k8s.io", kind: "Gateway", namespace: "elsewhere", name: "theirs" },
    controllerName: "example.com/other",
    conditions: [
      {
        type: "Accepted",
        status: "True",
        reason: "Accepted",
        message: "theirs",
        lastTransitionTime: "2020-01-01T00:00:00Z",
        observedGeneration: 1,
      },
    ],
  };
  await kubectl([
    "patch",
    "httproute",
    "-n",
    NS.careers,
    "careers",
    "--subresource=status",
    "--type=merge",
    "-p",
    JSON.stringify({ status: { parents: [...current, foreign] } }),
  ]);
  // a spec change that moves the route to another section triggers a recompute of it
  await apply(
    route(NS.careers, "careers", { parentRefs: [{ name: "shared", namespace: NS.infra, sectionName: "http" }] }),
  );
  const parents = await eventually("our entry re-keyed to the sectionName", async () => {
    const p = await routeParents(NS.careers, "careers");
    const ours = p.filter((x) => x.controllerName === OURS);
    return ours.length === 1 && (ours[0].parentRef as { sectionName?: string }).sectionName === "http" ? p : undefined;
  });
  expect(parents.find((p) => p.controllerName === "example.com/other")).toEqual(foreign);
  // drop every parentRef of ours: our entry disappears, theirs stays
  await apply(route(NS.careers, "careers", { parentRefs: [{ name: "theirs", namespace: "elsewhere" }] }));
  const left = await eventually("our entry removed", async () => {
    const p = await routeParents(NS.careers, "careers");
    return p.some((x) => x.controllerName === OURS) ? undefined : p;
  });
  expect(left).toEqual([foreign]);
});

test("the controller logs one line per status transition", () => {
  const t = mod.logs().filter((l) => l.msg === "status transition" && l.kind === "HTTPRoute" && l.namespace === NS.hr);
  expect(t.some((l) => l.condition === "Accepted" && l.reason === "NotAllowedByListeners")).toBe(true);
  expect(t.some((l) => l.condition === "Accepted" && l.reason === "Accepted")).toBe(true);
  expect(JSON.stringify(mod.logs())).not.toContain("[object Object]");
});
