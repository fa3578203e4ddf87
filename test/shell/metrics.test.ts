/**
 * crossway's Prometheus metrics, read the way Prometheus reads them: the text exposition of the
 * registry after a real reconcile (engine, status writer, data-plane sync over the fake API server)
 * and real admission handlers, and appended to pepr's own /metrics document.
 */
import { pino } from "pino";
import type { KubernetesObject } from "kubernetes-fluent-client";
import { MetricsCollector } from "pepr/src/lib/telemetry/metrics";
import { translate } from "../../capabilities/engine";
import { ANN_SERVED_GENERATION, LABEL_GATEWAY } from "../../capabilities/dataplane/conventions";
import { admissionHandlers } from "../../capabilities/reconcilers/admission";
import { Controller } from "../../capabilities/reconcilers/controller";
import { readSettings } from "../../capabilities/reconcilers/config";
import { CrosswayMetrics, exposeOnPeprEndpoint } from "../../capabilities/reconcilers/metrics";
import { FakeKube, seedAcme } from "./fake-kube";

const quiet = pino({ level: "silent" });

/** Samples of one metric from a text exposition: `name{labels} value` → { labels: value }. */
function samples(text: string, name: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split("\n")) {
    const m = line.match(/^([a-z_]+)(\{[^}]*\})? (\S+)$/);
    if (m && m[1] === name) out[m[2] ?? ""] = Number(m[3]);
  }
  return out;
}

/** A data-plane pod of the shared Gateway, ready, reporting the generation it serves. */
const pod = (served: number) =>
  ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: "crossway-shared-gateway-0",
      namespace: "infra-ns",
      uid: "pod-0",
      resourceVersion: "5",
      labels: { [LABEL_GATEWAY]: "shared-gateway" },
      annotations: { [ANN_SERVED_GENERATION]: String(served) },
    },
    status: { conditions: [{ type: "Ready", status: "True" }] },
  }) as KubernetesObject;

function controller(kube: FakeKube, metrics: CrosswayMetrics) {
  return new Controller({
    settings: { ...readSettings({}), debounceMs: 0, resyncSeconds: 0, catchUpResyncSeconds: 0 },
    kube,
    translate,
    log: quiet,
    metrics,
    dataPlane: { render: () => ({ files: { "haproxy.cfg": "global\n" } }), manifests: () => [] },
  });
}

describe("crossway_* metrics", () => {
  it("a reconcile reports its duration, objects by condition and each Gateway's published and served generation", async () => {
    const kube = new FakeKube();
    seedAcme(kube);
    kube.put(pod(0));
    const metrics = new CrosswayMetrics();
    const c = controller(kube, metrics);
    await c.start();
    await c.loop.idle();
    let text = await metrics.registry.metrics();

    expect(samples(text, "crossway_reconcile_duration_seconds_count")).toEqual({ '{outcome="ok"}': 1 });
    expect(samples(text, "crossway_reconcile_duration_seconds_sum")['{outcome="ok"}']).toBeGreaterThan(0);
    expect(samples(text, "crossway_reconcile_failures_total")).toEqual({ "": 0 });
    const byCondition = samples(text, "crossway_objects_by_condition");
    expect(byCondition['{kind="HTTPRoute",type="Accepted",status="True",reason="Accepted"}']).toBe(2);
    expect(byCondition['{kind="HTTPRoute",type="Accepted",status="False",reason="NotAllowedByListeners"}']).toBe(1);
    expect(byCondition['{kind="Gateway",type="Programmed",status="False",reason="Pending"}']).toBe(1);
    expect(samples(text, "crossway_gateway_config_generation_published")).toEqual({
      '{namespace="infra-ns",gateway="shared-gateway"}': 1,
    });
    expect(samples(text, "crossway_gateway_config_generation_served")).toEqual({
      '{namespace="infra-ns",gateway="shared-gateway"}': 0,
    });
    expect(samples(text, "crossway_events_total")['{type="Warning",outcome="written"}']).toBeGreaterThanOrEqual(1);

    // the pod reports serving generation 1; hr is admitted: the gauges follow, nothing stale stays
    c.upserted("Pod")({ ...pod(1), metadata: { ...pod(1).metadata, resourceVersion: "6" } });
    const hr = kube.objects.get("Namespace//hr")!;
    c.upserted("Namespace")({
      ...hr,
      metadata: { ...hr.metadata, resourceVersion: "7", labels: { "shared-gateway-access": "true" } },
    });
    await c.loop.idle();
    text = await metrics.registry.metrics();
    expect(samples(text, "crossway_gateway_config_generation_served")).toEqual({
      '{namespace="infra-ns",gateway="shared-gateway"}': 1,
    });
    const after = samples(text, "crossway_objects_by_condition");
    expect(after['{kind="HTTPRoute",type="Accepted",status="True",reason="Accepted"}']).toBe(3);
    expect(after['{kind="HTTPRoute",type="Accepted",status="False",reason="NotAllowedByListeners"}']).toBeUndefined();
    expect(samples(text, "crossway_reconcile_duration_seconds_count")['{outcome="ok"}']).toBe(2);
    await c.stop();
  });

  it("a reconcile that fails as a whole is counted", async () => {
    const kube = new FakeKube();
    seedAcme(kube);
    const metrics = new CrosswayMetrics();
    const c = new Controller({
      settings: { ...readSettings({}), debounceMs: 0, resyncSeconds: 0, catchUpResyncSeconds: 0 },
      kube,
      translate: () => {
        throw new Error("engine broke");
      },
      log: quiet,
      metrics,
    });
    await expect(c.reconcile()).rejects.toThrow("engine broke");
    const text = await metrics.registry.metrics();
    expect(samples(text, "crossway_reconcile_failures_total")).toEqual({ "": 1 });
    expect(samples(text, "crossway_reconcile_duration_seconds_count")).toEqual({ '{outcome="error"}': 1 });
  });

  it("admission handlers are timed by kind and verdict", async () => {
    const kube = new FakeKube();
    seedAcme(kube);
    const metrics = new CrosswayMetrics();
    const c = controller(kube, metrics);
    await c.start();
    await c.loop.idle();
    const h = admissionHandlers(c, translate, quiet);
    const route = kube.objects.get(kube.key("HTTPRoute", "hr", "hr"))!;
    const request = (obj: KubernetesObject) =>
      ({
        Raw: obj,
        Request: { userInfo: { username: "alice", groups: [] } },
        Approve: (warnings?: string[]) => ({ allowed: true, warnings }),
        Deny: (statusMessage: string, statusCode: number) => ({ allowed: false, statusMessage, statusCode }),
      }) as never;
    expect(h.warnHTTPRoute(request(route)).warnings?.[0]).toContain("NotAllowedByListeners");
    const hr = kube.objects.get("Namespace//hr")!;
    const labelled = { ...hr, metadata: { ...hr.metadata, labels: { "shared-gateway-access": "true" } } };
    const denied = h.enforceNamespaceLabels({
      ...(request(labelled) as object),
      Request: { userInfo: { username: "alice", groups: [] }, oldObject: hr, object: labelled, operation: "UPDATE" },
    } as never);
    expect(denied.allowed).toBe(false);
    const text = await metrics.registry.metrics();
    expect(samples(text, "crossway_admission_duration_seconds_count")).toEqual({
      '{kind="HTTPRoute",verdict="warned"}': 1,
      '{kind="Namespace",verdict="denied"}': 1,
    });
    await c.stop();
  });

  it("are served on pepr's /metrics after pepr's own", async () => {
    const pepr = new MetricsCollector("pepr");
    const metrics = new CrosswayMetrics();
    metrics.reconcileFailures.inc();
    exposeOnPeprEndpoint(pepr, metrics.registry);
    const text = await pepr.getMetrics();
    expect(text).toContain("# TYPE pepr_errors counter");
    expect(samples(text, "crossway_reconcile_failures_total")).toEqual({ "": 1 });
    expect(text.indexOf("pepr_errors")).toBeLessThan(text.indexOf("crossway_reconcile_failures_total"));
  });
});
