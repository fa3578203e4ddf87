/**
 * Secrets by name: the controller (real engine, real renderer, fake K8s client that records every
 * GET) reads exactly the certificateRefs the engine may use and its config Secrets, never any
 * other Secret; a rotated certificate reaches the published config; a removed ReferenceGrant
 * drops the Secret and the listener; a 404 is "missing", a 403 is logged once; a Secret whose GET
 * hangs holds up nobody else.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { pino } from "pino";
import type { KubernetesObject } from "kubernetes-fluent-client";
import { translate } from "../../capabilities/engine";
import { renderGateway } from "../../capabilities/render";
import { decodeConfigData } from "../../capabilities/dataplane/secret-data";
import { ANN_CONFIG_GENERATION, configSecretName } from "../../capabilities/dataplane/conventions";
import { Controller } from "../../capabilities/reconcilers/controller";
import { readSettings } from "../../capabilities/reconcilers/config";
import { FakeKube } from "./fake-kube";
import { makeCert } from "../render/harness";

const GW_API = "gateway.networking.k8s.io/v1";
let uid = 0;
const obj = (o: Record<string, unknown>): KubernetesObject => {
  const meta = o.metadata as Record<string, unknown>;
  return { ...o, metadata: { uid: `u${++uid}`, resourceVersion: String(uid), generation: 1, ...meta } };
};
const ns = (name: string) => obj({ apiVersion: "v1", kind: "Namespace", metadata: { name } });
const dir = mkdtempSync(join(tmpdir(), "crossway-secrets-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
/** A real certificate per label (the renderer leaves out pairs HAProxy would refuse). */
const certs = new Map<string, { certPem: string; keyPem: string }>();
const certOf = (label: string) => {
  if (!certs.has(label)) certs.set(label, makeCert(dir, [`${label}.example.com`]));
  return certs.get(label)!;
};
const pem = (label: string) => ({
  "tls.crt": Buffer.from(certOf(label).certPem).toString("base64"),
  "tls.key": Buffer.from(certOf(label).keyPem).toString("base64"),
});
/** Does the published config serve the certificate of `label`? */
const serves = (text: string | undefined, label: string) => !!text?.includes(certOf(label).certPem.trim());
const tls = (namespace: string, name: string, label = name) =>
  obj({ apiVersion: "v1", kind: "Secret", type: "kubernetes.io/tls", metadata: { namespace, name }, data: pem(label) });
const https = (name: string, hostname: string, ref: { name: string; namespace?: string }) => ({
  name,
  port: 443,
  protocol: "HTTPS",
  hostname,
  tls: { certificateRefs: [ref] },
});
const gateway = (namespace: string, name: string, listeners: object[]) =>
  obj({
    apiVersion: GW_API,
    kind: "Gateway",
    metadata: { namespace, name },
    spec: { gatewayClassName: "c", listeners },
  });
const grant = obj({
  apiVersion: GW_API,
  kind: "ReferenceGrant",
  metadata: { namespace: "certs", name: "infra-gateways" },
  spec: {
    from: [{ group: "gateway.networking.k8s.io", kind: "Gateway", namespace: "infra" }],
    to: [{ group: "", kind: "Secret" }],
  },
});

/** Listeners without routes render nothing: one route on every listener of the Gateway. */
const route = (gw: string) =>
  obj({
    apiVersion: GW_API,
    kind: "HTTPRoute",
    metadata: { namespace: "infra", name: `to-${gw}` },
    spec: { parentRefs: [{ name: gw }], rules: [{ backendRefs: [{ name: "app", port: 80 }] }] },
  });

function cluster() {
  const kube = new FakeKube();
  for (const o of [
    obj({
      apiVersion: GW_API,
      kind: "GatewayClass",
      metadata: { name: "c" },
      spec: { controllerName: "crossway.dev/gateway-controller" },
    }),
    ...["infra", "certs", "other"].map(ns),
    gateway("infra", "gw", [
      https("own", "own.example.com", { name: "own" }),
      https("cross", "wild.example.com", { name: "wild", namespace: "certs" }),
    ]),
    grant,
    route("gw"),
    tls("infra", "own"),
    tls("certs", "wild", "wild-v1"),
    tls("certs", "unreferenced"),
    tls("other", "unrelated"),
  ])
    kube.put(obj(o as never));
  return kube;
}

function logCapture() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split("\n").filter(Boolean)) lines.push(JSON.parse(l));
      done();
    },
  });
  return { lines, log: pino({ level: "info" }, sink) };
}

const running: Controller[] = [];
function controller(kube: FakeKube, log = pino({ level: "silent" })) {
  const c = new Controller({
    settings: {
      ...readSettings({}),
      debounceMs: 10,
      maxWaitMs: 50,
      resyncSeconds: 0,
      catchUpResyncSeconds: 0,
      secretRefreshSeconds: 1,
    },
    kube,
    translate,
    dataPlane: { render: (ir) => renderGateway(ir), manifests: () => [] },
    log,
  });
  running.push(c);
  return c;
}
afterEach(async () => {
  for (const c of running.splice(0)) await c.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function eventually<T>(what: string, f: () => T | undefined | false, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`not within ${ms}ms: ${what}`);
    await sleep(25);
  }
}

type Cond = { type: string; status: string; reason: string; message: string };
const listenerCond = (kube: FakeKube, gw: string, listener: string, type: string) => {
  const s = kube.objects.get(kube.key("Gateway", "infra", gw)) as unknown as {
    status?: { listeners?: { name: string; conditions: Cond[] }[] };
  };
  return s?.status?.listeners?.find((l) => l.name === listener)?.conditions.find((c) => c.type === type);
};
const config = (kube: FakeKube, gw = "gw") => {
  const s = kube.objects.get(kube.key("Secret", "infra", configSecretName(gw))) as unknown as
    | { data: Record<string, string>; metadata: { annotations: Record<string, string> } }
    | undefined;
  if (!s) return undefined;
  const d = decodeConfigData(s.data);
  return {
    text: "files" in d ? Object.values(d.files).join("\n") : "",
    generation: s.metadata.annotations[ANN_CONFIG_GENERATION],
  };
};

describe("Secrets read by name", () => {
  it("reads only the permitted certificateRefs and the config Secret, never another Secret", async () => {
    const kube = cluster();
    const c = controller(kube);
    await c.start();
    await c.loop.idle();
    expect(new Set(kube.gets)).toEqual(new Set(["infra/own", "certs/wild", `infra/${configSecretName("gw")}`]));
    expect(listenerCond(kube, "gw", "own", "ResolvedRefs")?.status).toBe("True");
    expect(listenerCond(kube, "gw", "cross", "ResolvedRefs")?.status).toBe("True");
    expect(serves(config(kube)?.text, "wild-v1")).toBe(true);
    // periodic re-reads ask for the same Secrets, and only those
    await sleep(1500);
    expect(kube.gets.filter((g) => g === "certs/wild").length).toBeGreaterThan(1);
    expect(kube.gets.filter((g) => g.endsWith("unreferenced") || g.endsWith("unrelated"))).toEqual([]);
  });

  it("a rotated certificate reaches the config within the refresh interval", async () => {
    const kube = cluster();
    const c = controller(kube);
    await c.start();
    await c.loop.idle();
    const before = config(kube)!;
    kube.put(tls("certs", "wild", "wild-v2"));
    const after = await eventually("the rotated certificate in the config", () => {
      const now = config(kube);
      return serves(now?.text, "wild-v2") && now;
    });
    expect(serves(after.text, "wild-v1")).toBe(false);
    expect(Number(after.generation)).toBe(Number(before.generation) + 1);
  });

  it("removing the ReferenceGrant drops the Secret and the listener; it is never read again", async () => {
    const kube = cluster();
    const c = controller(kube);
    await c.start();
    await c.loop.idle();
    await kube.delete(grant);
    c.deleted("ReferenceGrant")(grant);
    await eventually(
      "RefNotPermitted",
      () => listenerCond(kube, "gw", "cross", "ResolvedRefs")?.reason === "RefNotPermitted",
    );
    await c.loop.idle();
    expect(c.index.get("Secret", "certs", "wild")).toBeUndefined();
    expect(serves(config(kube)?.text, "wild-v1")).toBe(false);
    expect(serves(config(kube)?.text, "own")).toBe(true);
    const reads = kube.gets.length;
    await sleep(1500);
    expect(kube.gets.slice(reads)).not.toContain("certs/wild");
    expect(kube.gets.slice(reads)).toContain("infra/own");
  });

  it("a missing Secret is reported by the listener and picked up once it exists; an Opaque one is named as such", async () => {
    const kube = cluster();
    await kube.delete(tls("infra", "own"));
    kube.put(
      obj({
        apiVersion: "v1",
        kind: "Secret",
        type: "Opaque",
        metadata: { namespace: "certs", name: "wild" },
        data: pem("x"),
      }),
    );
    const c = controller(kube);
    await c.start();
    await c.loop.idle();
    expect(listenerCond(kube, "gw", "own", "ResolvedRefs")?.message).toContain("Secret infra/own does not exist");
    expect(listenerCond(kube, "gw", "cross", "ResolvedRefs")?.message).toContain('has type "Opaque"');
    kube.put(tls("infra", "own"));
    await eventually("own resolved", () => listenerCond(kube, "gw", "own", "ResolvedRefs")?.status === "True");
  });

  it("a 403 is logged once with the API server's words, and what was read before keeps serving", async () => {
    const kube = cluster();
    const { lines, log } = logCapture();
    const c = controller(kube, log);
    await c.start();
    await c.loop.idle();
    kube.failGet.set("certs/wild", {
      status: 403,
      statusText: "Forbidden",
      data: {
        message:
          'secrets "wild" is forbidden: User "system:serviceaccount:pepr-system:pepr-crossway" cannot get resource "secrets"',
      },
    });
    const reads = kube.gets.length;
    await sleep(3200); // about three refresh intervals, with retries in between
    expect(kube.gets.slice(reads).filter((g) => g === "certs/wild").length).toBeGreaterThan(2);
    const warned = lines.filter((l) => l.status === 403);
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatchObject({ namespace: "certs", name: "wild", level: 40 });
    expect(String(warned[0].error)).toContain("cannot get resource");
    expect(listenerCond(kube, "gw", "cross", "ResolvedRefs")?.status).toBe("True");
    expect(serves(config(kube)?.text, "wild-v1")).toBe(true);
  });

  it("a Secret whose GET hangs holds up no other Gateway", async () => {
    const kube = cluster();
    const c = controller(kube);
    await c.start();
    await c.loop.idle();
    kube.put(ns("slow"));
    c.upserted("Namespace")(ns("slow"));
    kube.put(tls("infra", "slow-cert"));
    kube.holdGet.add("infra/slow-cert");
    const slow = gateway("infra", "slow", [https("s", "slow.example.com", { name: "slow-cert" })]);
    kube.put(slow);
    c.upserted("Gateway")(slow);
    // meanwhile the other Gateway changes (a certificate rotation) and is served at once
    const rotated = tls("certs", "wild", "wild-v3");
    kube.put(rotated);
    await eventually("the other Gateway's rotation published", () => serves(config(kube)?.text, "wild-v3"));
    expect(kube.gets).toContain("infra/slow-cert");
    expect(listenerCond(kube, "slow", "s", "ResolvedRefs")?.status).toBe("False");
    kube.release("infra/slow-cert");
    await eventually(
      "the slow Gateway's listener resolved",
      () => listenerCond(kube, "slow", "s", "ResolvedRefs")?.status === "True",
    );
  });

  it("a restarted controller re-applies nothing unchanged and keeps counting generations", async () => {
    const kube = cluster();
    const first = controller(kube);
    await first.start();
    await first.loop.idle();
    await first.stop();
    // data-plane objects only (a starting controller writes its ownership admission index once)
    const dataPlaneApplies = () => kube.applied.filter((o) => o.kind !== "RouteOwnershipIndex").length;
    const applied = dataPlaneApplies();
    const generation = config(kube)!.generation;
    const second = controller(kube);
    await second.start();
    await second.loop.idle();
    expect(dataPlaneApplies()).toBe(applied);
    kube.put(tls("infra", "own", "own-v2"));
    await eventually("own-v2 published", () => serves(config(kube)?.text, "own-v2"));
    expect(Number(config(kube)!.generation)).toBe(Number(generation) + 1);
  });
});
