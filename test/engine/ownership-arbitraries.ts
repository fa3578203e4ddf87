/**
 * Generated routes and ownership claims over a few namespaces, hostnames and path segments (small
 * alphabets, so claims and routes collide often): shared by the engine's ownership property and
 * the API server's admission check of the same policies (test/cluster/ownership-vap.test.ts).
 */
import fc from "fast-check";

export function ownershipArbitraries(namespaces: string[]) {
  const hostName = fc.constantFrom("x.test", "y.test", "z.x.test");
  const hostPattern = fc.oneof(hostName, fc.constantFrom("*.test", "*.x.test"));
  const segment = fc.constantFrom("p", "q", "pq");
  const path = fc.array(segment, { maxLength: 3 }).map((s) => `/${s.join("/")}`);
  const routeArb = fc.record({
    ns: fc.constantFrom(...namespaces),
    hostnames: fc.array(hostPattern, { maxLength: 2 }),
    matches: fc.array(fc.record({ type: fc.constantFrom("PathPrefix", "Exact"), value: path }), {
      minLength: 1,
      maxLength: 3,
    }),
  });
  const claimArb = fc.record({
    names: fc.subarray(namespaces, { minLength: 1, maxLength: 2 }),
    hostnames: fc.option(fc.array(hostPattern, { minLength: 1, maxLength: 2 }), { nil: undefined }),
    pathPrefixes: fc.option(fc.array(path, { minLength: 1, maxLength: 2 }), { nil: undefined }),
  });
  return { hostName, hostPattern, path, routeArb, claimArb };
}
