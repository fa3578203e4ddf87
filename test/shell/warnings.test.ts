/** Apply-time warnings, computed by the real engine from a snapshot of the seed scenarios. */
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import type { KubernetesObject } from "kubernetes-fluent-client";
import { translate } from "../../capabilities/engine";
import { ObjectIndex, type IndexKind } from "../../capabilities/reconcilers/index";
import { listenerOwnerWarnings, referenceGrantWarnings, routeWarnings } from "../../capabilities/policy/warnings";

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
