/**
 * The three user walkthroughs, replayed against the engine with the very manifests the demo and
 * end-to-end tests apply (examples/*.yaml), step by step like `kubectl apply` / `kubectl patch`.
 * Asserts what the user sees: route conditions (kubectl get httproute -o yaml) and what the
 * data plane will serve (IR paths and weighted backends).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { translate, type ClusterSnapshot, type TranslateResult } from "../../capabilities/engine";
import { CONTROLLER_NAME } from "../../capabilities/dataplane/conventions";
import { emptySnapshot, LIST_FOR_KIND } from "./fixtures";

type Obj = Record<string, any>;

/** `kubectl apply -f` for each file, in order (same kind/namespace/name replaces). */
function apply(snapshot: ClusterSnapshot, ...files: string[]): ClusterSnapshot {
  const s = structuredClone(snapshot);
  for (const f of files) {
    for (const doc of parseAllDocuments(readFileSync(join(process.cwd(), "examples", f), "utf8"))) {
      const o = doc.toJS() as Obj | null;
      const field = o && LIST_FOR_KIND[o.kind];
      if (!field) continue; // Deployments etc.: not engine input
      const list = s[field] as Obj[];
      const i = list.findIndex(
        (x) => x.metadata.name === o.metadata.name && x.metadata.namespace === o.metadata.namespace,
      );
      o.metadata.generation ??= 1;
      if (i >= 0) list[i] = o;
      else list.push(o);
    }
  }
  return s;
}

const run = (s: ClusterSnapshot) => translate(s, { controllerName: CONTROLLER_NAME });

function routeParent(r: TranslateResult, ns: string, name: string) {
  const st = r.statuses.find((x) => x.kind === "HTTPRoute" && x.namespace === ns && x.name === name);
  const parents = (st?.status.parents ?? []) as Obj[];
  expect(parents).toHaveLength(1);
  const cond = (type: string) => parents[0].conditions.find((c: Obj) => c.type === type);
  return { accepted: cond("Accepted"), resolvedRefs: cond("ResolvedRefs"), controllerName: parents[0].controllerName };
}

/** path prefix → [backend kind, weight] for everything the Gateway serves. */
function served(r: TranslateResult, gwNs: string, gwName: string): Record<string, [string, number][]> {
  const gw = r.ir.find((g) => g.gateway.namespace === gwNs && g.gateway.name === gwName);
  const out: Record<string, [string, number][]> = {};
  for (const p of gw?.ports ?? [])
    for (const l of p.listeners)
      for (const vh of l.virtualHosts)
        for (const rule of vh.rules)
          out[rule.match.path?.value ?? "*"] = rule.backends.map((b) => [
            b.kind === "service" ? `${b.service.namespace}/${b.service.name}` : `invalid:${b.reason}`,
            b.weight,
          ]);
  return out;
}

const base = apply(emptySnapshot(), "gatewayclass.yaml");

test("seed 000 (ACME): careers and product attach through the selector; hr gets a 404 and says why", () => {
  const r = run(apply(base, "seed-000-acme.yaml"));
  for (const ns of ["careers", "product"]) {
    const p = routeParent(r, ns, `${ns}-route`);
    expect(p.controllerName).toBe(CONTROLLER_NAME);
    expect([p.accepted.status, p.accepted.reason]).toEqual(["True", "Accepted"]);
  }
  const hr = routeParent(r, "hr", "hr-route");
  expect([hr.accepted.status, hr.accepted.reason]).toEqual(["False", "NotAllowedByListeners"]);
  expect(hr.accepted.message).toContain(
    'namespace "hr" is not allowed by listener "shared-http" of Gateway infra-ns/shared-gateway: it does not match selector shared-gateway-access=true',
  );
  expect(Object.keys(served(r, "infra-ns", "shared-gateway")).sort()).toEqual(["/careers", "/product"]);
});

test("seed 001 (fruits): no grants → RefNotPermitted and 500 for 70/30; grants → 70/30 to the Services", () => {
  const before = run(apply(base, "seed-001-fruits.yaml"));
  const p = routeParent(before, "infra", "fruits");
  expect([p.accepted.status, p.resolvedRefs.status, p.resolvedRefs.reason]).toEqual([
    "True",
    "False",
    "RefNotPermitted",
  ]);
  expect(served(before, "infra", "kong")["/fruits"]).toEqual([
    ["invalid:RefNotPermitted", 70],
    ["invalid:RefNotPermitted", 30],
  ]);

  const after = run(apply(base, "seed-001-fruits.yaml", "seed-001-grants.yaml"));
  expect(routeParent(after, "infra", "fruits").resolvedRefs.status).toBe("True");
  expect(served(after, "infra", "kong")["/fruits"]).toEqual([
    ["bananas/banana-echo", 70],
    ["apples/apple-echo", 30],
  ]);
});

test("seed 001 (teams): routes in apples/bananas are refused by default and attach once allowedRoutes permits", () => {
  const before = run(apply(base, "seed-001-fruits.yaml", "seed-001-teams.yaml"));
  for (const ns of ["apples", "bananas"]) {
    const p = routeParent(before, ns, ns);
    expect([p.accepted.status, p.accepted.reason]).toEqual(["False", "NotAllowedByListeners"]);
    expect(p.accepted.message).toContain(`it only allows routes from its own namespace "infra"`);
  }
  const after = run(apply(base, "seed-001-fruits.yaml", "seed-001-teams.yaml", "seed-001-allow-teams.yaml"));
  for (const ns of ["apples", "bananas"]) expect(routeParent(after, ns, ns).accepted.status).toBe("True");
  const gw = after.statuses.find((x) => x.kind === "Gateway" && x.name === "kong")!;
  expect((gw.status.listeners as Obj[])[0].attachedRoutes).toBe(3); // fruits, apples, bananas
});

test("seed 002 (Kong docs): test-source → test-destination once the Gateway allows routes from All", () => {
  const same = apply(base, "seed-002-kong.yaml");
  const before = run(same);
  expect(routeParent(before, "test-source", "echo").accepted.reason).toBe("NotAllowedByListeners");
  expect(served(before, "default", "kong")).toEqual({});

  // kubectl patch --type=json gateways kong -p='[{"op":"replace","path":"/spec/listeners/0/allowedRoutes/namespaces/from","value":"All"}]'
  const patched = structuredClone(same);
  (patched.gateways[0] as Obj).spec.listeners[0].allowedRoutes.namespaces.from = "All";
  const after = run(patched);
  const p = routeParent(after, "test-source", "echo");
  expect([p.accepted.status, p.resolvedRefs.status]).toEqual(["True", "True"]);
  expect(served(after, "default", "kong")["/echo"]).toEqual([["test-destination/echo", 1]]);
});
