/** The controller end to end over the K8s client boundary: real engine, fake API server. */
import { jest } from "@jest/globals";
import { pino } from "pino";
import type { KubernetesObject } from "kubernetes-fluent-client";
import { translate } from "../../capabilities/engine";
import { Controller } from "../../capabilities/reconcilers/controller";
import { readSettings, type ModuleSettings } from "../../capabilities/reconcilers/config";
import type { IndexKind } from "../../capabilities/reconcilers/index";
import { FakeKube, seedAcme } from "./fake-kube";

const quiet = pino({ level: "silent" });

function controller(kube: FakeKube, count?: { n: number }, overrides: Partial<ModuleSettings> = {}) {
  const settings = {
    ...readSettings({}),
    debounceMs: 20,
    maxWaitMs: 200,
    resyncSeconds: 0,
    catchUpResyncSeconds: 0,
    ...overrides,
  };
  return new Controller({
    settings,
    kube,
    translate: (s, o) => {
      if (count) count.n++;
      return translate(s, o);
    },
    log: quiet,
  });
}

describe("Controller", () => {
  afterEach(() => jest.useRealTimers());

  it("primes from a full list, writes every status once, then nothing while the cluster is unchanged", async () => {
    const kube = new FakeKube();
    seedAcme(kube);
    const c = controller(kube);
    await c.start();
    await c.loop.idle();
    const written = kube.patches.map((p) => `${p.kind} ${p.ref.namespace ?? ""}/${p.ref.name}`).sort();
    expect(written).toEqual([
      "Gateway infra-ns/shared-gateway",
      "GatewayClass /crossway",
      "HTTPRoute careers/careers",
      "HTTPRoute hr/hr",
      "HTTPRoute product/product",
    ]);
    const hr = kube.patches.find((p) => p.ref.name === "hr")!.status.parents as {
      conditions: { type: string; reason: string }[];
    }[];
    expect(hr[0].conditions.find((x) => x.type === "Accepted")!.reason).toBe("NotAllowedByListeners");
    // our own status writes come back as watch events: they must not cause more patches
    for (const p of kube.patches) {
      c.upserted(p.kind as IndexKind)(kube.objects.get(kube.key(p.kind, p.ref.namespace, p.ref.name))!);
    }
    await c.reconcile();
    expect(kube.patches).toHaveLength(5);
    await c.stop();
  });

  it("a route deleted before the watches start (no watch reports it) is dropped by the catch-up relist", async () => {
    jest.useFakeTimers(); // the relist is due 200 ms after start: no waiting for it in real time
    const kube = new FakeKube();
    seedAcme(kube);
    const c = controller(kube, undefined, { catchUpResyncSeconds: 0.2 });
    await c.start();
    await jest.advanceTimersByTimeAsync(20); // the first reconcile (debounceMs)
    await c.loop.idle();
    const attached = () =>
      (
        kube.objects.get(kube.key("Gateway", "infra-ns", "shared-gateway")) as unknown as {
          status: { listeners: { attachedRoutes: number }[] };
        }
      ).status.listeners[0].attachedRoutes;
    expect(attached()).toBe(2); // careers and product
    kube.objects.delete(kube.key("HTTPRoute", "careers", "careers")); // gone, and no DELETED event
    await jest.advanceTimersByTimeAsync(150);
    expect(attached()).toBe(2); // the relist is not due yet
    await jest.advanceTimersByTimeAsync(50 + 20); // the relist at 200 ms, then the debounce
    await c.loop.idle();
    expect(attached()).toBe(1);
    await c.stop();
  });

  it("a burst of 1,000 watch events is one recompute", async () => {
    const kube = new FakeKube();
    seedAcme(kube);
    const count = { n: 0 };
    const c = controller(kube, count);
    await c.start();
    await c.loop.idle();
    count.n = 0;
    for (let i = 0; i < 1000; i++) {
      c.upserted("Namespace")({
        apiVersion: "v1",
        kind: "Namespace",
        metadata: { name: `burst-${i}`, uid: `burst-${i}`, resourceVersion: String(100 + i) },
      });
    }
    await c.loop.idle();
    expect(count.n).toBe(1);
    await c.stop();
  });

  it("labelling a namespace re-evaluates the refused route", async () => {
    const kube = new FakeKube();
    seedAcme(kube);
    const c = controller(kube);
    await c.start();
    await c.loop.idle();
    const hr = kube.objects.get("Namespace//hr")!;
    c.upserted("Namespace")({
      ...hr,
      metadata: { ...hr.metadata, resourceVersion: "2", labels: { "shared-gateway-access": "true" } },
    });
    await c.loop.idle();
    const last = kube.patches.filter((p) => p.ref.name === "hr").at(-1)!;
    const parents = last.status.parents as { conditions: { type: string; status: string }[] }[];
    expect(parents[0].conditions.find((x) => x.type === "Accepted")!.status).toBe("True");
    await c.stop();
  });

  it("keeps the API server's ownership index (RouteOwnershipIndex) equal to the admission: Deny policies", async () => {
    const kube = new FakeKube();
    seedAcme(kube);
    const c = controller(kube);
    await c.start();
    await c.loop.idle();
    const indexes = () => kube.applied.filter((o) => o.kind === "RouteOwnershipIndex");
    const listeners = (o: KubernetesObject) => (o as { spec: { listeners: { sectionName: string }[] } }).spec.listeners;
    // written once on the first run (a restart must not leave an older index in force), empty
    expect(indexes().map(listeners)).toEqual([[]]);
    const policy = {
      apiVersion: "crossway.dev/v1alpha1",
      kind: "RouteOwnershipPolicy",
      metadata: { name: "paths", namespace: "infra-ns", uid: "uid-p", resourceVersion: "1", generation: 1 },
      spec: {
        targetRefs: [{ group: "gateway.networking.k8s.io", kind: "Gateway", name: "shared-gateway" }],
        mode: "Enforce",
        admission: "Deny",
        claims: [{ namespaces: { names: ["careers"] }, pathPrefixes: ["/careers"] }],
      },
    } as KubernetesObject;
    kube.put(policy);
    c.upserted("RouteOwnershipPolicy")(policy);
    await c.loop.idle();
    expect(indexes()).toHaveLength(2);
    const written = listeners(indexes()[1]) as unknown as Record<string, unknown>[];
    expect(written.map((l) => [l.sectionName, l.policy])).toEqual([
      ["shared-http", "RouteOwnershipPolicy infra-ns/paths"],
    ]);
    // nothing changed: nothing rewritten
    await c.reconcile();
    expect(indexes()).toHaveLength(2);
    // only warning at admission: the API server has nothing to refuse
    const warnOnly = {
      ...policy,
      metadata: { ...policy.metadata, resourceVersion: "999999", generation: 2 },
      spec: { ...(policy as { spec: object }).spec, admission: "Warn" },
    } as KubernetesObject;
    kube.put(warnOnly);
    c.upserted("RouteOwnershipPolicy")(warnOnly);
    await c.loop.idle();
    expect(indexes().map(listeners)).toEqual([[], written, []]);
    await c.stop();
  });
});
