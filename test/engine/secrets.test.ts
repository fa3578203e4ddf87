/**
 * secretsToRead: the Secrets the controller fetches by name are exactly the certificateRefs the
 * engine may use — same namespace, or opened by a ReferenceGrant for that kind and namespace — of
 * our Gateways and the ListenerSets naming them. Checked case by case, and against translate()
 * itself on every golden scenario: giving the engine only these Secrets never changes its output.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { secretsToRead, translate, type ClusterSnapshot } from "../../capabilities/engine";
import { CONTROLLER_NAME } from "../../capabilities/dataplane/conventions";
import { emptySnapshot, loadFixture } from "./fixtures";

const CLASS = { apiVersion: "gateway.networking.k8s.io/v1", kind: "GatewayClass", metadata: { name: "ours" } };
const ours = { ...CLASS, spec: { controllerName: CONTROLLER_NAME } };
const theirs = { ...CLASS, metadata: { name: "theirs" }, spec: { controllerName: "example.com/other" } };

type Ref = { name: string; namespace?: string; kind?: string; group?: string };
const https = (name: string, refs: Ref[], extra: object = {}) => ({
  name,
  port: 443,
  protocol: "HTTPS",
  hostname: `${name}.example.com`,
  tls: { certificateRefs: refs },
  ...extra,
});

const gateway = (ns: string, name: string, listeners: object[], cls = "ours") => ({
  apiVersion: "gateway.networking.k8s.io/v1",
  kind: "Gateway",
  metadata: { namespace: ns, name },
  spec: { gatewayClassName: cls, listeners },
});

const grant = (ns: string, from: { kind: string; namespace: string }, to: { name?: string } = {}) => ({
  apiVersion: "gateway.networking.k8s.io/v1",
  kind: "ReferenceGrant",
  metadata: { namespace: ns, name: `to-${ns}-from-${from.namespace}-${from.kind}` },
  spec: {
    from: [{ group: "gateway.networking.k8s.io", ...from }],
    to: [{ group: "", kind: "Secret", ...to }],
  },
});

const snap = (parts: Partial<ClusterSnapshot>): ClusterSnapshot =>
  ({ ...emptySnapshot(), gatewayClasses: [ours, theirs], ...parts }) as ClusterSnapshot;

const names = (s: ClusterSnapshot) => secretsToRead(s, CONTROLLER_NAME).map((r) => `${r.namespace}/${r.name}`);

describe("secretsToRead", () => {
  it("a certificateRef in the Gateway's own namespace is read", () => {
    expect(names(snap({ gateways: [gateway("infra", "gw", [https("a", [{ name: "cert" }])])] } as never))).toEqual([
      "infra/cert",
    ]);
  });

  it("a cross-namespace ref is read only when a ReferenceGrant there permits it", () => {
    const gw = gateway("infra", "gw", [https("a", [{ name: "wild", namespace: "certs" }])]);
    expect(names(snap({ gateways: [gw] } as never))).toEqual([]);
    const permit = grant("certs", { kind: "Gateway", namespace: "infra" });
    expect(names(snap({ gateways: [gw], referenceGrants: [permit] } as never))).toEqual(["certs/wild"]);
  });

  it("a grant for another namespace, another kind, another Secret name, or in the wrong namespace permits nothing", () => {
    const gw = gateway("infra", "gw", [https("a", [{ name: "wild", namespace: "certs" }])]);
    for (const g of [
      grant("certs", { kind: "Gateway", namespace: "elsewhere" }),
      grant("certs", { kind: "ListenerSet", namespace: "infra" }),
      grant("certs", { kind: "Gateway", namespace: "infra" }, { name: "other" }),
      grant("infra", { kind: "Gateway", namespace: "infra" }),
    ])
      expect(names(snap({ gateways: [gw], referenceGrants: [g] } as never))).toEqual([]);
    const named = grant("certs", { kind: "Gateway", namespace: "infra" }, { name: "wild" });
    expect(names(snap({ gateways: [gw], referenceGrants: [named] } as never))).toEqual(["certs/wild"]);
  });

  it("removing the grant drops the Secret from the set", () => {
    const gw = gateway("infra", "gw", [https("a", [{ name: "wild", namespace: "certs" }, { name: "own" }])]);
    const permit = grant("certs", { kind: "Gateway", namespace: "infra" });
    expect(names(snap({ gateways: [gw], referenceGrants: [permit] } as never))).toEqual(["certs/wild", "infra/own"]);
    // resolution stops at the first ref it refuses, so the listener's later refs are not read either
    expect(names(snap({ gateways: [gw], referenceGrants: [] } as never))).toEqual([]);
  });

  it("only HTTPS listeners that terminate TLS, only Gateways of our classes", () => {
    const refs = [{ name: "cert" }];
    const s = snap({
      gateways: [
        gateway("a", "http", [{ name: "h", port: 80, protocol: "HTTP", tls: { certificateRefs: refs } }]),
        gateway("b", "passthrough", [https("p", refs, { tls: { mode: "Passthrough", certificateRefs: refs } })]),
        gateway("c", "tls", [{ name: "t", port: 443, protocol: "TLS", tls: { certificateRefs: refs } }]),
        gateway("d", "foreign", [https("f", refs)], "theirs"),
        gateway("e", "no-class", [https("n", refs)], "missing"),
        gateway("f", "mine", [https("m", refs)]),
      ],
    } as never);
    expect(names(s)).toEqual(["f/cert"]);
    expect(secretsToRead(s, "")).toEqual([]);
  });

  it("refs of other kinds or groups are never read, and stop the listener's resolution", () => {
    const gw = gateway("infra", "gw", [
      https("cm", [{ kind: "ConfigMap", name: "x" }, { name: "after-configmap" }]),
      https("grp", [{ group: "example.com", kind: "Secret", name: "y" }]),
      https("ok", [{ kind: "Secret", group: "", name: "z" }]),
    ]);
    expect(names(snap({ gateways: [gw] } as never))).toEqual(["infra/z"]);
  });

  it("ListenerSets: their own namespace, or a grant from kind ListenerSet; only when the parent Gateway is ours", () => {
    const listenerSet = (ns: string, name: string, parent: string, refs: Ref[]) => ({
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "ListenerSet",
      metadata: { namespace: ns, name },
      spec: { parentRef: { name: parent, namespace: "infra" }, listeners: [https(name, refs)] },
    });
    const s = (grants: object[]) =>
      snap({
        gateways: [gateway("infra", "gw", []), gateway("infra", "foreign", [], "theirs")],
        listenerSets: [
          listenerSet("team", "own", "gw", [{ name: "team-cert" }]),
          listenerSet("team", "cross", "gw", [{ name: "shared", namespace: "certs" }]),
          listenerSet("team", "on-foreign", "foreign", [{ name: "foreign-cert" }]),
        ],
        referenceGrants: grants,
      } as never);
    expect(names(s([grant("certs", { kind: "Gateway", namespace: "team" })]))).toEqual(["team/team-cert"]);
    expect(names(s([grant("certs", { kind: "ListenerSet", namespace: "team" })]))).toEqual([
      "certs/shared",
      "team/team-cert",
    ]);
  });

  it("tolerates odd input", () => {
    const odd = {
      ...emptySnapshot(),
      gatewayClasses: [ours, null],
      gateways: [
        null,
        { metadata: {}, spec: { gatewayClassName: "ours", listeners: [null, { protocol: "HTTPS" }] } },
        gateway("x", "y", [https("a", [null as never, { name: "c" }])]),
      ],
      listenerSets: [{ spec: {} }, null],
      referenceGrants: [{ spec: { from: null, to: [null] } }],
    } as never;
    expect(() => secretsToRead(odd, CONTROLLER_NAME)).not.toThrow();
    expect(secretsToRead(odd, CONTROLLER_NAME)).toEqual([{ namespace: "x", name: "c" }]);
  });

  const DIR = join(process.cwd(), "test/engine/testdata");
  const scenarios = readdirSync(DIR)
    .filter((f) => f.endsWith(".in.yaml"))
    .sort();
  test.each(scenarios)("%s: the engine given only these Secrets says exactly what it says given all", (file) => {
    const { snapshot, options } = loadFixture(join(DIR, file));
    const read = new Set(secretsToRead(snapshot, options.controllerName).map((r) => `${r.namespace}/${r.name}`));
    const only = snapshot.secrets.filter((s) => read.has(`${s.metadata?.namespace}/${s.metadata?.name}`));
    expect(translate({ ...snapshot, secrets: only }, options)).toEqual(translate(snapshot, options));
  });

  it("the golden scenarios hold Secrets the engine must not read (so the check above can fail)", () => {
    const { snapshot, options } = loadFixture(join(DIR, "gateway-https-certificates.in.yaml"));
    const read = secretsToRead(snapshot, options.controllerName).map((r) => `${r.namespace}/${r.name}`);
    expect(read).toContain("certs/wildcard");
    expect(read).not.toContain("dev/not-granted");
    expect(snapshot.secrets.map((s) => `${s.metadata?.namespace}/${s.metadata?.name}`)).toContain("dev/not-granted");
  });
});
