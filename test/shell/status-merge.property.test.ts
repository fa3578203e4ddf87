/** Properties of the route parents merge, over thousands of generated status lists. */
import fc from "fast-check";
import { mergeRouteParents, parentKey, type ParentStatus } from "../../capabilities/reconcilers/status-merge";

const OURS = "crossway.dev/gateway-controller";
const controller = fc.constantFrom(OURS, "example.com/a", "example.com/b");
const ref = fc.record(
  {
    name: fc.constantFrom("gw1", "gw2", "gw3"),
    namespace: fc.constantFrom("infra", "app"),
    sectionName: fc.constantFrom("http", "https"),
    port: fc.constantFrom(80, 443),
  },
  { requiredKeys: ["name"] },
);
const cond = fc.record({
  type: fc.constantFrom("Accepted", "ResolvedRefs"),
  status: fc.constantFrom("True", "False"),
  reason: fc.constantFrom("Accepted", "NotAllowedByListeners", "RefNotPermitted"),
  lastTransitionTime: fc.constantFrom("2020-01-01T00:00:00Z", "2021-01-01T00:00:00Z"),
});
const parent = (ctl: fc.Arbitrary<string>) =>
  fc.record({
    parentRef: ref,
    controllerName: ctl,
    conditions: fc.uniqueArray(cond, { selector: (c) => c.type, maxLength: 2 }),
  });

describe("mergeRouteParents", () => {
  it("keeps every foreign entry byte for byte, writes exactly our desired entries, and keeps timestamps of unflipped conditions", () => {
    fc.assert(
      fc.property(
        fc.array(parent(controller), { maxLength: 8 }),
        fc.array(parent(fc.constant(OURS)), { maxLength: 4 }),
        (current, desiredRaw) => {
          // desired entries are unique per parentRef and carry no timestamps (the engine's output)
          const seen = new Set<string>();
          const desired = desiredRaw
            .filter((p) => !seen.has(parentKey(p.parentRef, "app")) && !!seen.add(parentKey(p.parentRef, "app")))
            .map((p) => ({
              ...p,
              conditions: p.conditions.map(({ lastTransitionTime: _, ...c }) => c),
            })) as ParentStatus[];
          const out = mergeRouteParents(current as ParentStatus[], desired, OURS, "app", "2030-01-01T00:00:00Z", []);
          const theirsIn = current.filter((p) => p.controllerName !== OURS);
          const theirsOut = out.filter((p) => p.controllerName !== OURS);
          expect(theirsOut).toEqual(theirsIn);
          const oursOut = out.filter((p) => p.controllerName === OURS);
          expect(oursOut.map((p) => parentKey(p.parentRef, "app"))).toEqual(
            desired.map((p) => parentKey(p.parentRef, "app")),
          );
          for (const o of oursOut) {
            const prev = current.find(
              (p) => p.controllerName === OURS && parentKey(p.parentRef, "app") === parentKey(o.parentRef, "app"),
            );
            for (const c of o.conditions ?? []) {
              const old = prev?.conditions.find((x) => x.type === c.type);
              expect(c.lastTransitionTime).toBe(
                old && old.status === c.status ? old.lastTransitionTime : "2030-01-01T00:00:00Z",
              );
            }
          }
        },
      ),
      { numRuns: 3000 },
    );
  });
});
