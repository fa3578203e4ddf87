import { afterAll, beforeAll, describe, expect, it, jest } from "@jest/globals";
import { pino } from "pino";
import type { KubernetesObject } from "kubernetes-fluent-client";
import { ObjectIndex } from "../../capabilities/reconcilers/index";
import { DataPlaneSync, type DataPlaneManifests } from "../../capabilities/reconcilers/dataplane";
import { foldDataPlane } from "../../capabilities/reconcilers/gateway-status";
import type { GatewayIR } from "../../capabilities/engine/ir";
import { dataPlane } from "../../capabilities/engine/conditions";
import type { Gateway } from "../../capabilities/crd";
import {
  ANN_CONFIG_GENERATION,
  ANN_SERVED_GENERATION,
  LABEL_GATEWAY,
  LABEL_GATEWAY_NAME,
  configSecretName,
  dataPlaneName,
} from "../../capabilities/dataplane/conventions";
import { dataPlaneObjects } from "../../capabilities/dataplane/manifests";
import { agentClusterRole, agentPolicy } from "../../capabilities/policy/admission-policies";
import { liveKubeClient } from "../../capabilities/reconcilers/kube";
import { renderGateway } from "../../capabilities/render/index";
import { secretFiles } from "../../agent/secret";
import type { SecretObject } from "../../agent/kube";
import { ensureCluster } from "../../hack/cluster/up.js";
import { KUBECONFIG } from "../../hack/cluster/config.js";
import { kubectl } from "../../hack/lib/kubectl.js";
import { FakeKube } from "./fake-kube";
import { makeCert, sleep, tempDir } from "../render/harness";
import https from "node:https";

const quiet = pino({ level: "silent" });
const gw = {
  apiVersion: "gateway.networking.k8s.io/v1",
  kind: "Gateway",
  metadata: { name: "shared", namespace: "infra", uid: "gw-uid", resourceVersion: "1", generation: 1 },
  spec: { gatewayClassName: "crossway", listeners: [] },
} as unknown as Gateway;
const ir = (port = 80): GatewayIR => ({
  gateway: { namespace: "infra", name: "shared" },
  generation: 1,
  ports: [{ port, protocol: "HTTP", listeners: [] }],
});
const render = (i: GatewayIR) => ({ files: { "haproxy.cfg": `frontend f\n  bind :${i.ports[0]?.port ?? 0}\n` } });
const manifests: DataPlaneManifests = (g, i) => [
  {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: dataPlaneName(g.metadata!.name!), namespace: "infra" },
    spec: { ports: i.ports.length },
  } as KubernetesObject,
  { apiVersion: "v1", kind: "Service", metadata: { name: dataPlaneName(g.metadata!.name!), namespace: "infra" } },
];

function setup() {
  const kube = new FakeKube();
  const index = new ObjectIndex();
  index.upsert("Gateway", gw);
  const sync = new DataPlaneSync(kube, index, render, manifests, { log: quiet });
  return { kube, index, sync };
}
const ours = () => true;
const secretsApplied = (k: FakeKube) => k.applied.filter((o) => o.kind === "Secret");

const pod = (name: string, served: number, ready = true) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: {
    name,
    namespace: "infra",
    uid: name,
    resourceVersion: "1",
    labels: { [LABEL_GATEWAY]: "shared" },
    annotations: { [ANN_SERVED_GENERATION]: String(served) },
  },
  status: { conditions: [{ type: "Ready", status: ready ? "True" : "False" }] },
});

describe("DataPlaneSync", () => {
  it("publishes the config Secret only when its content changes, bumping the generation", async () => {
    const { kube, sync } = setup();
    const r1 = await sync.sync([ir(80)], ours);
    expect(r1.gateways[0].generation).toBe(1);
    const s = secretsApplied(kube)[0];
    expect(s.metadata?.name).toBe(configSecretName("shared"));
    expect(s.metadata?.annotations?.[ANN_CONFIG_GENERATION]).toBe("1");
    expect(Buffer.from((s as { data: Record<string, string> }).data["haproxy.cfg"], "base64").toString()).toContain(
      "bind :80",
    );
    expect(s.metadata?.ownerReferences?.[0]).toMatchObject({ kind: "Gateway", uid: "gw-uid", controller: true });
    await sync.sync([ir(80)], ours);
    expect(secretsApplied(kube)).toHaveLength(1);
    const r3 = await sync.sync([ir(8080)], ours);
    expect(r3.gateways[0].generation).toBe(2);
    expect(secretsApplied(kube)).toHaveLength(2);
  });

  it("keeps counting from the existing Secret after a controller restart", async () => {
    const { kube, sync } = setup();
    await sync.sync([ir(80)], ours);
    const held = kube.objects.get("Secret/infra/" + configSecretName("shared"))!;
    held.metadata!.annotations![ANN_CONFIG_GENERATION] = "7";
    // new controller: empty index except the Gateway, Secret only on the API server
    const index = new ObjectIndex();
    index.upsert("Gateway", gw);
    const restarted = new DataPlaneSync(kube, index, render, manifests, { log: quiet });
    expect((await restarted.sync([ir(80)], ours)).gateways[0].generation).toBe(7);
    expect(secretsApplied(kube)).toHaveLength(1);
    expect((await restarted.sync([ir(81)], ours)).gateways[0].generation).toBe(8);
  });

  it("applies data-plane objects once and again only when they change", async () => {
    const { kube, sync } = setup();
    await sync.sync([ir(80)], ours);
    await sync.sync([ir(80)], ours);
    expect(kube.applied.filter((o) => o.kind === "Deployment")).toHaveLength(1);
    sync.forgetApplied();
    await sync.sync([ir(80)], ours);
    expect(kube.applied.filter((o) => o.kind === "Deployment")).toHaveLength(2);
  });

  it("Programmed follows what ready pods serve, then the Service address", async () => {
    const { index, sync } = setup();
    let r = await sync.sync([ir(80)], ours);
    expect(r.gateways[0].programmed).toMatchObject({ status: "False", reason: "Pending" });
    expect(r.gateways[0].programmed.message).toContain("none ready");
    index.upsert("Pod", pod("dp-a", 0));
    index.upsert("Pod", pod("dp-b", 1, false));
    r = await sync.sync([ir(80)], ours);
    expect(r.gateways[0].programmed.reason).toBe("Pending");
    expect(r.gateways[0].programmed.message).toContain("dp-a serves 0");
    index.upsert("Pod", { ...pod("dp-a", 1), metadata: { ...pod("dp-a", 1).metadata, resourceVersion: "2" } });
    r = await sync.sync([ir(80)], ours);
    expect(r.gateways[0].programmed).toMatchObject({ status: "False", reason: "AddressNotAssigned" });
    index.upsert("Service", {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: dataPlaneName("shared"), namespace: "infra", uid: "svc", resourceVersion: "1" },
      status: { loadBalancer: { ingress: [{ ip: "10.244.0.7" }] } },
    } as KubernetesObject);
    r = await sync.sync([ir(80)], ours);
    expect(r.gateways[0].programmed).toMatchObject({ status: "True", reason: "Programmed" });
    expect(r.gateways[0].addresses).toEqual([{ type: "IPAddress", value: "10.244.0.7" }]);
  });

  it("removes the data plane of a Gateway that is no longer ours, keeps it for one that is ours", async () => {
    const { kube, sync } = setup();
    await sync.sync([ir(80)], ours);
    await sync.sync([], ours); // ours but not in the IR (e.g. not accepted): keep serving
    expect(kube.deleted).toHaveLength(0);
    await sync.sync([], () => false);
    expect(kube.deleted.map((o) => o.kind).sort()).toEqual(["Deployment", "Secret", "Service"]);
  });

  it("folds addresses and Programmed into Gateway status, leaving engine failures alone", () => {
    const status = {
      kind: "Gateway" as const,
      namespace: "infra",
      name: "shared",
      generation: 3,
      status: {
        conditions: [{ type: "Accepted", status: "True", reason: "Accepted", message: "", observedGeneration: 3 }],
        listeners: [
          {
            name: "ok",
            conditions: [
              { type: "Accepted", status: "True", reason: "Accepted" },
              { type: "Programmed", status: "True", reason: "Programmed" },
            ],
          },
          {
            name: "bad",
            conditions: [
              { type: "Accepted", status: "False", reason: "UnsupportedProtocol" },
              { type: "Programmed", status: "False", reason: "Invalid" },
            ],
          },
        ],
      },
    };
    const [out] = foldDataPlane(
      [status],
      [
        {
          namespace: "infra",
          name: "shared",
          generation: 4,
          addresses: [{ type: "IPAddress", value: "10.244.0.9" }],
          programmed: dataPlane.noReadyPod(4, 1),
        },
      ],
      () => undefined,
    );
    const s = out.status as {
      addresses: unknown;
      conditions: { type: string; reason: string; observedGeneration?: number }[];
      listeners: { name: string; conditions: { type: string; reason: string }[] }[];
    };
    expect(s.addresses).toEqual([{ type: "IPAddress", value: "10.244.0.9" }]);
    expect(s.conditions.find((c) => c.type === "Programmed")).toMatchObject({
      reason: "Pending",
      observedGeneration: 3,
    });
    expect(s.listeners[0].conditions.find((c) => c.type === "Programmed")!.reason).toBe("Pending");
    expect(s.listeners[1].conditions.find((c) => c.type === "Programmed")!.reason).toBe("Invalid");
  });
});

describe("DataPlaneSync: Gateway infrastructure on the config Secret", () => {
  let rv = 1;
  const withInfra = (labels: Record<string, string>, annotations: Record<string, string>) =>
    ({
      ...gw,
      metadata: { ...gw.metadata, resourceVersion: String(++rv) },
      spec: { ...gw.spec, infrastructure: { labels, annotations } },
    }) as Gateway;

  it("carries the gateway-name label and the infrastructure labels/annotations; changing them re-applies without a new generation", async () => {
    const { kube, index, sync } = setup();
    index.upsert(
      "Gateway",
      withInfra(
        { team: "a", [LABEL_GATEWAY]: "hijack" },
        { "example.com/owner": "alice", [ANN_CONFIG_GENERATION]: "999" },
      ),
    );
    await sync.sync([ir(80)], ours);
    let s = secretsApplied(kube)[0];
    expect(s.metadata?.labels).toMatchObject({ team: "a", [LABEL_GATEWAY]: "shared", [LABEL_GATEWAY_NAME]: "shared" });
    expect(s.metadata?.annotations).toMatchObject({ "example.com/owner": "alice", [ANN_CONFIG_GENERATION]: "1" });
    await sync.sync([ir(80)], ours);
    expect(secretsApplied(kube)).toHaveLength(1); // nothing changed: not re-applied
    index.upsert("Gateway", withInfra({ team: "b" }, {}));
    const r = await sync.sync([ir(80)], ours);
    expect(r.gateways[0].generation).toBe(1); // same files: the agent has nothing to reload
    expect(secretsApplied(kube)).toHaveLength(2);
    s = secretsApplied(kube)[1];
    expect(s.metadata?.labels?.team).toBe("b");
    expect(s.metadata?.annotations?.["example.com/owner"]).toBeUndefined();
    expect(s.metadata?.annotations?.[ANN_CONFIG_GENERATION]).toBe("1");
  });

  it("leaves the data plane of a Gateway that another crossway (other controllerName) serves", async () => {
    const kube = new FakeKube();
    const index = new ObjectIndex();
    index.upsert("Gateway", gw);
    const other = new DataPlaneSync(kube, index, render, manifests, {
      log: quiet,
      controllerName: "example.com/other-crossway",
    });
    await other.sync([ir(80)], ours);
    const secret = secretsApplied(kube)[0];
    expect(secret.metadata?.annotations?.["crossway.dev/controller-name"]).toBe("example.com/other-crossway");
    index.upsert("Secret", { ...secret, metadata: { ...secret.metadata, uid: "s", resourceVersion: "1" } });
    const mine = new DataPlaneSync(kube, index, render, manifests, { log: quiet });
    await mine.sync([], () => false); // to this controller the Gateway is not ours
    expect(kube.deleted).toEqual([]);
    await other.sync([], () => false); // to the one that wrote it, it is not ours any more
    expect(kube.deleted.map((o) => o.kind).sort()).toEqual(["Deployment", "Secret", "Service"]);
  });
});

/**
 * Against the real local API server (`npm run local:up`; started here if needed): the API server
 * enforces the 1 MiB Secret limit and server-side apply removes labels we stop applying.
 */
describe("DataPlaneSync against the local API server", () => {
  jest.setTimeout(180_000);
  const NS = `dataplane-sync-${process.pid}`;
  const GW = "big";
  // Not the default controllerName: a crossway module running on the same cluster leaves these alone.
  const TEST_CONTROLLER = "crossway.test/dataplane-sync";
  let gateway: Gateway;

  const liveGateway = async () => JSON.parse(await kubectl(["get", "gateway", "-n", NS, GW, "-o", "json"])) as Gateway;
  const liveSecret = async () =>
    JSON.parse(await kubectl(["get", "secret", "-n", NS, configSecretName(GW), "-o", "json"])) as SecretObject;
  const setInfra = async (infrastructure: object) => {
    await kubectl([
      "patch",
      "gateway",
      "-n",
      NS,
      GW,
      "--type=merge",
      "-p",
      JSON.stringify({ spec: { infrastructure } }),
    ]);
    return liveGateway();
  };

  beforeAll(async () => {
    await ensureCluster();
    process.env.KUBECONFIG = KUBECONFIG;
    await kubectl(["create", "namespace", NS]);
    // What the module installs once (dist/, the dev module): the agents' ClusterRole, which their
    // per-Gateway RoleBindings name, and the own-pod policy. Without it an agent cannot report.
    await kubectl(
      ["apply", "--server-side", "--force-conflicts", "-f", "-"],
      JSON.stringify({ apiVersion: "v1", kind: "List", items: [agentClusterRole(), ...agentPolicy()] }),
    );
    // A real Gateway owns the objects (else the garbage collector deletes them); its class is not
    // ours, so no running crossway module acts on it.
    await kubectl(
      ["apply", "-f", "-"],
      JSON.stringify({
        apiVersion: "gateway.networking.k8s.io/v1",
        kind: "Gateway",
        metadata: { name: GW, namespace: NS },
        spec: {
          gatewayClassName: `not-crossway-${process.pid}`,
          listeners: [{ name: "http", port: 80, protocol: "HTTP" }],
        },
      }),
    );
    gateway = await liveGateway();
  });

  afterAll(async () => {
    await kubectl(["delete", "namespace", NS, "--wait=false", "--ignore-not-found"]).catch(() => undefined);
  });

  /** 10,000 HTTPRoute rules, each its own hostname, path and Service (pod-CIDR endpoints). */
  const bigIR = (): GatewayIR => ({
    gateway: { namespace: NS, name: GW },
    generation: 1,
    ports: [
      {
        port: 80,
        protocol: "HTTP",
        listeners: [
          {
            id: `${NS}/${GW}/http`,
            virtualHosts: Array.from({ length: 10_000 }, (_, i) => ({
              hostname: `app${i}.example.test`,
              rules: [
                {
                  id: `httproute/${NS}/r${i}/r0/m0`,
                  route: { kind: "HTTPRoute" as const, namespace: NS, name: `r${i}` },
                  ruleIndex: 0,
                  matchIndex: 0,
                  match: { path: { type: "PathPrefix" as const, value: `/app${i}` }, headers: [], queryParams: [] },
                  filters: [],
                  backends: [
                    {
                      kind: "service" as const,
                      id: `${NS}/svc${i}/80`,
                      service: { namespace: NS, name: `svc${i}` },
                      port: 80,
                      weight: 1,
                      filters: [],
                      endpoints: [{ ip: `10.244.${1 + ((i >> 8) % 250)}.${1 + ((i & 0xff) % 250)}`, port: 8080 }],
                    },
                  ],
                },
              ],
            })),
          },
        ],
      },
    ],
  });

  it("publishes a 10,000-route config in a Secret under 1 MiB that the agent decodes back exactly", async () => {
    const index = new ObjectIndex();
    index.upsert("Gateway", gateway);
    const { files } = renderGateway(bigIR());
    const rawBytes = Object.values(files).reduce((n, f) => n + Buffer.byteLength(f), 0);
    expect(rawBytes).toBeGreaterThan(1024 * 1024); // the problem is real: stored as-is it would not fit

    const sync = new DataPlaneSync(
      liveKubeClient(),
      index,
      () => ({ files }),
      () => [],
      { log: quiet, controllerName: TEST_CONTROLLER },
    );
    const r = await sync.sync([bigIR()], ours);
    expect(r.errors).toEqual([]);
    expect(r.gateways[0].generation).toBe(1);

    const secret = await liveSecret();
    const dataBytes = Object.values(secret.data ?? {}).reduce((n, v) => n + Buffer.from(v, "base64").length, 0);
    expect(dataBytes).toBeLessThan(1024 * 1024);
    const decoded = secretFiles(secret);
    if ("error" in decoded) throw new Error(decoded.error);
    expect(decoded.generation).toBe("1");
    expect(Object.keys(decoded.files).sort()).toEqual(Object.keys(files).sort());
    for (const name of Object.keys(files)) expect(decoded.files[name] === files[name]).toBe(true);
    process.stdout.write(`10k routes: files ${rawBytes} bytes raw, Secret data ${dataBytes} bytes\n`);
  });

  it("propagates infrastructure labels/annotations to objects and the config Secret; removed ones disappear", async () => {
    gateway = await setInfra({ labels: { team: "a", stale: "yes" }, annotations: { "example.com/owner": "alice" } });
    const index = new ObjectIndex();
    index.upsert("Gateway", gateway);
    // ServiceAccount and ConfigMap stand for every generated object (same metadata code); no pods run.
    const someObjects: DataPlaneManifests = (g) =>
      dataPlaneObjects(
        { name: GW, namespace: NS, uid: g.metadata!.uid!, infrastructure: g.spec?.infrastructure },
        [80],
        "// agent",
      ).filter((o) => o.kind === "ServiceAccount" || o.kind === "ConfigMap") as unknown as KubernetesObject[];
    const small = (): GatewayIR => ({
      gateway: { namespace: NS, name: GW },
      generation: 1,
      ports: [{ port: 80, protocol: "HTTP", listeners: [] }],
    });
    const sync = new DataPlaneSync(liveKubeClient(), index, render, someObjects, {
      log: quiet,
      controllerName: TEST_CONTROLLER,
    });
    expect((await sync.sync([small()], ours)).errors).toEqual([]);
    const generation = (await liveSecret()).metadata.annotations?.[ANN_CONFIG_GENERATION];

    const metas = async () =>
      [
        JSON.parse(await kubectl(["get", "serviceaccount", "-n", NS, dataPlaneName(GW), "-o", "json"])).metadata,
        JSON.parse(await kubectl(["get", "configmap", "-n", NS, `crossway-agent-${GW}`, "-o", "json"])).metadata,
        (await liveSecret()).metadata,
      ] as { labels?: Record<string, string>; annotations?: Record<string, string> }[];
    for (const m of await metas()) {
      expect(m.labels).toMatchObject({ team: "a", stale: "yes", [LABEL_GATEWAY_NAME]: GW, [LABEL_GATEWAY]: GW });
      expect(m.annotations).toMatchObject({ "example.com/owner": "alice" });
    }

    gateway = await setInfra({ labels: { team: "b", stale: null }, annotations: null });
    index.upsert("Gateway", gateway);
    expect((await sync.sync([small()], ours)).errors).toEqual([]);
    for (const m of await metas()) {
      expect(m.labels).toMatchObject({ team: "b", [LABEL_GATEWAY_NAME]: GW });
      expect(m.labels?.stale).toBeUndefined();
      expect(m.annotations?.["example.com/owner"]).toBeUndefined();
    }
    expect((await liveSecret()).metadata.annotations?.[ANN_CONFIG_GENERATION]).toBe(generation);
  });

  it("a data-plane pod whose only listener is HTTPS gets ready (HAProxy's health frontend) and serves TLS; later infrastructure labels update its Deployment in place", async () => {
    const TLS_GW = "tls";
    await kubectl(
      ["apply", "-f", "-"],
      JSON.stringify({
        apiVersion: "gateway.networking.k8s.io/v1",
        kind: "Gateway",
        metadata: { name: TLS_GW, namespace: NS },
        spec: {
          gatewayClassName: `not-crossway-${process.pid}`,
          listeners: [{ name: "https", port: 443, protocol: "HTTPS" }],
        },
      }),
    );
    const gw = JSON.parse(await kubectl(["get", "gateway", "-n", NS, TLS_GW, "-o", "json"])) as Gateway;
    const index = new ObjectIndex();
    index.upsert("Gateway", gw);
    const cert = makeCert(tempDir("crossway-dp-cert-"), ["secure.test"]);
    const tlsIR: GatewayIR = {
      gateway: { namespace: NS, name: TLS_GW },
      generation: 1,
      ports: [
        {
          port: 443,
          protocol: "HTTPS",
          listeners: [
            {
              id: `${NS}/${TLS_GW}/https`,
              hostname: "secure.test",
              virtualHosts: [],
              tls: { certificates: [{ ref: { namespace: NS, name: "cert" }, ...cert }] },
            },
          ],
        },
      ],
    };
    // Every data-plane object, as the module applies them (runtime.ts).
    const allObjects: DataPlaneManifests = (g, i) =>
      dataPlaneObjects(
        { name: TLS_GW, namespace: NS, uid: g.metadata!.uid! },
        i.ports.map((p) => p.port),
      ) as unknown as KubernetesObject[];
    const sync = new DataPlaneSync(liveKubeClient(), index, (ir) => renderGateway(ir), allObjects, {
      log: quiet,
      controllerName: TEST_CONTROLLER,
    });
    expect((await sync.sync([tlsIR], ours)).errors).toEqual([]);

    type Pod = {
      metadata: { annotations?: Record<string, string> };
      status?: { podIP?: string; conditions?: { type: string; status: string }[] };
    };
    let pod: Pod | undefined;
    const started = Date.now();
    for (let i = 0; i < 120; i++) {
      const list = JSON.parse(
        await kubectl(["get", "pods", "-n", NS, "-l", `${LABEL_GATEWAY}=${TLS_GW}`, "-o", "json"]),
      ) as { items: Pod[] };
      // Ready, and its agent has reported what it serves (the report follows readiness closely)
      pod = list.items.find(
        (p) =>
          p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") &&
          p.metadata.annotations?.[ANN_SERVED_GENERATION] !== undefined,
      );
      if (pod) break;
      await sleep(500);
    }
    expect(pod).toBeDefined();
    process.stdout.write(`HTTPS-only data-plane pod Ready after ${Date.now() - started} ms\n`);
    expect(pod!.metadata.annotations?.[ANN_SERVED_GENERATION]).toBe("1");
    // The pod IP is in our pod network (a namespace the local node created).
    const status = await new Promise<number>((resolve, reject) => {
      const req = https.get(
        {
          host: pod!.status!.podIP,
          port: 443,
          path: "/",
          servername: "secure.test",
          ca: cert.certPem,
          headers: { host: "secure.test" },
          timeout: 5000,
          agent: false,
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on("timeout", () => req.destroy(new Error("timed out")));
      req.on("error", reject);
    });
    expect(status).toBe(404); // TLS terminated with the listener's certificate; no route attached

    // Infrastructure labels added later: the Deployment (immutable selector) is updated in place.
    await kubectl([
      "patch",
      "gateway",
      "-n",
      NS,
      TLS_GW,
      "--type=merge",
      "-p",
      JSON.stringify({ spec: { infrastructure: { labels: { team: "later" } } } }),
    ]);
    const changed = JSON.parse(await kubectl(["get", "gateway", "-n", NS, TLS_GW, "-o", "json"])) as Gateway;
    index.upsert("Gateway", changed);
    const withInfra: DataPlaneManifests = (g, i) =>
      dataPlaneObjects(
        { name: TLS_GW, namespace: NS, uid: g.metadata!.uid!, infrastructure: g.spec?.infrastructure },
        i.ports.map((p) => p.port),
      ) as unknown as KubernetesObject[];
    const resync = new DataPlaneSync(liveKubeClient(), index, (ir) => renderGateway(ir), withInfra, {
      log: quiet,
      controllerName: TEST_CONTROLLER,
    });
    expect((await resync.sync([tlsIR], ours)).errors).toEqual([]);
    const d = JSON.parse(await kubectl(["get", "deployment", "-n", NS, dataPlaneName(TLS_GW), "-o", "json"])) as {
      metadata: { labels: Record<string, string> };
      spec: {
        selector: { matchLabels: Record<string, string> };
        template: { metadata: { labels: Record<string, string> } };
      };
    };
    expect(d.metadata.labels.team).toBe("later");
    expect(d.spec.template.metadata.labels).toMatchObject({ team: "later", [LABEL_GATEWAY_NAME]: TLS_GW });
    expect(d.spec.selector.matchLabels).toEqual({
      [LABEL_GATEWAY]: TLS_GW,
      "app.kubernetes.io/component": "data-plane",
    });
  });
});
