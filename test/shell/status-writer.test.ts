import { pino } from "pino";
import { ObjectIndex } from "../../capabilities/reconcilers/index";
import { StatusWriter } from "../../capabilities/reconcilers/status-writer";
import type { ObjectStatus } from "../../capabilities/engine/result";
import { FakeKube } from "./fake-kube";
import type { StatusKind } from "../../capabilities/engine/result";
import type { ObjectName } from "../../capabilities/reconcilers/kube";

/**
 * The fake API server, plus what the real one enforces on a status: the CRDs' limits (condition
 * message maxLength 32768 code points, status.parents maxItems 32), answered with 422 Invalid.
 * Records every status write attempted (ns/name), accepted or not.
 */
class StrictKube extends FakeKube {
  calls: string[] = [];

  override async patchStatus(kind: StatusKind, ref: ObjectName, status: Record<string, unknown>) {
    this.calls.push(`${ref.namespace ?? ""}/${ref.name}`);
    const invalid = (field: string, detail: string) => ({
      ok: false,
      status: 422,
      statusText: "Unprocessable Entity",
      data: {
        kind: "Status",
        reason: "Invalid",
        code: 422,
        message: `${kind}.gateway.networking.k8s.io "${ref.name}" is invalid: ${field}: ${detail}`,
      },
    });
    const parents = (status.parents ?? []) as { conditions?: { message?: string }[] }[];
    if (parents.length > 32) throw invalid("status.parents", `Too many: ${parents.length}: must have at most 32 items`);
    const lists = [
      ...parents.map((p, i) => [`status.parents[${i}]`, p.conditions] as const),
      ["status", (status as { conditions?: { message?: string }[] }).conditions] as const,
    ];
    for (const [where, conditions] of lists) {
      for (const [j, c] of (conditions ?? []).entries()) {
        const n = Array.from(c.message ?? "").length;
        if (n > 32768) throw invalid(`${where}.conditions[${j}].message`, "Too long: may not be more than 32768 bytes");
      }
    }
    return super.patchStatus(kind, ref, status);
  }
}

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

function setup(obj: object, kube = new StrictKube(), log = quiet) {
  const index = new ObjectIndex();
  kube.put(obj as never);
  index.upsert((obj as { kind: never }).kind, obj as never);
  let clock = "2026-01-01T00:00:00Z";
  let ms = 0; // the retry backoff's clock
  const writer = new StatusWriter(kube, index, OURS, {
    log,
    now: () => clock,
    clock: () => ms,
    retry: { baseMs: 200, maxMs: 1000 },
  });
  const add = (o: object) => {
    kube.put(o as never);
    index.upsert((o as { kind: never }).kind, o as never);
  };
  return { kube, index, writer, add, setClock: (t: string) => (clock = t), advance: (d: number) => (ms += d) };
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

  it("a route status changed by another controller since we looked is not overwritten; the conflict is retried promptly", async () => {
    const { kube, index, writer, advance } = setup(route());
    // another controller adds its entry; our index has not seen that version yet
    const theirs = { parentRef: { name: "their-gw" }, controllerName: THEIRS, conditions: [] };
    await kube.patchStatus("HTTPRoute", { namespace: "app", name: "r" }, { parents: [theirs] });
    kube.patches = [];
    const want = desiredRoute([cond("Accepted", "True", "Accepted")]);
    for (let i = 0; i < 6; i++) {
      expect(await writer.write([want])).toMatchObject({ failed: 1, patched: 0 });
      advance(1000);
    }
    // conflicts stay prompt: never the 1 s cap this writer's other failures grow to
    expect((await writer.write([want])).retryInMs).toBe(800);
    expect(kube.patches).toHaveLength(0);
    // the watch delivers the newer version; the retry merges with it
    index.upsert("HTTPRoute", kube.objects.get("HTTPRoute/app/r")!);
    advance(800);
    expect(await writer.write([want])).toMatchObject({ patched: 1, failed: 0, retryInMs: undefined });
    const parents = kube.patches[0].status.parents as { controllerName: string }[];
    expect(parents.map((p) => p.controllerName)).toEqual([THEIRS, OURS]);
  });

  it("recognises the stale-resourceVersion 422 as the real API server words it (client-node ApiException, generic message) and keeps retrying it promptly", async () => {
    class RealWordingKube extends StrictKube {
      override async replaceRouteStatus(
        kind: "HTTPRoute" | "GRPCRoute",
        ref: ObjectName & { resourceVersion: string },
        status: Record<string, unknown>,
      ) {
        try {
          return await super.replaceRouteStatus(kind, ref, status);
        } catch (e) {
          if ((e as { status?: number }).status !== 422) throw e;
          // what kube-apiserver answers when the JSON patch's test op fails, as client-node throws it
          const body = {
            kind: "Status",
            apiVersion: "v1",
            status: "Failure",
            message: "the server rejected our request due to an error in our request",
            reason: "Invalid",
            details: {},
            code: 422,
          };
          throw Object.assign(new Error(`HTTP-Code: 422\nMessage: Unknown API Status Code!\nBody: ...`), {
            code: 422,
            body: JSON.stringify(body),
          });
        }
      }
    }
    const { kube, writer, advance } = setup(route(), new RealWordingKube());
    await kube.patchStatus("HTTPRoute", { namespace: "app", name: "r" }, { parents: [] }); // moves the resourceVersion on
    const delays: (number | undefined)[] = [];
    for (let i = 0; i < 5; i++) {
      delays.push((await writer.write([desiredRoute([cond("Accepted", "True", "Accepted")])])).retryInMs);
      advance(1000);
    }
    expect(delays).toEqual([200, 400, 800, 800, 800]);
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

  it("one object whose patch keeps failing: the others are written, it waits out its own backoff, and is written once the fault clears", async () => {
    const { kube, writer, add, advance } = setup(route());
    add({ ...route(), metadata: { ...route().metadata, name: "ok", uid: "ok" } });
    kube.failPatch.set("app/r", { status: 503, statusText: "Service Unavailable", data: { message: "etcd timeout" } });
    const tried = () => kube.calls.filter((c) => c === "app/r").length;
    const want = (name: string, reason = "Accepted") => ({
      ...desiredRoute([cond("Accepted", "True", reason)]),
      name,
    });
    expect(await writer.write([want("r"), want("ok")])).toEqual({
      patched: 1,
      unchanged: 0,
      failed: 1,
      waiting: 0,
      retryInMs: 200,
    });
    expect(kube.patches.map((p) => p.ref.name)).toEqual(["ok"]);
    expect(tried()).toBe(1);
    // within its backoff it is not tried again, while the other object's changes are written
    expect(await writer.write([want("r"), want("ok", "Changed")])).toMatchObject({ patched: 1, waiting: 1 });
    expect(tried()).toBe(1);
    expect(kube.patches.map((p) => p.ref.name)).toEqual(["ok", "ok"]);
    // then it is tried again, alone, with a doubled backoff, capped
    const delays: (number | undefined)[] = [];
    for (let i = 0; i < 4; i++) {
      advance(1000);
      delays.push((await writer.write([want("r"), want("ok", "Changed")])).retryInMs);
    }
    expect(delays).toEqual([400, 800, 1000, 1000]);
    expect(tried()).toBe(5);
    expect(kube.patches.map((p) => p.ref.name)).toEqual(["ok", "ok"]);
    kube.failPatch.clear();
    advance(1000);
    expect(await writer.write([want("r"), want("ok", "Changed")])).toEqual({
      patched: 1,
      unchanged: 1,
      failed: 0,
      waiting: 0,
      retryInMs: undefined,
    });
    expect(kube.patches.map((p) => p.ref.name)).toEqual(["ok", "ok", "r"]);
  });

  it("an object waiting out its backoff is tried at once when what we want to write for it changes", async () => {
    const { kube, writer } = setup(route());
    kube.failPatch.set("app/r", { status: 500, statusText: "Internal Server Error", data: { message: "x" } });
    await writer.write([desiredRoute([cond("Accepted", "True", "Accepted")])]);
    kube.failPatch.clear();
    expect(await writer.write([desiredRoute([cond("Accepted", "True", "Accepted")])])).toMatchObject({ waiting: 1 });
    expect(await writer.write([desiredRoute([cond("Accepted", "False", "NotAllowedByListeners")])])).toMatchObject({
      patched: 1,
      waiting: 0,
      retryInMs: undefined,
    });
  });

  it("an object the engine no longer reports (deleted) stops waiting for a retry", async () => {
    const { kube, writer } = setup(route());
    kube.failPatch.set("app/r", { status: 500, statusText: "Internal Server Error", data: { message: "x" } });
    expect((await writer.write([desiredRoute([cond("Accepted", "True", "Accepted")])])).retryInMs).toBe(200);
    expect((await writer.write([])).retryInMs).toBeUndefined();
  });

  it("logs one line per transition with the object and reason; a failing object once per attempt with HTTP status, body and backoff, and once when it recovers", async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = pino({ level: "info" }, { write: (s: string) => void lines.push(JSON.parse(s)) });
    const { kube, writer, advance } = setup(route(), new StrictKube(), sink);
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
    const want = desiredRoute([cond("Accepted", "True", "Accepted")]);
    await writer.write([want]);
    await writer.write([want]); // waiting: no attempt, no line
    advance(200);
    await writer.write([want]);
    const failed = lines.filter((l) => l.msg === "status write failed; retrying this object");
    expect(failed).toEqual([
      expect.objectContaining({
        kind: "HTTPRoute",
        namespace: "app",
        name: "r",
        status: 500,
        attempt: 1,
        retryInMs: 200,
      }),
      expect.objectContaining({
        kind: "HTTPRoute",
        namespace: "app",
        name: "r",
        status: 500,
        attempt: 2,
        retryInMs: 400,
      }),
    ]);
    expect(String(failed[0].error)).toBe("Internal Server Error: etcd timeout");
    kube.failPatch.clear();
    advance(400);
    await writer.write([want]);
    await writer.write([want]);
    const recovered = lines.filter((l) => l.msg === "status write recovered");
    expect(recovered).toEqual([
      expect.objectContaining({ kind: "HTTPRoute", namespace: "app", name: "r", failedAttempts: 2, patched: true }),
    ]);
    expect(JSON.stringify(lines)).not.toContain("[object Object]");
  });

  it("a 77k-character message (256 unresolvable backendRefs) is cut to the CRD's 32768 characters with a marker, and the patch is accepted", async () => {
    const problems = Array.from(
      { length: 256 },
      (_, i) => `backendRef ${i} Service app/missing-backend-service-number-${String(i).padStart(3, "0")} not found`,
    );
    let message = problems.join("; ");
    while (message.length < 77_000) message += "; " + problems[0];
    const { kube, writer, add } = setup(route());
    add({
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "Gateway",
      metadata: { name: "gw", namespace: "infra", uid: "g", resourceVersion: "1", generation: 1 },
    });
    const resolved = { ...cond("ResolvedRefs", "False", "BackendNotFound"), message };
    const summary = await writer.write([
      desiredRoute([cond("Accepted", "True", "Accepted"), resolved]),
      { kind: "Gateway", namespace: "infra", name: "gw", generation: 1, status: { conditions: [resolved] } },
    ]);
    expect(summary).toMatchObject({ patched: 2, failed: 0 });
    const held = kube.objects.get("HTTPRoute/app/r") as unknown as {
      status: { parents: { conditions: { type: string; message: string }[] }[] };
    };
    const written = held.status.parents[0].conditions.find((c) => c.type === "ResolvedRefs")!.message;
    const cut = Array.from(written).length;
    expect(cut).toBeLessThanOrEqual(32768);
    expect(cut).toBeGreaterThan(32700);
    const more = message.length - written.indexOf("… (truncated: ");
    expect(written).toMatch(/… \(truncated: [\d,]+ more characters\)$/);
    expect(written.endsWith(`… (truncated: ${more.toLocaleString("en-US")} more characters)`)).toBe(true);
    expect(message.startsWith(written.slice(0, written.indexOf("… (truncated: ")))).toBe(true);
    // the Accepted message was short: untouched
    expect(held.status.parents[0].conditions.find((c) => c.type === "Accepted")!.message).toBe("Accepted Accepted");
    const gw = kube.objects.get("Gateway/infra/gw") as unknown as { status: { conditions: { message: string }[] } };
    expect(gw.status.conditions[0].message).toBe(written);
    // and it is stable: the next run sends nothing
    expect(
      await writer.write([
        desiredRoute([cond("Accepted", "True", "Accepted"), resolved]),
        { kind: "Gateway", namespace: "infra", name: "gw", generation: 1, status: { conditions: [resolved] } },
      ]),
    ).toMatchObject({ patched: 0, unchanged: 2 });
  });

  it("a status the API server rejects as Invalid (422) fails for that object alone, logged with the API server's message", async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = pino({ level: "info" }, { write: (s: string) => void lines.push(JSON.parse(s)) });
    const { kube, writer, add } = setup(route(), new StrictKube(), sink);
    add({ ...route(), metadata: { ...route().metadata, name: "ok", uid: "ok" } });
    // 31 entries of other controllers and 2 of ours on one route: 32 at most fit
    const theirs = Array.from({ length: 31 }, (_, i) => ({
      parentRef: { name: `their-gw-${i}` },
      controllerName: THEIRS,
      conditions: [],
    }));
    const crowded = route({ parents: theirs });
    add({ ...crowded, metadata: { ...crowded.metadata, resourceVersion: "2" } });
    const two = {
      ...desiredRoute([cond("Accepted", "True", "Accepted")]),
      status: {
        parents: ["a", "b"].map((n) => ({
          parentRef: { ...gwRef, name: n },
          controllerName: OURS,
          conditions: [cond("Accepted", "True", "Accepted")],
        })),
      },
    };
    expect(
      await writer.write([two, { ...desiredRoute([cond("Accepted", "True", "Accepted")]), name: "ok" }]),
    ).toMatchObject({
      patched: 2,
      failed: 0,
    });
    const held = kube.objects.get("HTTPRoute/app/r") as unknown as {
      status: { parents: { parentRef: { name: string } }[] };
    };
    expect(held.status.parents).toHaveLength(32);
    expect(held.status.parents.at(-1)!.parentRef.name).toBe("a");
    expect(lines.find((l) => String(l.msg).startsWith("status.parents holds 32 entries at most"))).toMatchObject({
      name: "r",
      omitted: 1,
    });
    // an Invalid the writer cannot prevent (here: a webhook or a stricter CRD) is that object's failure alone
    kube.failPatch.set("app/ok", {
      status: 422,
      statusText: "Unprocessable Entity",
      data: {
        message:
          'HTTPRoute.gateway.networking.k8s.io "ok" is invalid: status.parents[0].conditions[0].reason: Invalid value',
      },
    });
    const s = await writer.write([
      two,
      { ...desiredRoute([cond("Accepted", "False", "NoMatchingParent")]), name: "ok" },
    ]);
    expect(s).toMatchObject({ failed: 1, unchanged: 1, retryInMs: 200 });
    expect(lines.find((l) => l.msg === "status write failed; retrying this object")).toMatchObject({
      kind: "HTTPRoute",
      namespace: "app",
      name: "ok",
      status: 422,
      error:
        'Unprocessable Entity: HTTPRoute.gateway.networking.k8s.io "ok" is invalid: status.parents[0].conditions[0].reason: Invalid value',
      attempt: 1,
      retryInMs: 200,
    });
  });
});
