/**
 * Per-object failure isolation in the controller, over the K8s client boundary: real engine, fake
 * API server, fake timers (no sleeps). One object that cannot be written never slows anyone else.
 */
import { jest } from "@jest/globals";
import { pino } from "pino";
import type { KubernetesObject } from "kubernetes-fluent-client";
import { translate } from "../../capabilities/engine";
import { Controller } from "../../capabilities/reconcilers/controller";
import { readSettings } from "../../capabilities/reconcilers/config";
import type { ObjectName } from "../../capabilities/reconcilers/kube";
import type { StatusKind } from "../../capabilities/engine/result";
import { FakeKube, seedAcme } from "./fake-kube";

/** The fake API server, also counting every status write attempted per object (ns/name). */
class CountingKube extends FakeKube {
  attempts = new Map<string, number>();
  /** ns/name of objects whose server-side apply fails (a Gateway's data plane). */
  failApply = new Set<string>();

  override async patchStatus(kind: StatusKind, ref: ObjectName, status: Record<string, unknown>) {
    const k = `${ref.namespace ?? ""}/${ref.name}`;
    this.attempts.set(k, (this.attempts.get(k) ?? 0) + 1);
    return super.patchStatus(kind, ref, status);
  }

  override async apply(obj: KubernetesObject) {
    if (this.failApply.has(`${obj.metadata?.namespace}/${obj.metadata?.name}`)) {
      throw {
        ok: false,
        status: 500,
        statusText: "Internal Server Error",
        data: { message: "Internal error occurred: resource quota evaluation timed out" },
      };
    }
    return super.apply(obj);
  }
}

const DEBOUNCE_MS = 20;

function controller(kube: FakeKube, lines: Record<string, unknown>[], dataPlane = false) {
  const settings = {
    ...readSettings({}),
    debounceMs: DEBOUNCE_MS,
    maxWaitMs: 200,
    backoffBaseMs: 200,
    backoffMaxMs: 30_000,
    objectBackoffBaseMs: 200,
    objectBackoffMaxMs: 5_000,
    resyncSeconds: 0,
    catchUpResyncSeconds: 0,
  };
  const log = pino({ level: "info" }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  return new Controller({
    settings,
    kube,
    translate,
    log,
    ...(dataPlane
      ? { dataPlane: { render: () => ({ files: { "haproxy.cfg": "global\n" } }), manifests: () => [] } }
      : {}),
  });
}

type Parents = { parents?: { conditions: { type: string; status: string; reason: string }[] }[] };
const accepted = (kube: FakeKube, ns: string, name: string) =>
  (
    kube.objects.get(kube.key("HTTPRoute", ns, name)) as { status?: Parents } | undefined
  )?.status?.parents?.[0]?.conditions.find((c) => c.type === "Accepted");

describe("per-object failure isolation", () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it("a route whose status patch keeps failing: everyone else is written in the same run and later ones at debounce speed; it is retried alone and written once the fault clears", async () => {
    const kube = new CountingKube();
    seedAcme(kube);
    kube.failPatch.set("hr/hr", {
      status: 503,
      statusText: "Service Unavailable",
      data: { message: "etcdserver: leader changed" },
    });
    const lines: Record<string, unknown>[] = [];
    const c = controller(kube, lines);
    await c.start();
    await jest.advanceTimersByTimeAsync(DEBOUNCE_MS);
    // the same run wrote everyone else
    expect(accepted(kube, "careers", "careers")?.status).toBe("True");
    expect(accepted(kube, "product", "product")?.status).toBe("True");
    expect(kube.objects.get(kube.key("Gateway", "infra-ns", "shared-gateway"))).toHaveProperty("status.listeners");
    expect(accepted(kube, "hr", "hr")).toBeUndefined();

    // ten seconds of failing: the loop never backs off, hr is tried on its own backoff
    await jest.advanceTimersByTimeAsync(10_000);
    expect(c.loop.stats).toMatchObject({ failures: 0 });
    // 200, 400, 800, 1600, 3200 ms apart (each plus the debounce), then 5 s (the cap)
    expect(kube.attempts.get("hr/hr")).toBe(6);
    expect(kube.attempts.get("careers/careers")).toBe(1); // unchanged: never written again

    // another team's new route is written within the debounce, not after a backoff
    kube.put({
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "HTTPRoute",
      metadata: { name: "jobs", namespace: "careers", uid: "jobs", resourceVersion: "50", generation: 1 },
      spec: {
        parentRefs: [{ name: "shared-gateway", namespace: "infra-ns" }],
        rules: [
          {
            matches: [{ path: { type: "PathPrefix", value: "/jobs" } }],
            backendRefs: [{ name: "careers", port: 9080 }],
          },
        ],
      },
    } as KubernetesObject);
    c.upserted("HTTPRoute")(kube.objects.get(kube.key("HTTPRoute", "careers", "jobs"))!);
    await jest.advanceTimersByTimeAsync(DEBOUNCE_MS);
    expect(accepted(kube, "careers", "jobs")?.status).toBe("True");

    const failed = lines.filter((l) => l.msg === "status write failed; retrying this object");
    expect(failed.length).toBeGreaterThanOrEqual(6);
    expect(failed[0]).toMatchObject({
      kind: "HTTPRoute",
      namespace: "hr",
      name: "hr",
      status: 503,
      error: "Service Unavailable: etcdserver: leader changed",
      attempt: 1,
      retryInMs: 200,
    });
    expect(lines.some((l) => l.msg === "reconcile failed; retrying")).toBe(false);

    // the fault clears: hr is written at its next retry, at most the 5 s cap later
    kube.failPatch.clear();
    await jest.advanceTimersByTimeAsync(5_000 + DEBOUNCE_MS);
    expect(accepted(kube, "hr", "hr")).toMatchObject({ status: "False", reason: "NotAllowedByListeners" });
    expect(lines.filter((l) => l.msg === "status write recovered")).toEqual([
      expect.objectContaining({ kind: "HTTPRoute", namespace: "hr", name: "hr" }),
    ]);
    // and then nothing is pending: no more runs
    const runs = c.loop.stats.runs;
    await jest.advanceTimersByTimeAsync(60_000);
    expect(c.loop.stats.runs).toBe(runs);
    await c.stop();
  });

  it("a Gateway whose data plane cannot be applied is retried on its own; the other Gateway's config is published and its status written meanwhile", async () => {
    const kube = new CountingKube();
    seedAcme(kube);
    kube.put({
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "Gateway",
      metadata: { name: "second", namespace: "infra-ns", uid: "second", resourceVersion: "1", generation: 1 },
      spec: { gatewayClassName: "crossway", listeners: [{ name: "http", port: 8080, protocol: "HTTP" }] },
    } as KubernetesObject);
    kube.failApply.add("infra-ns/crossway-second-config");
    const lines: Record<string, unknown>[] = [];
    const c = controller(kube, lines, true);
    await c.start();
    await jest.advanceTimersByTimeAsync(DEBOUNCE_MS);
    expect(kube.objects.has(kube.key("Secret", "infra-ns", "crossway-shared-gateway-config"))).toBe(true);
    expect(kube.objects.has(kube.key("Secret", "infra-ns", "crossway-second-config"))).toBe(false);
    expect(accepted(kube, "careers", "careers")?.status).toBe("True");
    expect(c.loop.stats.failures).toBe(0);
    expect(lines.find((l) => l.msg === "data-plane sync failed; retrying this Gateway")).toMatchObject({
      kind: "Gateway",
      namespace: "infra-ns",
      name: "second",
      status: 500,
      attempt: 1,
      retryInMs: 200,
    });

    kube.failApply.clear();
    await jest.advanceTimersByTimeAsync(200 + DEBOUNCE_MS);
    expect(kube.objects.has(kube.key("Secret", "infra-ns", "crossway-second-config"))).toBe(true);
    expect(lines.find((l) => l.msg === "data-plane sync recovered")).toMatchObject({
      name: "second",
      failedAttempts: 1,
    });
    await c.stop();
  });
});
