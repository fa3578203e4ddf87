/** Apply-time warnings, computed by the real engine from a snapshot of the seed scenarios. */
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import type { KubernetesObject } from "kubernetes-fluent-client";
import { translate } from "../../capabilities/engine";
import { ObjectIndex, type IndexKind } from "../../capabilities/reconcilers/index";
import {
  listenerOwnerWarnings,
  referenceGrantWarnings,
  routeWarnings,
  withObject,
} from "../../capabilities/policy/warnings";

const opts = { controllerName: "crossway.dev/gateway-controller" };

function indexFrom(file: string): ObjectIndex {
  const idx = new ObjectIndex();
  const docs = parseAllDocuments(readFileSync(new URL(`./testdata/${file}`, import.meta.url), "utf8"));
  docs.forEach((d, i) => {
    const o = d.toJS() as KubernetesObject;
    o.metadata = { uid: `uid-${i}`, resourceVersion: "1", ...o.metadata };
    idx.upsert(o.kind as IndexKind, o);
  });
  return idx;
}

const hrRoute = (ns = "hr") => ({
  apiVersion: "gateway.networking.k8s.io/v1",
  kind: "HTTPRoute",
  metadata: { name: "hr", namespace: ns, generation: 1 },
  spec: {
    parentRefs: [{ name: "shared-gateway", namespace: "infra-ns" }],
    rules: [{ matches: [{ path: { type: "PathPrefix", value: "/hr" } }], backendRefs: [{ name: "hr", port: 9080 }] }],
  },
});

describe("admission warnings", () => {
  const acme = indexFrom("acme.yaml");

  it("a route from a namespace the listener's selector excludes names the listener and the selector", () => {
    const w = routeWarnings("HTTPRoute", hrRoute(), acme.snapshot(), translate, opts);
    expect(w).toHaveLength(1);
    expect(w[0]).toContain("NotAllowedByListeners");
    expect(w[0]).toContain("Gateway infra-ns/shared-gateway");
    expect(w[0]).toContain('listener "shared-http"');
    expect(w[0]).toContain("shared-gateway-access");
    expect(w[0]).toContain('namespace "hr"');
  });

  it("an attachable route with resolvable backends gets no warning", () => {
    const route = {
      ...hrRoute("careers"),
      spec: { ...hrRoute().spec, rules: [{ backendRefs: [{ name: "careers", port: 9080 }] }] },
    };
    expect(routeWarnings("HTTPRoute", route, acme.snapshot(), translate, opts)).toEqual([]);
  });

  it("a cross-namespace backend without a ReferenceGrant names the rule and the missing grant", () => {
    const route = {
      ...hrRoute("careers"),
      spec: {
        parentRefs: hrRoute().spec.parentRefs,
        rules: [{ backendRefs: [{ name: "hr", namespace: "hr", port: 9080 }] }],
      },
    };
    const w = routeWarnings("HTTPRoute", route, acme.snapshot(), translate, opts);
    expect(w).toHaveLength(1);
    expect(w[0]).toContain("ResolvedRefs=False (RefNotPermitted)");
    expect(w[0]).toContain('no ReferenceGrant in namespace "hr"');
  });

  it("a route whose parent is not ours gets no warning from crossway", () => {
    const route = {
      ...hrRoute(),
      spec: { ...hrRoute().spec, parentRefs: [{ name: "someone-elses", namespace: "infra-ns" }] },
    };
    const w = routeWarnings("HTTPRoute", route, acme.snapshot(), translate, opts);
    expect(w.every((x) => !x.includes("NotAllowedByListeners"))).toBe(true);
  });

  it("a Gateway edit that narrows allowedRoutes lists the routes it would detach", () => {
    const gw = acme.get("Gateway", "infra-ns", "shared-gateway")!;
    const narrowed = JSON.parse(JSON.stringify(gw));
    narrowed.spec.listeners[0].allowedRoutes = { namespaces: { from: "Same" } };
    const w = listenerOwnerWarnings("Gateway", narrowed, acme.snapshot(), translate, opts);
    expect(w).toContainEqual(
      expect.stringContaining(
        "detaches 2 route(s) from Gateway infra-ns/shared-gateway: HTTPRoute careers/careers, HTTPRoute product/product",
      ),
    );
  });

  it("a Gateway with an unsupported listener protocol is warned about, naming the listener", () => {
    const gw = JSON.parse(JSON.stringify(acme.get("Gateway", "infra-ns", "shared-gateway")!));
    gw.spec.listeners.push({ name: "udp", port: 5353, protocol: "UDP" });
    const w = listenerOwnerWarnings("Gateway", gw, acme.snapshot(), translate, opts);
    expect(w.some((x) => x.includes("listener udp") && x.includes("UnsupportedProtocol"))).toBe(true);
  });

  it("a ReferenceGrant that can never be used says why", () => {
    const grant = {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "ReferenceGrant",
      metadata: { name: "g", namespace: "hr" },
      spec: {
        from: [{ group: "gateway.networking.k8s.io", kind: "HTTPRoute", namespace: "nope" }],
        to: [
          { group: "", kind: "Service", name: "missing" },
          { group: "apps", kind: "Deployment" },
        ],
      },
    };
    const w = referenceGrantWarnings(grant, acme.snapshot());
    expect(w).toEqual([
      'crossway: from namespace "nope" does not exist (yet)',
      'crossway: to Service "missing": no Service of that name in namespace "hr" (yet)',
      "crossway: to apps/Deployment is never used: crossway resolves only core Services (backendRefs) and Secrets (certificateRefs)",
    ]);
    const good = {
      ...grant,
      spec: {
        from: [{ group: "gateway.networking.k8s.io", kind: "HTTPRoute", namespace: "careers" }],
        to: [{ group: "", kind: "Service", name: "hr" }],
      },
    };
    expect(referenceGrantWarnings(good, acme.snapshot())).toEqual([]);
  });
});

/** A route on the ACME shared Gateway with one hostname. */
const hostRoute = (kind: "HTTPRoute" | "GRPCRoute", ns: string, name: string, host: string, created: string) =>
  ({
    apiVersion: "gateway.networking.k8s.io/v1",
    kind,
    // as the API server stores it (a string; the client types say Date)
    metadata: { name, namespace: ns, generation: 1, uid: `uid-${kind}-${ns}-${name}`, creationTimestamp: created },
    spec: {
      parentRefs: [{ name: "shared-gateway", namespace: "infra-ns" }],
      hostnames: [host],
      rules: [{ backendRefs: [{ name: ns, port: 9080 }] }],
    },
  }) as unknown as KubernetesObject;

/** What the controller writes for the same snapshot: every bad condition of `kind ns/name`'s parents, as one line each. */
function writtenStatus(snapshot: ReturnType<ObjectIndex["snapshot"]>, kind: string, ns: string, name: string) {
  const st = translate(snapshot, opts).statuses.find((s) => s.kind === kind && s.namespace === ns && s.name === name);
  const parents = (st?.status.parents ?? []) as {
    parentRef: { name: string; namespace?: string };
    conditions: { type: string; status: string; reason: string; message: string }[];
  }[];
  return parents.flatMap((p) =>
    p.conditions
      .filter((c) => c.type !== "Programmed" && c.status === "False")
      .map(
        (c) =>
          `parent Gateway ${p.parentRef.namespace ?? ns}/${p.parentRef.name}: ${c.type}=${c.status} (${c.reason}): ${c.message}`,
      ),
  );
}

describe("admission warnings from the full snapshot (conflicts with other routes)", () => {
  /** ACME with its routes on their own hostnames (a route without hostnames claims them all). */
  const acmeWithHostnames = () => {
    const idx = indexFrom("acme.yaml");
    for (const ns of ["careers", "product", "hr"]) {
      const r = JSON.parse(JSON.stringify(idx.get("HTTPRoute", ns, ns)));
      r.spec.hostnames = [`${ns}.acme.example`];
      r.metadata.resourceVersion = "2"; // the index keeps the newest resourceVersion
      idx.upsert("HTTPRoute", r);
    }
    return idx;
  };
  const withGrpc = () => {
    const idx = acmeWithHostnames();
    idx.upsert("GRPCRoute", hostRoute("GRPCRoute", "careers", "api-grpc", "api.acme.example", "2024-03-01T11:00:00Z"));
    return idx;
  };

  it("an HTTPRoute admitted while a GRPCRoute holds its hostname names the conflict exactly as the status will", () => {
    const idx = withGrpc();
    const route = hostRoute("HTTPRoute", "product", "api-http", "api.acme.example", "2024-03-02T00:00:00Z");
    const w = routeWarnings("HTTPRoute", route, idx.snapshot(), translate, opts);
    const status = writtenStatus(
      withObject(idx.snapshot(), "httpRoutes", route as never),
      "HTTPRoute",
      "product",
      "api-http",
    );
    expect(status).toHaveLength(1);
    expect(status[0]).toContain("already serves GRPCRoute careers/api-grpc on an intersecting hostname");
    expect(w).toEqual([`crossway: ${status[0]}`]);
  });

  it("a GRPCRoute admitted while an HTTPRoute holds a covering wildcard is warned about the same way", () => {
    const idx = acmeWithHostnames();
    idx.upsert("HTTPRoute", hostRoute("HTTPRoute", "careers", "wild", "*.acme.example", "2024-03-01T11:00:00Z"));
    const route = hostRoute("GRPCRoute", "product", "api-grpc", "api.acme.example", "2024-03-02T00:00:00Z");
    const w = routeWarnings("GRPCRoute", route, idx.snapshot(), translate, opts);
    const status = writtenStatus(
      withObject(idx.snapshot(), "grpcRoutes", route as never),
      "GRPCRoute",
      "product",
      "api-grpc",
    );
    expect(status[0]).toContain("Accepted=False (NotAllowedByListeners)");
    expect(status[0]).toContain("already serves HTTPRoute careers/wild");
    expect(w).toEqual([`crossway: ${status[0]}`]);
  });

  it("an edit that takes a hostname from a newer route of the other kind names that route and its new status", () => {
    const idx = withGrpc();
    // careers/careers (2024-03-01T10:00:00Z) is older than the GRPCRoute: adding the hostname wins it.
    const careers = JSON.parse(JSON.stringify(idx.get("HTTPRoute", "careers", "careers")));
    careers.spec.hostnames = ["api.acme.example"];
    const w = routeWarnings("HTTPRoute", careers, idx.snapshot(), translate, opts);
    const after = withObject(idx.snapshot(), "httpRoutes", careers);
    const status = writtenStatus(after, "GRPCRoute", "careers", "api-grpc");
    expect(status).toHaveLength(1);
    expect(status[0]).toContain("already serves HTTPRoute careers/careers");
    expect(w).toEqual([`crossway: this change affects GRPCRoute careers/api-grpc: ${status[0]}`]);
    // the route itself is fine, and before the edit the GRPCRoute had nothing to warn about
    expect(writtenStatus(after, "HTTPRoute", "careers", "careers")).toEqual([]);
    expect(writtenStatus(idx.snapshot(), "GRPCRoute", "careers", "api-grpc")).toEqual([]);
  });

  it("routes of one kind sharing a hostname do not conflict, and unrelated routes are never named", () => {
    const idx = withGrpc();
    const route = hostRoute("GRPCRoute", "product", "api-grpc-2", "api.acme.example", "2024-03-02T00:00:00Z");
    expect(routeWarnings("GRPCRoute", route, idx.snapshot(), translate, opts)).toEqual([]);
  });

  it("a ReferenceGrant edit that strands a backendRef names the route and its new ResolvedRefs", () => {
    const idx = indexFrom("acme.yaml");
    const route = {
      ...hrRoute("careers"),
      metadata: { name: "cross", namespace: "careers", generation: 1, uid: "uid-cross" },
      spec: {
        parentRefs: hrRoute().spec.parentRefs,
        rules: [{ backendRefs: [{ name: "hr", namespace: "hr", port: 9080 }] }],
      },
    };
    idx.upsert("HTTPRoute", route);
    const grant = {
      apiVersion: "gateway.networking.k8s.io/v1beta1",
      kind: "ReferenceGrant",
      metadata: { name: "careers-to-hr", namespace: "hr", uid: "uid-grant", resourceVersion: "1" },
      spec: {
        from: [{ group: "gateway.networking.k8s.io", kind: "HTTPRoute", namespace: "careers" }],
        to: [{ group: "", kind: "Service" }],
      },
    };
    idx.upsert("ReferenceGrant", grant);
    expect(writtenStatus(idx.snapshot(), "HTTPRoute", "careers", "cross")).toEqual([]);
    const narrowed = { ...grant, spec: { ...grant.spec, to: [{ group: "", kind: "Service", name: "other" }] } };
    const w = referenceGrantWarnings(narrowed, idx.snapshot(), translate, opts);
    const status = writtenStatus(
      withObject(idx.snapshot(), "referenceGrants", narrowed),
      "HTTPRoute",
      "careers",
      "cross",
    );
    expect(status[0]).toContain("ResolvedRefs=False (RefNotPermitted)");
    expect(w).toContain(`crossway: this change affects HTTPRoute careers/cross: ${status[0]}`);
  });
});
