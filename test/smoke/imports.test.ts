import { kind } from "kubernetes-fluent-client";
import { Gateway } from "../../capabilities/crd";
import { match } from "ts-pattern";

test("esm deps load under jest", async () => {
  const pepr = await import("pepr");
  expect(typeof pepr.Capability).toBe("function");
  expect(typeof kind.Namespace).toBe("function");
  expect(new Gateway()).toBeDefined();
  expect(
    match(1)
      .with(1, () => "one")
      .otherwise(() => "x"),
  ).toBe("one");
});
