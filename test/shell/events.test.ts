/**
 * Kubernetes Events from condition transitions: the real controller (engine, status writer, event
 * recorder) over the fake API server, which keeps events like the real one (events.k8s.io/v1,
 * series patched in place, its validation of notes and times).
 */
import { readFileSync } from "node:fs";
import { Writable } from "node:stream";
import { parseAllDocuments } from "yaml";
import { pino } from "pino";
import type { KubernetesObject } from "kubernetes-fluent-client";
import { translate } from "../../capabilities/engine";
import { Controller } from "../../capabilities/reconcilers/controller";
import { readSettings } from "../../capabilities/reconcilers/config";
import { fitNote, type EventInput, type RecorderOptions } from "../../capabilities/reconcilers/events";
import { ConditionEvents } from "../../capabilities/reconcilers/condition-events";
import { ObjectIndex } from "../../capabilities/reconcilers/index";
import type { IndexKind } from "../../capabilities/reconcilers/index";
import type { Logger } from "../../capabilities/reconcilers/log";
import { FakeKube } from "./fake-kube";

/** A logger whose lines the test reads. */
function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { log: pino({ level: "info" }, stream), lines, msgs: () => lines.map((l) => String(l.msg)) };
}

function seeded(kube: FakeKube, extra: KubernetesObject[] = []) {
  const docs = parseAllDocuments(readFileSync(new URL("./testdata/acme.yaml", import.meta.url), "utf8"));
  [...docs.map((d) => d.toJS() as KubernetesObject), ...extra].forEach((o, i) => {
    o.metadata = { uid: `uid-${i}`, resourceVersion: "1", ...o.metadata };
    kube.put(o);
  });
}

async function started(kube: FakeKube, opts: { events?: Partial<RecorderOptions>; log?: Logger } = {}) {
  const c = new Controller({
    settings: { ...readSettings({}), debounceMs: 0, resyncSeconds: 0, catchUpResyncSeconds: 0 },
    kube,
    translate,
    log: opts.log ?? pino({ level: "silent" }),
    events: opts.events,
  });
  await c.start();
  await settled(c);
  return c;
}

async function settled(c: Controller) {
  await c.loop.idle();
  await c.events.idle();
}

/** What a watch would deliver: the object changed in the API server, then the event. */
async function change(
  kube: FakeKube,
  c: Controller,
  kind: IndexKind,
  ns: string | undefined,
  name: string,
  edit: (o: KubernetesObject) => KubernetesObject,
) {
  const held = kube.objects.get(kube.key(kind, ns, name))!;
  const next = edit(structuredClone(held));
  const rv = kube.nextResourceVersion();
  // a spec change moves the generation (the index ignores status-only updates)
  next.metadata = { ...next.metadata, resourceVersion: rv, generation: (held.metadata?.generation ?? 1) + 1 };
  kube.put(next);
  c.upserted(kind)(next);
  await settled(c);
}

const label =
  (on: boolean) =>
  (ns: KubernetesObject): KubernetesObject => ({
    ...ns,
    metadata: { ...ns.metadata, labels: on ? { "shared-gateway-access": "true" } : ({} as Record<string, string>) },
  });

const hrEvents = (kube: FakeKube) => kube.eventsFor("HTTPRoute", "hr", "hr");

describe("condition events", () => {
  it("a route going Accepted=True→False gets one Warning NotAllowedByListeners with the status message", async () => {
    const kube = new FakeKube();
    seeded(kube);
    const c = await started(kube);
    // the route starts refused (hr is not labelled): one Warning, one Normal for its ResolvedRefs
    const first = hrEvents(kube).map((e) => `${e.type} ${e.reason}`);
    expect(first.sort()).toEqual(["Normal ResolvedRefs", "Warning NotAllowedByListeners"]);
    await change(kube, c, "Namespace", undefined, "hr", label(true));
    const accepted = hrEvents(kube).filter((e) => e.reason === "Accepted");
    expect(accepted.map((e) => e.type)).toEqual(["Normal"]);
    const before = hrEvents(kube).length;
    await change(kube, c, "Namespace", undefined, "hr", label(false));
    const now = hrEvents(kube);
    expect(now).toHaveLength(before); // the same Warning again: its series, not a new Event
    const warning = now.find((e) => e.reason === "NotAllowedByListeners")!;
    expect(warning).toMatchObject({
      type: "Warning",
      action: "Accepted",
      reportingController: "crossway.dev/gateway-controller",
      series: { count: 2 },
      regarding: { apiVersion: "gateway.networking.k8s.io/v1", kind: "HTTPRoute", namespace: "hr", name: "hr" },
    });
    expect(warning.regarding.uid).toBeTruthy();
    expect(warning.regarding.resourceVersion).toBeTruthy();
    expect(warning.reportingInstance).toBeTruthy();
    expect(warning.note).toBe(
      `parent Gateway infra-ns/shared-gateway: Accepted=False: ${
        (
          kube.objects.get(kube.key("HTTPRoute", "hr", "hr")) as {
            status: { parents: { conditions: { type: string; message: string }[] }[] };
          }
        ).status.parents[0].conditions.find((x) => x.type === "Accepted")!.message
      }`,
    );
    expect(warning.note).toContain('namespace "hr" is not allowed by listener "shared-http"');
    await c.stop();
  });

  it("unchanged conditions make no event on later reconciles", async () => {
    const kube = new FakeKube();
    seeded(kube);
    const c = await started(kube);
    const writes = kube.eventWrites.length;
    expect(writes).toBeGreaterThan(0);
    await c.reconcile();
    await change(kube, c, "Namespace", undefined, "careers", (ns) => ({
      ...ns,
      metadata: { ...ns.metadata, annotations: { note: "unrelated" } },
    }));
    await c.reconcile();
    await c.events.idle();
    expect(kube.eventWrites.slice(writes)).toEqual([]);
    await c.stop();
  });

  it("a flapping route is rate-limited per object; the series count keeps counting and the next allowed write carries it", async () => {
    const kube = new FakeKube();
    seeded(kube);
    let now = Date.parse("2026-01-01T00:00:00Z");
    const { log, lines, msgs } = capture();
    const c = await started(kube, {
      log,
      events: { clock: () => now, perObject: { burst: 6, perSecond: 1 / 5 }, global: { burst: 1000, perSecond: 1000 } },
    });
    const hrWrites = () => kube.eventWrites.filter((w) => w.includes("/hr.")).length;
    expect(hrWrites()).toBe(2); // NotAllowedByListeners, ResolvedRefs
    for (let i = 0; i < 10; i++) {
      await change(kube, c, "Namespace", undefined, "hr", label(true));
      await change(kube, c, "Namespace", undefined, "hr", label(false));
    }
    // 20 transitions, 4 writes left in the burst of 6; the rest dropped
    expect(hrWrites()).toBe(6);
    const limited = lines.filter(
      (l) => l.msg === "events for this object are rate-limited; dropping until its budget refills",
    );
    expect(limited).toHaveLength(1); // once per burst, not once per dropped event
    expect(limited[0].object).toBe("HTTPRoute hr/hr");
    // other objects are not held back by hr's budget
    await change(kube, c, "Namespace", undefined, "product", label(false));
    expect(kube.eventsFor("HTTPRoute", "product", "product").some((e) => e.reason === "NotAllowedByListeners")).toBe(
      true,
    );
    // five seconds later one more write is allowed, and it carries every flap seen meanwhile
    now += 5_000;
    await change(kube, c, "Namespace", undefined, "hr", label(true));
    expect(hrWrites()).toBe(7);
    const accepted = hrEvents(kube).find((e) => e.reason === "Accepted")!;
    expect(accepted.series?.count).toBe(11);
    expect(msgs()).toContain("events for this object resumed");
    await c.stop();
  });

  it("a failing event write fails neither the status write nor the reconcile, and is logged once per burst", async () => {
    const kube = new FakeKube();
    seeded(kube);
    const { log, lines, msgs } = capture();
    kube.failEvents = { status: 503, statusText: "Service Unavailable", data: { message: "etcd is down" } };
    const c = await started(kube, { log });
    await change(kube, c, "Namespace", undefined, "hr", label(true));
    expect(c.loop.stats.failures).toBe(0);
    const hr = kube.objects.get(kube.key("HTTPRoute", "hr", "hr")) as {
      status: { parents: { conditions: { type: string; status: string }[] }[] };
    };
    expect(hr.status.parents[0].conditions.find((x) => x.type === "Accepted")!.status).toBe("True");
    expect(kube.events.size).toBe(0);
    const failed = lines.filter((l) => l.msg === "event write failed; further failures are counted until one succeeds");
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ status: 503 });
    expect(msgs().filter((m) => m === "status write failed; retrying this object")).toEqual([]);
    kube.failEvents = undefined;
    await change(kube, c, "Namespace", undefined, "hr", label(false));
    expect(hrEvents(kube).map((e) => e.reason)).toEqual(["NotAllowedByListeners"]);
    const recovered = lines.find((l) => l.msg === "event writes recovered")!;
    expect(recovered.failed).toBeGreaterThan(5);
    await c.stop();
  });

  it("a ReferenceGrant gets an event when a route's reference resolves through it, and when it no longer allows it", async () => {
    const kube = new FakeKube();
    const grant = {
      apiVersion: "gateway.networking.k8s.io/v1beta1",
      kind: "ReferenceGrant",
      metadata: { name: "careers-to-hr", namespace: "hr", generation: 1 },
      spec: {
        from: [{ group: "gateway.networking.k8s.io", kind: "HTTPRoute", namespace: "careers" }],
        to: [{ group: "", kind: "Service", name: "other" }],
      },
    } as KubernetesObject;
    seeded(kube, [grant]);
    const c = await started(kube);
    await change(kube, c, "HTTPRoute", "careers", "careers", (r) => {
      (r as { spec: { rules: { backendRefs: object[] }[] } }).spec.rules[0].backendRefs = [
        { name: "hr", namespace: "hr", port: 9080 },
      ];
      return r;
    });
    const careers = kube.eventsFor("HTTPRoute", "careers", "careers").find((e) => e.reason === "RefNotPermitted")!;
    expect(careers.type).toBe("Warning");
    // the grant names careers but not this Service: it is the one to look at
    const onGrant = () =>
      kube.eventsFor("ReferenceGrant", "hr", "careers-to-hr").map((e) => `${e.type} ${e.reason}: ${e.note}`);
    expect(onGrant()).toEqual([
      "Warning RefNotPermitted: does not allow HTTPRoute careers/careers to reference Service hr/hr; the route's ResolvedRefs is False/RefNotPermitted",
    ]);
    await change(kube, c, "ReferenceGrant", "hr", "careers-to-hr", (g) => {
      (g as { spec: { to: object[] } }).spec.to = [{ group: "", kind: "Service", name: "hr" }];
      return g;
    });
    expect(onGrant()).toContain(
      "Normal ResolvedRefs: allows HTTPRoute careers/careers to reference Service hr/hr; the route's references resolve now",
    );
    expect(kube.eventsFor("ReferenceGrant", "hr", "careers-to-hr")[0].regarding.apiVersion).toBe(
      "gateway.networking.k8s.io/v1beta1",
    );
    await c.stop();
  });
});

describe("ConditionEvents", () => {
  it("a published config's Programmed=False/Pending and its return make no event; a real change does", () => {
    const made: EventInput[] = [];
    const events = new ConditionEvents((e) => made.push(e), new ObjectIndex());
    const gw = {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "Gateway",
      metadata: { name: "gw", namespace: "infra", uid: "u", resourceVersion: "7" },
    };
    const t = (status: string, reason: string, previous?: string) => [
      { type: "Programmed", status, reason, message: `${status} ${reason}`, previous },
    ];
    events.observe("Gateway", gw, "Gateway/infra/gw", t("True", "Programmed"));
    events.observe("Gateway", gw, "Gateway/infra/gw", t("False", "Pending", "True/Programmed"));
    events.observe("Gateway", gw, "Gateway/infra/gw", t("True", "Programmed", "False/Pending"));
    expect(made.map((e) => `${e.type} ${e.reason}`)).toEqual(["Normal Programmed"]);
    events.observe("Gateway", gw, "Gateway/infra/gw", t("False", "Pending", "True/Programmed"));
    events.observe("Gateway", gw, "Gateway/infra/gw", t("False", "Invalid", "False/Pending"));
    expect(made.map((e) => `${e.type} ${e.reason}`)).toEqual(["Normal Programmed", "Warning Invalid"]);
    expect(made[1].note).toBe("Programmed=False: False Invalid");
    // a condition where True is the problem
    events.observe("Gateway", gw, "Gateway/infra/gw", [
      { where: "listener a", type: "Conflicted", status: "True", reason: "HostnameConflict", message: "m" },
    ]);
    expect(made[2]).toMatchObject({
      type: "Warning",
      reason: "HostnameConflict",
      note: "listener a: Conflicted=True: m",
    });
  });
});

describe("fitNote", () => {
  it("keeps a note within the API's 1024 bytes, on a character boundary, saying how much was cut", () => {
    expect(fitNote("short")).toBe("short");
    const long = "ü".repeat(2000); // 4000 bytes
    const fitted = fitNote(long);
    expect(Buffer.byteLength(fitted)).toBeLessThanOrEqual(1024);
    expect(fitted).toMatch(/^ü+… \(truncated: [\d,]+ more bytes\)$/);
    const kept = Buffer.byteLength(fitted.slice(0, fitted.indexOf("…")));
    expect(fitted).toContain(`truncated: ${(4000 - kept).toLocaleString("en-US")} more bytes`);
  });
});
