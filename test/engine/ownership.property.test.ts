/**
 * Property: with a RouteOwnershipPolicy in Enforce mode, no request for an owned hostname/path
 * ever reaches another namespace's backend, whatever routes the namespaces write and in whatever
 * order they were created. Requests are dispatched over the engine's IR the way the spec reads
 * (most specific listener, its vhosts most specific first with fall-through, first matching rule
 * in IR order); test/render/dispatch.property.test.ts shows HAProxy's rendered maps pick the same
 * rule. The owner of a request is the most specific claim covering its host and path.
 */
import { describe, expect, it } from "@jest/globals";
import fc from "fast-check";
import { translate } from "../../capabilities/engine";
import type { GatewayIR, RouteRuleIR } from "../../capabilities/engine/ir";
import { CONTROLLER_NAME } from "../../capabilities/dataplane/conventions";
import { emptySnapshot } from "./fixtures";
import { ownershipArbitraries } from "./ownership-arbitraries";

const NAMESPACES = ["a", "b", "c"];
const { hostName, path, routeArb, claimArb } = ownershipArbitraries(NAMESPACES);

const trim = (p: string) => p.replace(/\/+$/, "");
const hostMatches = (pattern: string | undefined, host: string) =>
  pattern === undefined || pattern === "*"
    ? true
    : pattern.startsWith("*.")
      ? host.endsWith(pattern.slice(1))
      : pattern === host;
const hostRank = (p: string | undefined) =>
  p === undefined || p === "*" ? 1000 : p.startsWith("*.") ? 100 - p.length : 0;
const prefixWithin = (p: string, prefix: string) =>
  trim(prefix) === "" || p === trim(prefix) || p.startsWith(`${trim(prefix)}/`);
const ruleMatches = (r: RouteRuleIR, p: string) =>
  r.match.path!.type === "Exact" ? p === r.match.path!.value : prefixWithin(p, r.match.path!.value);

/** The rule a request reaches, read from the IR as the spec says. */
function dispatch(ir: GatewayIR, host: string, p: string): RouteRuleIR | undefined {
  const l = ir.ports[0].listeners.find((x) => hostMatches(x.hostname, host));
  if (!l) return undefined;
  const vhosts = l.virtualHosts
    .filter((v) => hostMatches(v.hostname, host))
    .sort((a, b) => hostRank(a.hostname) - hostRank(b.hostname));
  for (const v of vhosts) {
    const r = v.rules.find((x) => ruleMatches(x, p));
    if (r) return r;
  }
  return undefined;
}

type Claim = { names: string[]; hostnames?: string[]; pathPrefixes?: string[] };

/** The namespaces owning a request: those of the most specific claims covering it (undefined: unowned). */
function owners(claims: Claim[], host: string, p: string): Set<string> | undefined {
  let best = -1;
  let out: Set<string> | undefined;
  for (const c of claims) {
    const hosts = c.hostnames?.filter((h) => hostMatches(h, host)) ?? [undefined];
    const prefixes = c.pathPrefixes?.filter((x) => prefixWithin(p, x)) ?? [undefined];
    if (hosts.length === 0 || prefixes.length === 0) continue;
    for (const h of hosts)
      for (const x of prefixes) {
        // exact hostnames beat wildcards, deeper wildcards beat shallower ones; then longer prefixes
        const hostRank = h === undefined ? 0 : h.startsWith("*.") ? h.split(".").length : 1000;
        const s = hostRank * 10_000 + (x === undefined ? 0 : trim(x).length + 1);
        if (s > best) [best, out] = [s, new Set(c.names)];
        else if (s === best) c.names.forEach((n) => out!.add(n));
      }
  }
  return out;
}

describe("route ownership in the data plane", () => {
  it("no request for an owned hostname/path reaches another namespace's rules", () => {
    const runs = Number(process.env.PROPERTY_RUNS ?? 400);
    let ownedChecks = 0;
    let deniedSomewhere = 0;
    fc.assert(
      fc.property(
        fc.array(routeArb, { minLength: 1, maxLength: 6 }),
        fc.array(claimArb, { minLength: 1, maxLength: 3 }),
        fc.array(fc.tuple(hostName, path), { minLength: 5, maxLength: 20 }),
        (routes, claims, requests) => {
          const s = emptySnapshot();
          s.gatewayClasses.push({ metadata: { name: "gc" }, spec: { controllerName: CONTROLLER_NAME } } as never);
          s.gateways.push({
            metadata: { name: "gw", namespace: "infra", generation: 1 },
            spec: {
              gatewayClassName: "gc",
              listeners: [{ name: "http", port: 80, protocol: "HTTP", allowedRoutes: { namespaces: { from: "All" } } }],
            },
          } as never);
          for (const n of ["infra", ...NAMESPACES]) s.namespaces.push({ metadata: { name: n } } as never);
          routes.forEach((r, i) =>
            s.httpRoutes.push({
              metadata: {
                name: `r${i}`,
                namespace: r.ns,
                generation: 1,
                creationTimestamp: `2026-01-01T00:00:${String(i).padStart(2, "0")}Z`,
              },
              spec: {
                parentRefs: [{ name: "gw", namespace: "infra" }],
                hostnames: r.hostnames,
                rules: [{ matches: r.matches.map((m) => ({ path: m })) }],
              },
            } as never),
          );
          s.routeOwnershipPolicies!.push({
            metadata: { name: "owners", namespace: "infra", generation: 1 },
            spec: {
              targetRefs: [{ group: "gateway.networking.k8s.io", kind: "Gateway", name: "gw" }],
              mode: "Enforce",
              claims: claims.map((c) => ({
                namespaces: { names: c.names },
                ...(c.hostnames ? { hostnames: c.hostnames } : {}),
                ...(c.pathPrefixes ? { pathPrefixes: c.pathPrefixes } : {}),
              })),
            },
          } as never);
          const result = translate(s, { controllerName: CONTROLLER_NAME });
          if (JSON.stringify(result.statuses).includes("ClaimedByAnotherNamespace")) deniedSomewhere++;
          const ir = result.ir[0];
          for (const [host, p] of requests) {
            const own = owners(claims, host, p);
            if (!own) continue;
            ownedChecks++;
            const r = dispatch(ir, host, p);
            if (r === undefined || r.notFound) continue;
            expect({ host, path: p, reached: r.route.namespace, owners: [...own] }).toEqual({
              host,
              path: p,
              reached: own.has(r.route.namespace) ? r.route.namespace : "an owner",
              owners: [...own],
            });
          }
        },
      ),
      { numRuns: runs, seed: Number(process.env.PROPERTY_SEED ?? 7) },
    );
    // The property was exercised: owned requests were checked, and routes were cut back.
    expect(ownedChecks).toBeGreaterThan(runs);
    expect(deniedSomewhere).toBeGreaterThan(runs / 10);
  });
});

describe("several policies on one Gateway", () => {
  it("a newer policy is in force where no older one is, and says where it is not", () => {
    const s = emptySnapshot();
    s.gatewayClasses.push({ metadata: { name: "gc" }, spec: { controllerName: CONTROLLER_NAME } } as never);
    s.gateways.push({
      metadata: { name: "gw", namespace: "infra", generation: 1 },
      spec: {
        gatewayClassName: "gc",
        listeners: ["a", "b"].map((name) => ({
          name,
          port: 80,
          protocol: "HTTP",
          hostname: `${name}.test`,
          allowedRoutes: { namespaces: { from: "All" } },
        })),
      },
    } as never);
    for (const n of ["infra", "x", "y"]) s.namespaces.push({ metadata: { name: n } } as never);
    const policy = (name: string, created: string, sectionName?: string) => ({
      metadata: { name, namespace: "infra", generation: 1, creationTimestamp: created },
      spec: {
        targetRefs: [
          { group: "gateway.networking.k8s.io", kind: "Gateway", name: "gw", ...(sectionName ? { sectionName } : {}) },
        ],
        claims: [{ namespaces: { names: ["x"] }, pathPrefixes: ["/x"] }],
      },
    });
    s.routeOwnershipPolicies!.push(
      policy("older", "2026-01-01T00:00:00Z", "a") as never,
      policy("newer", "2026-02-01T00:00:00Z") as never,
    );
    // y's route for /x/1 on both listeners: refused on b by the newer policy, on a by the older one
    s.httpRoutes.push({
      metadata: { name: "r", namespace: "y", generation: 1 },
      spec: {
        parentRefs: [{ name: "gw", namespace: "infra" }],
        hostnames: ["a.test", "b.test"],
        rules: [{ matches: [{ path: { type: "PathPrefix", value: "/x/1" } }] }],
      },
    } as never);
    const result = translate(s, { controllerName: CONTROLLER_NAME });
    const ancestors = (name: string) =>
      (
        result.statuses.find((x) => x.name === name)!.status.ancestors as {
          conditions: { status: string; message: string }[];
        }[]
      )[0].conditions[0];
    expect(ancestors("newer").status).toBe("True");
    expect(ancestors("newer").message).toMatch(
      /applies to listener "b" .*; but .*"a".* RouteOwnershipPolicy infra\/older is older/,
    );
    const accepted = (
      result.statuses.find((x) => x.name === "r")!.status.parents as {
        conditions: { type: string; reason: string }[];
      }[]
    )[0].conditions[0];
    expect(accepted).toMatchObject({ type: "Accepted", reason: "ClaimedByAnotherNamespace" });
  });
});
