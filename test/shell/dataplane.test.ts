import { pino } from "pino";
import type { KubernetesObject } from "kubernetes-fluent-client";
import { ObjectIndex } from "../../capabilities/reconcilers/index";
import { DataPlaneSync, type DataPlaneManifests } from "../../capabilities/reconcilers/dataplane";
import { foldDataPlane } from "../../capabilities/reconcilers/gateway-status";
import type { GatewayIR } from "../../capabilities/engine/ir";
import type { Gateway } from "../../capabilities/crd";
import {
  ANN_CONFIG_GENERATION, ANN_CONFIG_HASH, ANN_SERVED_GENERATION, LABEL_GATEWAY, configSecretName, dataPlaneName,
} from "../../capabilities/dataplane/conventions";
import { FakeKube } from "./fake-kube";

const quiet = pino({ level: "silent" });
const gw = {
  apiVersion: "gateway.networking.k8s.io/v1", kind: "Gateway",
  metadata: { name: "shared", namespace: "infra", uid: "gw-uid", resourceVersion: "1", generation: 1 },
  spec: { gatewayClassName: "crossway", listeners: [] },
} as unknown as Gateway;
const ir = (port = 80): GatewayIR => ({
  gateway: { namespace: "infra", name: "shared" }, generation: 1,
  ports: [{ port, protocol: "HTTP", listeners: [] }],
});
const render = (i: GatewayIR) => ({ files: { "haproxy.cfg": `frontend f\n  bind :${i.ports[0]?.port ?? 0}\n` } });
const manifests: DataPlaneManifests = (g, i) => [
  { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: dataPlaneName(g.metadata!.name!), namespace: "infra" }, spec: { ports: i.ports.length } } as KubernetesObject,
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
const secretsApplied = (k: FakeKube) => k.applied.filter(o => o.kind === "Secret");

const pod = (name: string, served: number, ready = true) => ({
  apiVersion: "v1", kind: "Pod",
  metadata: { name, namespace: "infra", uid: name, resourceVersion: "1", labels: { [LABEL_GATEWAY]: "shared" }, annotations: { [ANN_SERVED_GENERATION]: String(served) } },
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
    expect(Buffer.from((s as { data: Record<string, string> }).data["haproxy.cfg"], "base64").toString()).toContain("bind :80");
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
    expect(kube.applied.filter(o => o.kind === "Deployment")).toHaveLength(1);
    sync.forgetApplied();
    await sync.sync([ir(80)], ours);
    expect(kube.applied.filter(o => o.kind === "Deployment")).toHaveLength(2);
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
      apiVersion: "v1", kind: "Service", metadata: { name: dataPlaneName("shared"), namespace: "infra", uid: "svc", resourceVersion: "1" },
      status: { loadBalancer: { ingress: [{ ip: "10.96.0.7" }] } },
    } as KubernetesObject);
    r = await sync.sync([ir(80)], ours);
    expect(r.gateways[0].programmed).toMatchObject({ status: "True", reason: "Programmed" });
    expect(r.gateways[0].addresses).toEqual([{ type: "IPAddress", value: "10.96.0.7" }]);
  });

  it("removes the data plane of a Gateway that is no longer ours, keeps it for one that is ours", async () => {
    const { kube, sync } = setup();
    await sync.sync([ir(80)], ours);
    await sync.sync([], ours); // ours but not in the IR (e.g. not accepted): keep serving
    expect(kube.deleted).toHaveLength(0);
    await sync.sync([], () => false);
    expect(kube.deleted.map(o => o.kind).sort()).toEqual(["Deployment", "Secret", "Service"]);
  });

  it("folds addresses and Programmed into Gateway status, leaving engine failures alone", () => {
    const status = {
      kind: "Gateway" as const, namespace: "infra", name: "shared", generation: 3,
      status: {
        conditions: [{ type: "Accepted", status: "True", reason: "Accepted", message: "", observedGeneration: 3 }],
        listeners: [
          { name: "ok", conditions: [{ type: "Accepted", status: "True", reason: "Accepted" }, { type: "Programmed", status: "True", reason: "Programmed" }] },
          { name: "bad", conditions: [{ type: "Accepted", status: "False", reason: "UnsupportedProtocol" }, { type: "Programmed", status: "False", reason: "Invalid" }] },
        ],
      },
    };
    const [out] = foldDataPlane([status], [{
      namespace: "infra", name: "shared", generation: 4, addresses: [{ type: "IPAddress", value: "10.0.0.9" }],
      programmed: { status: "False", reason: "Pending", message: "waiting for pods" },
    }], () => undefined);
    const s = out.status as { addresses: unknown; conditions: { type: string; reason: string; observedGeneration?: number }[]; listeners: { name: string; conditions: { type: string; reason: string }[] }[] };
    expect(s.addresses).toEqual([{ type: "IPAddress", value: "10.0.0.9" }]);
    expect(s.conditions.find(c => c.type === "Programmed")).toMatchObject({ reason: "Pending", observedGeneration: 3 });
    expect(s.listeners[0].conditions.find(c => c.type === "Programmed")!.reason).toBe("Pending");
    expect(s.listeners[1].conditions.find(c => c.type === "Programmed")!.reason).toBe("Invalid");
  });
});
