/** Table-driven unit tests for the small pure helpers the spec pins down exactly. */
import { compareSpecificity, effectiveHostnames, intersect } from "../../capabilities/engine/graph/hostname";
import { parseDuration } from "../../capabilities/engine/graph/duration";
import { selectorMatches } from "../../capabilities/engine/graph/selector";
import { defaultValidator } from "../../capabilities/engine/features";
import { resolveKindConflicts } from "../../capabilities/engine/graph/kindconflict";
import { jest } from "@jest/globals";
import fc from "fast-check";
import { translate } from "../../capabilities/engine";
import * as fixtures from "./fixtures";
import { comparePrecedence, primaryKey, routeOrder, secondaryKey } from "../../capabilities/engine/ir/precedence";

jest.setTimeout(60_000); // property-based cases run thousands of checks on a shared 2-core machine

describe("hostname intersection (listener ∩ route)", () => {
  test.each([
    [undefined, "foo.example.com", "foo.example.com"],
    [undefined, "*.example.com", "*.example.com"],
    ["foo.example.com", "foo.example.com", "foo.example.com"],
    ["foo.example.com", "*.example.com", "foo.example.com"],
    ["foo.example.com", "bar.example.com", undefined],
    ["*.example.com", "foo.example.com", "foo.example.com"],
    ["*.example.com", "a.b.example.com", "a.b.example.com"],
    ["*.example.com", "*.example.com", "*.example.com"],
    ["*.example.com", "*.foo.example.com", "*.foo.example.com"],
    ["*.foo.example.com", "*.example.com", "*.foo.example.com"],
    ["*.example.com", "example.com", undefined],
    ["example.com", "*.example.com", undefined],
    ["*.example.com", "foo.example.org", undefined],
    ["*.example.com", "fooexample.com", undefined],
    ["FOO.example.com", "foo.EXAMPLE.com", "foo.example.com"],
  ])("listener %s, route %s → %s", (l, r, want) => {
    expect(intersect(l, r)).toBe(want);
  });

  test("a route without hostnames takes the listener's, or the catch-all", () => {
    expect(effectiveHostnames("*.example.com", [])).toEqual(["*.example.com"]);
    expect(effectiveHostnames(undefined, [])).toEqual(["*"]);
  });

  test("specificity: exact, then wildcards with more labels, then catch-all", () => {
    const hosts = ["*", "*.example.com", "b.example.com", "*.a.example.com", "a.example.com"];
    expect([...hosts].sort(compareSpecificity)).toEqual([
      "a.example.com",
      "b.example.com",
      "*.a.example.com",
      "*.example.com",
      "*",
    ]);
  });
});

describe("Gateway API durations (GEP-2257)", () => {
  test.each([
    ["0s", 0],
    ["1s", 1000],
    ["500ms", 500],
    ["1m30s", 90_000],
    ["1h", 3_600_000],
    ["1h2m3s4ms", 3_723_004],
    ["99999ms", 99_999],
  ])("%s → %d ms", (s, ms) => expect(parseDuration(s)).toBe(ms));

  test.each(["", "1", "1d", "-1s", "1.5s", "100000s", "1s1s1s1s1s", "10 seconds", "s"])("%p is rejected", (s) => {
    expect(parseDuration(s)).toBeUndefined();
  });
});

describe("label selectors", () => {
  const labels = { env: "prod", team: "a" };
  test.each([
    [{}, true],
    [{ matchLabels: { env: "prod" } }, true],
    [{ matchLabels: { env: "dev" } }, false],
    [{ matchExpressions: [{ key: "env", operator: "In", values: ["prod", "dev"] }] }, true],
    [{ matchExpressions: [{ key: "env", operator: "NotIn", values: ["prod"] }] }, false],
    [{ matchExpressions: [{ key: "zone", operator: "NotIn", values: ["x"] }] }, true],
    [{ matchExpressions: [{ key: "team", operator: "Exists" }] }, true],
    [{ matchExpressions: [{ key: "team", operator: "DoesNotExist" }] }, false],
    [{ matchExpressions: [{ key: "team", operator: "Gt", values: ["1"] }] }, false],
    [{ matchLabels: { env: "prod" }, matchExpressions: [{ key: "team", operator: "In", values: ["b"] }] }, false],
  ])("%j → %s", (sel, want) => expect(selectorMatches(sel, labels)).toBe(want));
});

describe("default data-plane validator", () => {
  const v = defaultValidator({ reservedPorts: [8404] });
  test("refuses what could break a config line or a header", () => {
    expect(v.headerName("X-Ok")).toBeUndefined();
    expect(v.headerName("bad header")).toMatch(/not a valid HTTP header name/);
    expect(v.headerValue("x", "a\r\nInjected: 1")).toMatch(/control characters/);
    expect(v.path("/ok/path")).toBeUndefined();
    expect(v.path("no-slash")).toMatch(/must start with/);
    expect(v.path("/a b")).toMatch(/whitespace/);
    expect(v.regex("^/api/[0-9]+$")).toBeUndefined();
    expect(v.regex("(")).toMatch(/not supported/);
    expect(v.port(8404)).toMatch(/reserved/);
    expect(v.port(80)).toBeUndefined();
  });
});

describe("HTTPRoute/GRPCRoute hostname conflicts (indexed) match the brute-force definition", () => {
  const HOSTS = [
    "*",
    "a.example.com",
    "b.example.com",
    "x.a.example.com",
    "*.example.com",
    "*.a.example.com",
    "example.com",
    "*.com",
    "c.other.org",
    "*.other.org",
  ];
  test("older route of the other kind wins on any intersecting hostname", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            kind: fc.constantFrom("HTTPRoute", "GRPCRoute"),
            hosts: fc.subarray(HOSTS, { minLength: 1, maxLength: 3 }),
          }),
          { maxLength: 12 },
        ),
        (specs) => {
          const routes = specs.map((s, i) => ({
            kind: s.kind,
            namespace: "ns",
            name: `r${String(i).padStart(2, "0")}`,
            created: "2024-01-01T00:00:00Z",
            desc: `r${i}`,
            parents: [] as never[],
          }));
          const listener = { id: "ns/gw/l", desc: "l", attached: new Map<string, unknown>() };
          routes.forEach((r, i) =>
            listener.attached.set(`${r.kind}/ns/${r.name}`, { route: r, hostnames: specs[i].hosts }),
          );
          resolveKindConflicts([listener as never]);
          // brute force: in age order, keep a route unless it intersects a kept route of the other kind
          const kept: number[] = [];
          for (let i = 0; i < routes.length; i++) {
            const clash = kept.some(
              (k) =>
                routes[k].kind !== routes[i].kind &&
                specs[k].hosts.some((x) =>
                  specs[i].hosts.some((y) => x === "*" || y === "*" || intersect(x, y) !== undefined),
                ),
            );
            if (!clash) kept.push(i);
          }
          const hasBoth = routes.some((r) => r.kind === "HTTPRoute") && routes.some((r) => r.kind === "GRPCRoute");
          const expected = hasBoth ? kept : routes.map((_, i) => i);
          expect([...listener.attached.keys()].sort()).toEqual(
            expected.map((i) => `${routes[i].kind}/ns/${routes[i].name}`).sort(),
          );
        },
      ),
      { numRuns: 3000 },
    );
  });
});

describe("rule precedence keys agree with the spec's ordering", () => {
  // The spec ordering written plainly, as an oracle for the packed numeric keys.
  const RANK: Record<string, number> = { Exact: 0, PathPrefix: 1, RegularExpression: 2 };
  type M = {
    path?: { type: "Exact" | "PathPrefix" | "RegularExpression"; value: string };
    method?: string;
    h: number;
    q: number;
    created: string;
    ns: string;
    name: string;
    rule: number;
    match: number;
  };
  const spec = (a: M, b: M): number =>
    (a.path ? RANK[a.path.type] : 3) - (b.path ? RANK[b.path.type] : 3) ||
    (b.path?.value.length ?? 0) - (a.path?.value.length ?? 0) ||
    (a.method ? 0 : 1) - (b.method ? 0 : 1) ||
    b.h - a.h ||
    b.q - a.q ||
    (a.created < b.created ? -1 : a.created > b.created ? 1 : 0) ||
    (a.ns < b.ns ? -1 : a.ns > b.ns ? 1 : 0) ||
    (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) ||
    a.rule - b.rule ||
    a.match - b.match;
  const arbM = fc.record({
    path: fc.option(
      fc.record({
        type: fc.constantFrom("Exact", "PathPrefix", "RegularExpression"),
        value: fc.string({ maxLength: 12 }),
      }),
      { nil: undefined },
    ),
    method: fc.option(fc.constantFrom("GET", "POST"), { nil: undefined }),
    h: fc.integer({ min: 0, max: 16 }),
    q: fc.integer({ min: 0, max: 16 }),
    created: fc.constantFrom("2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z", "~"),
    ns: fc.constantFrom("a", "b"),
    name: fc.constantFrom("x", "y"),
    rule: fc.integer({ min: 0, max: 15 }),
    match: fc.integer({ min: 0, max: 63 }),
  });
  test("sign of the packed comparison equals the spec comparison", () => {
    fc.assert(
      fc.property(fc.array(arbM, { minLength: 2, maxLength: 8 }), (ms) => {
        // one route object per namespace/name (first creation time wins), like the graph has
        const byId = new Map<string, { created: string; namespace: string; name: string; kind: string }>();
        for (const m of ms)
          if (!byId.has(`${m.ns}/${m.name}`))
            byId.set(`${m.ns}/${m.name}`, { created: m.created, namespace: m.ns, name: m.name, kind: "HTTPRoute" });
        for (const m of ms) (m as { created: string }).created = byId.get(`${m.ns}/${m.name}`)!.created;
        const routes = ms.map((m) => byId.get(`${m.ns}/${m.name}`)!);
        const order = routeOrder(routes as never);
        const ranked = ms.map((m, i) => {
          const match = {
            path: m.path,
            method: m.method,
            headers: Array(m.h).fill({}),
            queryParams: Array(m.q).fill({}),
          };
          return {
            m,
            primary: primaryKey(match as never),
            secondary: secondaryKey(order.get(routes[i] as never)!, m.rule, m.match),
          };
        });
        for (const a of ranked)
          for (const b of ranked) {
            const sameSlot =
              a !== b && a.m.ns === b.m.ns && a.m.name === b.m.name && a.m.rule === b.m.rule && a.m.match === b.m.match;
            if (sameSlot) continue; // one route cannot have two different matches at the same rule/match index
            const got = Math.sign(comparePrecedence(a as never, b as never));
            if (got !== Math.sign(spec(a.m, b.m))) return false; // fast-check reports the counterexample
          }
        return true;
      }),
      { numRuns: 3000 },
    );
  });
});

describe("translate() guards", () => {
  test("no controllerName owns nothing; a missing snapshot is an empty cluster", () => {
    const { loadFixture } = fixtures;
    const { snapshot } = loadFixture(`${process.cwd()}/test/engine/testdata/seed-000-acme.in.yaml`);
    expect(translate(snapshot, { controllerName: "" })).toEqual({ statuses: [], ir: [] });
    expect(translate(undefined as never, { controllerName: "crossway.dev/gateway-controller" })).toEqual({
      statuses: [],
      ir: [],
    });
  });
});
