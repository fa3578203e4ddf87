/**
 * The engine against unmodified upstream conformance manifests (test/engine/conformance/, from
 * sigs.k8s.io/gateway-api/conformance v1.6.1), asserting the status expectations of the matching
 * upstream Go tests. The suite creates some TLS Secrets at runtime; they are synthesised here.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { translate, type TranslateResult } from "../../capabilities/engine";
import { CONTROLLER_NAME } from "../../capabilities/dataplane/conventions";
import { emptySnapshot, LIST_FOR_KIND } from "./fixtures";

type Obj = Record<string, any>;

const DIR = join(process.cwd(), "test/engine/conformance");
const INFRA = "gateway-conformance-infra";
const pem = (kind: string) => Buffer.from(`-----BEGIN ${kind}-----\nMIIB\n-----END ${kind}-----\n`).toString("base64");

function run(...tests: string[]): TranslateResult {
  const s = emptySnapshot();
  s.gatewayClasses.push({ metadata: { name: "crossway", generation: 1 }, spec: { controllerName: CONTROLLER_NAME } });
  s.secrets.push({
    metadata: { name: "tls-validity-checks-certificate", namespace: INFRA },
    type: "kubernetes.io/tls",
    data: { "tls.crt": pem("CERTIFICATE"), "tls.key": pem("PRIVATE KEY") },
  });
  let second = 0;
  for (const f of ["base-manifests.yaml", ...tests.map((t) => `${t}.yaml`)]) {
    const text = readFileSync(join(DIR, f), "utf8").replaceAll("{GATEWAY_CLASS_NAME}", "crossway");
    for (const doc of parseAllDocuments(text)) {
      const o = doc.toJS() as Obj | null;
      const field = o && LIST_FOR_KIND[o.kind];
      if (!field) continue;
      o.metadata.generation ??= 1;
      // kubectl apply order: one second apart, in file order
      o.metadata.creationTimestamp ??= `2024-01-01T00:${String(Math.floor(second / 60)).padStart(2, "0")}:${String(second++ % 60).padStart(2, "0")}Z`;
      (s[field] as Obj[]).push(o);
    }
  }
  return translate(s, { controllerName: CONTROLLER_NAME });
}

const statusOf = (r: TranslateResult, kind: string, name: string, ns = INFRA) => {
  const st = r.statuses.find((x) => x.kind === kind && x.name === name && x.namespace === ns);
  expect(st).toBeDefined();
  return st!.status as Obj;
};
const cond = (conds: Obj[], type: string) => conds.find((c) => c.type === type);
/** [status, reason] of each condition type, for compact comparisons. */
const sr = (conds: Obj[], ...types: string[]) => types.map((t) => [cond(conds, t)?.status, cond(conds, t)?.reason]);
const listener = (st: Obj, name: string) => (st.listeners as Obj[]).find((l) => l.name === name)!;

describe("upstream conformance expectations (status only)", () => {
  test("GatewayInvalidRouteKind", () => {
    const r = run("gateway-invalid-route-kind");
    const only = listener(statusOf(r, "Gateway", "gateway-only-invalid-route-kind"), "http");
    expect(only.supportedKinds).toEqual([]);
    expect(sr(only.conditions, "ResolvedRefs")).toEqual([["False", "InvalidRouteKinds"]]);
    expect(only.attachedRoutes).toBe(0);
    const mixedGw = statusOf(r, "Gateway", "gateway-supported-and-invalid-route-kind");
    const mixed = listener(mixedGw, "http");
    expect(mixed.supportedKinds).toContainEqual({ group: "gateway.networking.k8s.io", kind: "HTTPRoute" });
    expect(sr(mixed.conditions, "ResolvedRefs")).toEqual([["False", "InvalidRouteKinds"]]);
    // not a wantErr Gateway upstream: it must be programmed
    expect(sr(mixedGw.conditions, "Programmed")).toEqual([["True", "Programmed"]]);
  });

  test("GatewayInvalidListenersUnsupportedProtocol", () => {
    const r = run("gateway-invalid-listeners-unsupported-protocol");
    const only = statusOf(r, "Gateway", "gateway-only-unsupported-protocols");
    expect(sr(only.conditions, "Accepted")).toEqual([["False", "ListenersNotValid"]]);
    expect(listener(only, "invalid").supportedKinds).toEqual([]);
    expect(sr(listener(only, "invalid").conditions, "Accepted")).toEqual([["False", "UnsupportedProtocol"]]);
    const mixed = statusOf(r, "Gateway", "gateway-supported-and-unsupported-protocols");
    expect(sr(mixed.conditions, "Accepted")).toEqual([["True", "ListenersNotValid"]]);
    expect(sr(listener(mixed, "http").conditions, "Accepted")).toEqual([["True", "Accepted"]]);
    expect(sr(listener(mixed, "invalid").conditions, "Accepted")).toEqual([["False", "UnsupportedProtocol"]]);
  });

  test("GatewayInvalidTLSConfiguration", () => {
    const r = run("gateway-invalid-tls-configuration");
    for (const gw of [
      "gateway-certificate-nonexistent-secret",
      "gateway-certificate-unsupported-group",
      "gateway-certificate-unsupported-kind",
      "gateway-certificate-malformed-secret",
    ]) {
      const l = listener(statusOf(r, "Gateway", gw), "https");
      expect([gw, sr(l.conditions, "ResolvedRefs")]).toEqual([gw, [["False", "InvalidCertificateRef"]]]);
      expect(r.ir.some((g) => g.gateway.name === gw)).toBe(false);
    }
  });

  test("GatewayWithAttachedRoutes", () => {
    const r = run("gateway-with-attached-routes");
    expect(listener(statusOf(r, "Gateway", "gateway-with-one-attached-route"), "http").attachedRoutes).toBe(1);
    expect(listener(statusOf(r, "Gateway", "gateway-with-two-attached-routes"), "http").attachedRoutes).toBe(2);
    const notAccepted = statusOf(r, "HTTPRoute", "http-route-not-accepted").parents[0].conditions;
    expect(sr(notAccepted, "Accepted")).toEqual([["False", "NoMatchingListenerHostname"]]);
    // a listener whose certificateRef does not resolve still counts its attached routes
    const unresolved = listener(statusOf(r, "Gateway", "unresolved-gateway-with-one-attached-unresolved-route"), "tls");
    expect(unresolved.attachedRoutes).toBe(1);
    expect(sr(unresolved.conditions, "Programmed", "ResolvedRefs").map(([s]) => s)).toEqual(["False", "False"]);
    expect(cond(statusOf(r, "HTTPRoute", "http-route-4").parents[0].conditions, "ResolvedRefs")?.status).toBe("False");
  });

  test("HTTPRouteDisallowedKind", () => {
    const r = run("httproute-disallowed-kind");
    const p = statusOf(r, "HTTPRoute", "disallowed-kind").parents[0];
    expect(sr(p.conditions, "Accepted")).toEqual([["False", "NotAllowedByListeners"]]);
  });

  test("ListenerSetAllowedRoutesSupportedKinds", () => {
    const r = run("listenerset-allowed-routes-supported-kinds");
    expect(
      sr(statusOf(r, "Gateway", "gateway-with-listener-sets-test-supported-route-kinds").conditions, "Accepted")[0][0],
    ).toBe("True");
    const ls = statusOf(r, "ListenerSet", "listenerset-test-allowed-routes-supported-kinds");
    const l = listener(ls, "listener-set-listener-allowed-routes-tls-only");
    expect(sr(l.conditions, "ResolvedRefs")).toEqual([["False", "InvalidRouteKinds"]]);
  });

  const conflicted = (reason: string) => [
    ["False", reason],
    ["False", reason],
    ["True", reason],
  ];
  const fine = [["True"], ["True"], ["True"]];
  const firstOf = (rows: unknown[][]) => rows.map((row) => [row[0]]);

  test.each([
    ["ListenerSetHostnameConflict", "listenerset-hostname-conflict", "hostname", "HostnameConflict"],
    ["ListenerSetProtocolConflict", "listenerset-protocol-conflict", "protocol", "ProtocolConflict"],
  ])("%s", (_name, file, what, reason) => {
    const r = run(file);
    const gw = statusOf(r, "Gateway", `gateway-with-listenerset-${what}-conflict`);
    expect(sr(gw.conditions, "Accepted")[0][0]).toBe("True");
    for (const l of ["gateway-listener", `${what}-conflict-with-gateway-listener`]) {
      expect([l, firstOf(sr(listener(gw, l).conditions, "ResolvedRefs", "Accepted", "Programmed"))]).toEqual([l, fine]);
    }
    expect(gw.attachedListenerSets).toBe(2);
    const ls = (n: string) => statusOf(r, "ListenerSet", `listenerset-with-${what}-conflict-with-${n}`);
    const check = (n: string, l: string, want: unknown) =>
      expect([n, l, sr(listener(ls(n), l).conditions, "Accepted", "Programmed", "Conflicted")]).toEqual([n, l, want]);
    // accepted: they keep at least one valid listener
    for (const n of ["gateway-1", "listener-set-1"]) {
      expect(sr(ls(n).conditions, "Accepted", "Programmed").map(([s]) => s)).toEqual(["True", "True"]);
      expect(cond(ls(n).conditions, "Programmed")?.reason).toBe("Programmed");
    }
    for (const n of ["gateway-2", "listener-set-2"]) {
      expect(sr(ls(n).conditions, "Accepted", "Programmed")).toEqual([
        ["False", "ListenersNotValid"],
        ["False", "ListenersNotValid"],
      ]);
    }
    check("gateway-1", `${what}-conflict-with-gateway-listener`, conflicted(reason));
    check("gateway-2", `${what}-conflict-with-gateway-listener`, conflicted(reason));
    check("listener-set-1", `${what}-conflict-with-listener-set-listener`, conflicted(reason));
    check("listener-set-2", `${what}-conflict-with-listener-set-listener`, conflicted(reason));
    // the first of the conflicting ListenerSet listeners wins (listener precedence)
    expect(
      firstOf(
        sr(
          listener(ls("gateway-1"), `${what}-conflict-with-listener-set-listener`).conditions,
          "Accepted",
          "Programmed",
        ),
      ),
    ).toEqual([["True"], ["True"]]);
    expect(
      firstOf(sr(listener(ls("gateway-1"), "listener-set-1-listener").conditions, "Accepted", "Programmed")),
    ).toEqual([["True"], ["True"]]);
    expect(
      firstOf(sr(listener(ls("listener-set-1"), "listener-set-2-listener").conditions, "Accepted", "Programmed")),
    ).toEqual([["True"], ["True"]]);
  });
});
