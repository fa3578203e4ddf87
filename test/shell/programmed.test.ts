/**
 * The shell's Programmed (what the data plane serves) comes from the one condition catalogue:
 * every state programmedState, a refused Gateway and a controller without a data plane can
 * report is a `dataPlane` constructor of engine/conditions.ts, with a catalogue reason.
 */
import { pino } from "pino";
import { translate } from "../../capabilities/engine";
import { dataPlane, Reason } from "../../capabilities/engine/conditions";
import type { Gateway } from "../../capabilities/crd";
import type { GatewayIR } from "../../capabilities/engine/ir";
import { ANN_REJECTED, ANN_SERVED_GENERATION, LABEL_GATEWAY } from "../../capabilities/dataplane/conventions";
import { Controller } from "../../capabilities/reconcilers/controller";
import { readSettings } from "../../capabilities/reconcilers/config";
import { DataPlaneSync, programmedState, type ProgrammedState } from "../../capabilities/reconcilers/dataplane";
import { ObjectIndex } from "../../capabilities/reconcilers/index";
import { FakeKube, seedAcme } from "./fake-kube";

const quiet = pino({ level: "silent" });

const pod = (name: string, served: number, opts: { ready?: boolean; rejected?: string } = {}) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: {
    name,
    namespace: "infra",
    labels: { [LABEL_GATEWAY]: "shared" },
    annotations: {
      [ANN_SERVED_GENERATION]: String(served),
      ...(opts.rejected ? { [ANN_REJECTED]: opts.rejected } : {}),
    },
  },
  status: { conditions: [{ type: "Ready", status: opts.ready === false ? "False" : "True" }] },
});
const address = [{ type: "IPAddress" as const, value: "10.244.0.7" }];
const catalogueReasons = new Set<string>(Object.values(Reason));

describe("programmedState", () => {
  const cases: [string, ProgrammedState, ProgrammedState][] = [
    ["no pod", programmedState([], 2, address, "dp"), dataPlane.noReadyPod(2, 0)],
    ["no ready pod", programmedState([pod("a", 2, { ready: false })], 2, address, "dp"), dataPlane.noReadyPod(2, 1)],
    [
      "a pod rejected the generation",
      programmedState([pod("a", 1, { rejected: "generation 2: bad" })], 2, address, "dp"),
      dataPlane.podRejected("a", 2, "generation 2: bad"),
    ],
    [
      "a ready pod is behind",
      programmedState([pod("a", 1), pod("b", 2)], 2, address, "dp"),
      dataPlane.podsBehind(2, 2, [{ pod: "a", serves: 1 }]),
    ],
    ["no address yet", programmedState([pod("a", 2)], 2, [], "dp"), dataPlane.addressNotAssigned(2, "dp")],
    ["served", programmedState([pod("a", 2), pod("b", 3)], 2, address, "dp"), dataPlane.serving(2, 2)],
  ];

  it.each(cases)("%s: a catalogue condition", (_, got, want) => {
    expect(got).toEqual(want);
    expect(got.type).toBe("Programmed");
    expect(catalogueReasons.has(got.reason)).toBe(true);
  });

  it("reports every reason the data plane can cause", () => {
    expect(new Set(cases.map(([, got]) => got.reason))).toEqual(
      new Set([Reason.Pending, Reason.Invalid, Reason.AddressNotAssigned, Reason.Programmed]),
    );
  });

  it("keeps the words it had before the catalogue held them", () => {
    expect(cases[3][1].message).toBe(
      "waiting for 1 of 2 ready data-plane pod(s) to serve config generation 2 (a serves 1)",
    );
  });
});

describe("Programmed outside programmedState", () => {
  it("a Gateway whose own configuration the data plane refuses", async () => {
    const index = new ObjectIndex();
    index.upsert("Gateway", {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "Gateway",
      metadata: { name: "shared", namespace: "infra", uid: "gw", resourceVersion: "1", generation: 1 },
      spec: { gatewayClassName: "crossway", listeners: [] },
    } as unknown as Gateway);
    const sync = new DataPlaneSync(
      new FakeKube(),
      index,
      () => ({ files: {} }),
      () => [],
      { log: quiet },
    );
    const ir: GatewayIR = { gateway: { namespace: "infra", name: "shared" }, generation: 1, ports: [] };
    const r = await sync.sync([ir], () => true, new Map([["infra/shared", "certificate refused"]]));
    expect(r.gateways[0].programmed).toEqual(dataPlane.configRefused(0, "certificate refused"));
  });

  it("a controller without a data plane says so on the Gateway", async () => {
    const kube = new FakeKube();
    seedAcme(kube);
    const c = new Controller({
      settings: { ...readSettings({}), debounceMs: 0, resyncSeconds: 0, catchUpResyncSeconds: 0 },
      kube,
      translate,
      log: quiet,
    });
    await c.start();
    await c.loop.idle();
    await c.stop();
    const gw = kube.patches.find((p) => p.kind === "Gateway")!.status.conditions as Record<string, unknown>[];
    const { type, status, reason, message } = gw.find((x) => x.type === "Programmed")!;
    expect({ type, status, reason, message }).toEqual(dataPlane.notWiredIn());
  });
});
