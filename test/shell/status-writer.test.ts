import { pino } from "pino";
import { ObjectIndex } from "../../capabilities/reconcilers/index";
import { StatusWriter, StatusWriteError } from "../../capabilities/reconcilers/status-writer";
import type { ObjectStatus } from "../../capabilities/engine/result";
import { FakeKube } from "./fake-kube";

const OURS = "crossway.dev/gateway-controller";
const THEIRS = "example.com/other-controller";
const quiet = pino({ level: "silent" });

const route = (status?: object) => ({
  apiVersion: "gateway.networking.k8s.io/v1",
  kind: "HTTPRoute",
  metadata: { name: "r", namespace: "app", uid: "route-uid", resourceVersion: "1", generation: 1 },
  spec: {},
  ...(status ? { status } : {}),
});

const cond = (type: string, status: "True" | "False", reason: string, ltt?: string) => ({
  type,
  status,
  reason,
  message: `${type} ${reason}`,
  observedGeneration: 1,
  ...(ltt ? { lastTransitionTime: ltt } : {}),
});

const gwRef = { group: "gateway.networking.k8s.io", kind: "Gateway", namespace: "infra", name: "gw" };

function setup(obj: object) {
  const kube = new FakeKube();
  const index = new ObjectIndex();
  kube.put(obj as never);
  index.upsert((obj as { kind: never }).kind, obj as never);
  let clock = "2026-01-01T00:00:00Z";
  const writer = new StatusWriter(kube, index, OURS, { log: quiet, now: () => clock });
  return { kube, index, writer, setClock: (t: string) => (clock = t) };
}

const desiredRoute = (conditions: object[], parentRef = gwRef): ObjectStatus => ({
  kind: "HTTPRoute",
  namespace: "app",
  name: "r",
  generation: 1,
  status: { parents: [{ parentRef, controllerName: OURS, conditions }] },
});

describe("StatusWriter", () => {
  it("patches once, then sends nothing while the status is unchanged", async () => {
    const { kube, writer } = setup(route());
    const want = desiredRoute([cond("Accepted", "True", "Accepted")]);
    expect(await writer.write([want])).toMatchObject({ patched: 1, unchanged: 0 });
    expect(await writer.write([want])).toMatchObject({ patched: 0, unchanged: 1 });
    expect(kube.patches).toHaveLength(1);
    const parents = kube.patches[0].status.parents as { conditions: { lastTransitionTime: string }[] }[];
    expect(parents[0].conditions[0].lastTransitionTime).toBe("2026-01-01T00:00:00Z");
  });

  it("keeps lastTransitionTime unless the condition's status flips", async () => {
    const { kube, writer, setClock } = setup(route());
    await writer.write([
      desiredRoute([cond("Accepted", "True", "Accepted"), cond("ResolvedRefs", "True", "ResolvedRefs")]),
    ]);
    setClock("2026-01-02T00:00:00Z");
    await writer.write([
      desiredRoute([cond("Accepted", "True", "Accepted"), cond("ResolvedRefs", "False", "BackendNotFound")]),
    ]);
    const last = kube.patches.at(-1)!.status.parents as {
      conditions: { type: string; lastTransitionTime: string }[];
    }[];
    const byType = Object.fromEntries(last[0].conditions.map((c) => [c.type, c.lastTransitionTime]));
    expect(byType).toEqual({ Accepted: "2026-01-01T00:00:00Z", ResolvedRefs: "2026-01-02T00:00:00Z" });
  });

  it("never touches other controllers' parents and drops our stale entries", async () => {
    const theirs = {
      parentRef: { name: "their-gw", namespace: "x" },
      controllerName: THEIRS,
      conditions: [cond("Accepted", "True", "Accepted", "2020-01-01T00:00:00Z")],
    };
    const staleOurs = {
      parentRef: { name: "old-gw", namespace: "infra" },
      controllerName: OURS,
      conditions: [cond("Accepted", "True", "Accepted", "2020-01-01T00:00:00Z")],
    };
    const { kube, writer } = setup(route({ parents: [theirs, staleOurs] }));
    await writer.write([desiredRoute([cond("Accepted", "True", "Accepted")])]);
    const parents = kube.patches[0].status.parents as { controllerName: string; parentRef: { name: string } }[];
    expect(parents.map((p) => `${p.controllerName}:${p.parentRef.name}`)).toEqual([`${THEIRS}:their-gw`, `${OURS}:gw`]);
    expect(parents[0]).toEqual(theirs);
  });

  it("removes our entries from routes the engine no longer reports (parent not ours any more)", async () => {
    const theirs = { parentRef: { name: "their-gw" }, controllerName: THEIRS, conditions: [] };
    const ours = {
      parentRef: gwRef,
      controllerName: OURS,
      conditions: [cond("Accepted", "True", "Accepted", "2020-01-01T00:00:00Z")],
    };
    const { kube, writer } = setup(route({ parents: [theirs, ours] }));
    await writer.write([]);
    expect(kube.patches).toHaveLength(1);
    expect(kube.patches[0].status).toEqual({ parents: [theirs] });
    await writer.write([]);
    expect(kube.patches).toHaveLength(1); // nothing of ours left: no further patch
  });

  it("a route status changed by another controller since we looked is not overwritten", async () => {
    const { kube, index, writer } = setup(route());
    // another controller adds its entry; our index has not seen that version yet
    const theirs = { parentRef: { name: "their-gw" }, controllerName: THEIRS, conditions: [] };
    await kube.patchStatus("HTTPRoute", { namespace: "app", name: "r" }, { parents: [theirs] });
    kube.patches = [];
    const err = await writer.write([desiredRoute([cond("Accepted", "True", "Accepted")])]).catch((e) => e);
    expect(err).toBeInstanceOf(StatusWriteError);
    expect(kube.patches).toHaveLength(0);
    // the watch delivers the newer version; the retry merges with it
    index.upsert("HTTPRoute", kube.objects.get("HTTPRoute/app/r")!);
    await writer.write([desiredRoute([cond("Accepted", "True", "Accepted")])]);
    const parents = kube.patches[0].status.parents as { controllerName: string }[];
    expect(parents.map((p) => p.controllerName)).toEqual([THEIRS, OURS]);
  });

  it("matches our previous entry by parentRef with the spec's defaults applied", async () => {
    const prev = {
      parentRef: { name: "gw", namespace: "infra" },
      controllerName: OURS,
      conditions: [cond("Accepted", "True", "Accepted", "2020-01-01T00:00:00Z")],
    };
    const { kube, writer } = setup(route({ parents: [prev] }));
    await writer.write([desiredRoute([cond("Accepted", "True", "Accepted")], gwRef)]);
    const parents = kube.patches[0].status.parents as { conditions: { lastTransitionTime: string }[] }[];
    expect(parents[0].conditions[0].lastTransitionTime).toBe("2020-01-01T00:00:00Z");
  });

  it("Gateway: stamps listener conditions and nulls fields it no longer sets", async () => {
    const gw = {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "Gateway",
      metadata: { name: "gw", namespace: "infra", uid: "g", resourceVersion: "1", generation: 2 },
      status: {
        addresses: [{ type: "IPAddress", value: "10.244.0.10" }],
        conditions: [cond("Accepted", "True", "Accepted", "2020-01-01T00:00:00Z")],
        listeners: [
          {
            name: "http",
            attachedRoutes: 1,
            supportedKinds: [],
            conditions: [cond("Accepted", "True", "Accepted", "2020-01-01T00:00:00Z")],
          },
        ],
      },
    };
    const { kube, writer } = setup(gw);
    await writer.write([
      {
        kind: "Gateway",
        namespace: "infra",
        name: "gw",
        generation: 2,
        status: {
          conditions: [cond("Accepted", "True", "Accepted")],
          listeners: [
            { name: "http", attachedRoutes: 2, supportedKinds: [], conditions: [cond("Accepted", "True", "Accepted")] },
          ],
        },
      },
    ]);
    const s = kube.patches[0].status as {
      addresses: unknown;
      listeners: { conditions: { lastTransitionTime: string }[] }[];
    };
    expect(s.addresses).toBeNull();
    expect(s.listeners[0].conditions[0].lastTransitionTime).toBe("2020-01-01T00:00:00Z");
  });

  it("one failing object does not stop the others; the run reports the failure", async () => {
    const { kube, index, writer } = setup(route());
    const other = { ...route(), metadata: { ...route().metadata, name: "ok", uid: "ok" } };
    kube.put(other as never);
    index.upsert("HTTPRoute", other as never);
    kube.failPatch.set("app/r", {
      status: 422,
      statusText: "Unprocessable Entity",
      data: { message: "status.parents: Too many" },
    });
    const err = await writer
      .write([
        desiredRoute([cond("Accepted", "True", "Accepted")]),
        { ...desiredRoute([cond("Accepted", "True", "Accepted")]), name: "ok" },
      ])
      .catch((e) => e);
    expect(err).toBeInstanceOf(StatusWriteError);
    expect(err.summary).toEqual({ patched: 1, unchanged: 0, failed: 1 });
    expect(kube.patches.map((p) => p.ref.name)).toEqual(["ok"]);
  });

  it("logs one line per transition with the object and reason, and errors with HTTP status and body", async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = pino({ level: "info" }, { write: (s: string) => void lines.push(JSON.parse(s)) });
    const kube = new FakeKube();
    const index = new ObjectIndex();
    const r = route();
    kube.put(r as never);
    index.upsert("HTTPRoute", r as never);
    const writer = new StatusWriter(kube, index, OURS, { log: sink });
    await writer.write([desiredRoute([cond("Accepted", "False", "NotAllowedByListeners")])]);
    const t = lines.filter((l) => l.msg === "status transition");
    expect(t).toHaveLength(1);
    expect(t[0]).toMatchObject({
      kind: "HTTPRoute",
      namespace: "app",
      name: "r",
      condition: "Accepted",
      status: "False",
      reason: "NotAllowedByListeners",
    });
    kube.failPatch.set("app/r", {
      status: 500,
      statusText: "Internal Server Error",
      data: { message: "etcd timeout" },
    });
    await writer.write([desiredRoute([cond("Accepted", "True", "Accepted")])]).catch(() => undefined);
    const err = lines.find((l) => l.msg === "status patch failed")!;
    expect(err).toMatchObject({ status: 500, name: "r" });
    expect(String(err.error)).toContain("etcd timeout");
    expect(JSON.stringify(lines)).not.toContain("[object Object]");
  });
});
