/**
 * RouteOwnershipPolicy `admission: Deny` held by the API server itself (policy/ownership-vap.ts),
 * with no crossway module running: the index the engine computes is written as the policies'
 * parameter, and route writes are judged by the local API server (server-side dry runs, which run
 * admission). Its verdicts and sentences are compared with the engine's own (the webhook's and the
 * route status's words), on the seed-000 story and on generated cases.
 */
import { afterAll, beforeAll, describe, expect, jest, test } from "@jest/globals";
import fc from "fast-check";
import { stringify } from "yaml";
import { ensureCluster } from "../../hack/cluster/up.js";
import { KubectlError, kubectl } from "../../hack/lib/kubectl.js";
import { eventually } from "../../hack/lib/eventually.js";
import { translate, type ClusterSnapshot } from "../../capabilities/engine/index.js";
import type { OwnershipIndexSpec } from "../../capabilities/engine/graph/ownership-index.js";
import { CONTROLLER_NAME } from "../../capabilities/dataplane/conventions.js";
import { ownershipAdmissionPolicy, ownershipPolicyName } from "../../capabilities/policy/ownership-vap.js";
import { ownershipDenials } from "../../capabilities/policy/ownership-admission.js";
import { emptySnapshot } from "../engine/fixtures.js";
import { ownershipArbitraries } from "../engine/ownership-arbitraries.js";

jest.setTimeout(300_000);

const ID = `${process.pid}`;
const NS = { infra: `own-${ID}-infra`, careers: `own-${ID}-careers`, product: `own-${ID}-product`, hr: `own-${ID}-hr` };
const POLICY = `crossway-route-ownership-test-${ID}`;
const PARAM = `test-${ID}`;
const opts = { controllerName: CONTROLLER_NAME };

const yaml = (objs: object[]) => objs.map((o) => stringify(o, { lineWidth: 0 })).join("---\n");
const apply = (objs: object[]) => kubectl(["apply", "--server-side", "--force-conflicts", "-f", "-"], yaml(objs));

/** A server-side dry run of a route write: undefined when admitted, else the API server's message. */
async function verdict(route: object): Promise<string | undefined> {
  try {
    await kubectl(["create", "--dry-run=server", "-f", "-"], yaml([route]));
    return undefined;
  } catch (e) {
    if (e instanceof KubectlError) return e.stderr;
    throw e;
  }
}

/** Problem sentences of a VAP refusal (after "(admission: Deny): "). */
const sentences = (msg: string) =>
  msg
    .trim()
    .replace(/^.*\(admission: Deny\): /s, "")
    .split("; ")
    .sort();

let generation = 0;
/**
 * Write `index` as the parameter and wait until the API server judges with it: a canary listener
 * that refuses everything on a Gateway of its own, new in each generation.
 */
async function useIndex(index: OwnershipIndexSpec | undefined): Promise<void> {
  const canary = `canary-${++generation}`;
  const listeners = [
    ...(index?.listeners ?? []),
    {
      parent: { group: "gateway.networking.k8s.io", kind: "Gateway", namespace: NS.infra, name: canary },
      sectionName: "http",
      port: 80,
      hostname: "",
      desc: `canary ${canary}`,
      kinds: ["HTTPRoute"],
      from: "All",
      ownerNamespace: NS.infra,
      policy: "canary",
      denyUnclaimed: true,
      claims: [],
    },
  ];
  await apply([
    {
      apiVersion: "crossway.dev/v1alpha1",
      kind: "RouteOwnershipIndex",
      metadata: { name: PARAM },
      spec: { listeners },
    },
  ]);
  const probe = route(NS.hr, "canary", { parentRefs: [{ name: canary, namespace: NS.infra }] });
  await eventually(`the API server to judge with index generation ${generation}`, async () =>
    (await verdict(probe)) ? true : undefined,
  );
}

function route(namespace: string, name: string, spec: Record<string, unknown>, kind = "HTTPRoute") {
  return { apiVersion: "gateway.networking.k8s.io/v1", kind, metadata: { name, namespace }, spec };
}

const gatewayClass = { metadata: { name: "gc" }, spec: { controllerName: CONTROLLER_NAME } };
const gateway = (listeners: object[]) => ({
  metadata: { name: "shared", namespace: NS.infra, generation: 1 },
  spec: { gatewayClassName: "gc", listeners },
});
const policy = (spec: Record<string, unknown>) => ({
  metadata: { name: "owners", namespace: NS.infra, generation: 1, creationTimestamp: "2026-01-01T00:00:00Z" },
  spec: {
    targetRefs: [{ group: "gateway.networking.k8s.io", kind: "Gateway", name: "shared" }],
    mode: "Enforce",
    admission: "Deny",
    unclaimed: "Allow",
    ...spec,
  },
});

/** The engine's verdict on writing `r` into snapshot `s`: its refusal sentences (sorted), [] when admitted. */
function engineSentences(s: ClusterSnapshot, r: ReturnType<typeof route>): string[] {
  return engineProblems(s, r)
    .flatMap((m) => m.split("; "))
    .filter((x) => x !== "")
    .sort();
}

/** The engine's refusal messages without the route's own preamble. */
function engineProblems(s: ClusterSnapshot, r: ReturnType<typeof route>): string[] {
  const kind = r.kind as "HTTPRoute" | "GRPCRoute";
  return ownershipDenials(kind, r as never, s, translate, opts).map((m) => m.replace(/^.*?: (?=rule )/s, ""));
}

beforeAll(async () => {
  await ensureCluster();
  await kubectl(["create", "namespace", NS.infra]);
  await kubectl(["create", "namespace", NS.careers]);
  await kubectl(["create", "namespace", NS.product]);
  await kubectl(["create", "namespace", NS.hr]);
  await apply(ownershipAdmissionPolicy({ name: POLICY, paramName: PARAM }));
});

afterAll(async () => {
  await kubectl(["delete", "namespace", ...Object.values(NS), "--wait=false", "--ignore-not-found"]).catch(() => "");
  for (const resource of ["httproutes", "grpcroutes"])
    for (const kind of ["validatingadmissionpolicybinding", "validatingadmissionpolicy"])
      await kubectl(["delete", kind, ownershipPolicyName(resource, POLICY), "--ignore-not-found"]).catch(() => "");
  await kubectl(["delete", "routeownershipindex", PARAM, "--ignore-not-found"]).catch(() => "");
});

describe("route ownership at admission, enforced by the API server (no module running)", () => {
  const snapshot = (): ClusterSnapshot => {
    const s = emptySnapshot();
    s.gatewayClasses.push(gatewayClass as never);
    s.gateways.push(
      gateway([
        { name: "http", port: 80, protocol: "HTTP", allowedRoutes: { namespaces: { from: "All" } } },
        {
          name: "teams",
          port: 8080,
          protocol: "HTTP",
          hostname: "*.acme.test",
          allowedRoutes: {
            namespaces: { from: "Selector", selector: { matchLabels: { [`gateway-${ID}`]: "teams" } } },
          },
        },
      ]) as never,
    );
    for (const n of Object.values(NS)) s.namespaces.push({ metadata: { name: n } } as never);
    s.routeOwnershipPolicies!.push(
      policy({
        claims: [
          { namespaces: { names: [NS.careers] }, pathPrefixes: ["/careers"] },
          { namespaces: { names: [NS.product] }, pathPrefixes: ["/product"] },
          { namespaces: { selector: { matchLabels: { [`owner-${ID}`]: "hr" } } }, pathPrefixes: ["/hr"] },
          { namespaces: { names: [NS.careers] }, hostnames: ["jobs.acme.test"], pathPrefixes: ["/"] },
        ],
      }) as never,
    );
    return s;
  };
  const productJobs = route(NS.product, "product-jobs", {
    parentRefs: [{ name: "shared", namespace: NS.infra }],
    rules: [
      { matches: [{ path: { type: "PathPrefix", value: "/careers/jobs" } }] },
      { matches: [{ path: { type: "PathPrefix", value: "/product/catalog" } }] },
    ],
  });

  beforeAll(async () => {
    const index = translate(snapshot(), opts).ownershipIndex;
    expect(index?.listeners.map((l) => l.sectionName)).toEqual(["http", "teams"]);
    await useIndex(index);
  });

  test("product's route for /careers/jobs is refused with the engine's own sentence", async () => {
    const msg = await verdict(productJobs);
    expect(msg).toContain(`HTTPRoute ${NS.product}/product-jobs is refused by route ownership`);
    const want = engineSentences(snapshot(), productJobs);
    expect(want).toEqual([
      `rule 0 match 0 (path /careers/jobs on hostname "*") on listener "http" of Gateway ${NS.infra}/shared is claimed by namespace "${NS.careers}" in RouteOwnershipPolicy ${NS.infra}/owners`,
    ]);
    expect(sentences(msg!)).toEqual(want);
  });

  test("what each team owns, and routes that do not attach, are admitted", async () => {
    const cases = [
      route(NS.product, "catalog", {
        parentRefs: [{ name: "shared", namespace: NS.infra }],
        rules: [{ matches: [{ path: { type: "PathPrefix", value: "/product/catalog" } }] }],
      }),
      route(NS.careers, "careers", {
        parentRefs: [{ name: "shared", namespace: NS.infra }],
        rules: [{ matches: [{ path: { type: "Exact", value: "/careers/jobs" } }] }],
      }),
      // another Gateway; the teams listener (the hr namespace is not selected by its allowedRoutes)
      route(NS.product, "elsewhere", {
        parentRefs: [{ name: "other", namespace: NS.infra }],
        rules: [{ matches: [{ path: { type: "PathPrefix", value: "/careers" } }] }],
      }),
      route(NS.product, "not-admitted", {
        parentRefs: [{ name: "shared", namespace: NS.infra, sectionName: "teams" }],
        rules: [{ matches: [{ path: { type: "PathPrefix", value: "/careers" } }] }],
      }),
    ];
    for (const r of cases) {
      expect(engineSentences(snapshot(), r)).toEqual([]);
      expect({ route: r.metadata.name, refused: await verdict(r) }).toEqual({ route: r.metadata.name });
    }
  });

  test("hostname claims: a route for jobs.acme.test is refused on its intersection with the listener", async () => {
    const r = route(NS.product, "jobs-host", {
      parentRefs: [{ name: "shared", namespace: NS.infra, sectionName: "http" }],
      hostnames: ["*.acme.test", "www.example.test"],
      rules: [{ matches: [{ path: { type: "PathPrefix", value: "/apply" } }] }],
    });
    const withJobs = route(NS.product, "jobs-exact", {
      ...r.spec,
      hostnames: ["jobs.acme.test"],
    });
    expect(await verdict(r)).toBeUndefined();
    const want = engineSentences(snapshot(), withJobs);
    expect(want).toHaveLength(1);
    expect(want[0]).toContain(`on hostname "jobs.acme.test"`);
    expect(sentences((await verdict(withJobs))!)).toEqual(want);
  });

  test("a RegularExpression path where others claim prefixes is contested", async () => {
    const r = route(NS.product, "regex", {
      parentRefs: [{ name: "shared", namespace: NS.infra, sectionName: "http" }],
      rules: [{ matches: [{ path: { type: "RegularExpression", value: "/c.*" } }] }],
    });
    const want = engineProblems(snapshot(), r).join("; ");
    expect(want).toContain("regular expressions cannot be checked against claimed prefixes");
    const msg = (await verdict(r))!;
    expect(msg.trim().replace(/^.*\(admission: Deny\): /s, "")).toEqual(want);
  });

  test("GRPCRoute: a method under a claimed prefix is refused", async () => {
    const r = route(
      NS.product,
      "grpc",
      {
        parentRefs: [{ name: "shared", namespace: NS.infra, sectionName: "http" }],
        rules: [{ matches: [{ method: { service: "careers", method: "List" } }] }],
      },
      "GRPCRoute",
    );
    const want = engineSentences(snapshot(), r);
    expect(want).toHaveLength(1);
    expect(sentences((await verdict(r))!)).toEqual(want);
  });

  test("selector claims follow the namespace's live labels, with no module to notice the change", async () => {
    const r = route(NS.careers, "hr-path", {
      parentRefs: [{ name: "shared", namespace: NS.infra, sectionName: "http" }],
      rules: [{ matches: [{ path: { type: "PathPrefix", value: "/hr/benefits" } }] }],
    });
    // /hr belongs to namespaces labelled owner=hr: careers is not one of them
    const want = engineSentences(snapshot(), r);
    expect(want).toHaveLength(1);
    expect(sentences((await verdict(r))!)).toEqual(want);
    const label = `owner-${ID}`;
    await kubectl(["label", "ns", NS.careers, `${label}=hr`]);
    try {
      const labelled = snapshot();
      const ns = labelled.namespaces.find((n) => n.metadata?.name === NS.careers)!;
      ns.metadata!.labels = { [label]: "hr" };
      expect(engineSentences(labelled, r)).toEqual([]);
      await eventually("careers, now labelled owner=hr, to be admitted", async () =>
        (await verdict(r)) === undefined ? true : undefined,
      );
    } finally {
      await kubectl(["label", "ns", NS.careers, `${label}-`]);
    }
    await eventually("careers, unlabelled again, to be refused", async () => ((await verdict(r)) ? true : undefined));
  });
});

describe("the API server and the engine agree on generated cases", () => {
  const { claimArb, routeArb } = ownershipArbitraries([NS.careers, NS.product, NS.hr]);

  test("refused exactly when the engine would cut the route back, with the same sentences", async () => {
    const runs = Number(process.env.VAP_PROPERTY_RUNS ?? 12);
    let refused = 0;
    let admitted = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(claimArb, { minLength: 1, maxLength: 3 }),
        fc.boolean(),
        fc.option(fc.constantFrom("x.test", "*.test"), { nil: undefined }),
        fc.array(routeArb, { minLength: 3, maxLength: 5 }),
        async (claims, denyUnclaimed, listenerHost, routes) => {
          const s = emptySnapshot();
          s.gatewayClasses.push(gatewayClass as never);
          s.gateways.push(
            gateway([
              {
                name: "http",
                port: 80,
                protocol: "HTTP",
                ...(listenerHost ? { hostname: listenerHost } : {}),
                allowedRoutes: { namespaces: { from: "All" } },
              },
            ]) as never,
          );
          for (const n of Object.values(NS)) s.namespaces.push({ metadata: { name: n } } as never);
          s.routeOwnershipPolicies!.push(
            policy({
              unclaimed: denyUnclaimed ? "Deny" : "Allow",
              claims: claims.map((c) => ({
                namespaces: { names: c.names },
                ...(c.hostnames ? { hostnames: c.hostnames } : {}),
                ...(c.pathPrefixes ? { pathPrefixes: c.pathPrefixes } : {}),
              })),
            }) as never,
          );
          await useIndex(translate(s, opts).ownershipIndex);
          for (const [i, r] of routes.entries()) {
            const candidate = route(r.ns, `gen-${i}`, {
              parentRefs: [{ name: "shared", namespace: NS.infra }],
              ...(r.hostnames.length ? { hostnames: [...new Set(r.hostnames)] } : {}),
              rules: [{ matches: r.matches.map((m) => ({ path: m })) }],
            });
            const want = engineSentences(s, candidate);
            const got = await verdict(candidate);
            if (want.length) refused++;
            else admitted++;
            expect({ route: candidate.spec, got: got === undefined ? [] : sentences(got) }).toEqual({
              route: candidate.spec,
              got: want,
            });
          }
        },
      ),
      { numRuns: runs, seed: Number(process.env.PROPERTY_SEED ?? 11) },
    );
    // both verdicts were exercised
    expect(refused).toBeGreaterThan(0);
    expect(admitted).toBeGreaterThan(0);
  });
});
