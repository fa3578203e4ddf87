/**
 * Table-driven golden tests: every testdata/<kind>-<scenario>.in.yaml is translated and compared
 * with its .out.yaml (statuses + IR). `UPDATE_GOLDEN=1 npm run test:update` rewrites the outputs
 * and deletes .out.yaml files whose .in.yaml is gone.
 */
import { existsSync, readFileSync, readdirSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { translate } from "../../capabilities/engine";
import { Reason } from "../../capabilities/engine/conditions";
import { loadFixture, render } from "./fixtures";

const DIR = join(process.cwd(), "test/engine/testdata");
const UPDATE = process.env.UPDATE_GOLDEN === "1";
const inputs = readdirSync(DIR)
  .filter((f) => f.endsWith(".in.yaml"))
  .sort();

if (UPDATE) {
  for (const f of readdirSync(DIR).filter((f) => f.endsWith(".out.yaml"))) {
    if (!existsSync(join(DIR, f.replace(/\.out\.yaml$/, ".in.yaml")))) unlinkSync(join(DIR, f));
  }
}

describe("engine golden files", () => {
  test("there are golden scenarios", () => {
    expect(inputs.length).toBeGreaterThan(10);
  });

  test.each(inputs.map((f) => [f.replace(/\.in\.yaml$/, "")]))("%s", (name) => {
    const { snapshot, options } = loadFixture(join(DIR, `${name}.in.yaml`));
    const got = render(translate(snapshot, options));
    const outFile = join(DIR, `${name}.out.yaml`);
    if (UPDATE) writeFileSync(outFile, got);
    expect(existsSync(outFile)).toBe(true);
    expect(got).toEqual(readFileSync(outFile, "utf8"));

    // Same snapshot, every list reversed: byte-identical output.
    const reversed = Object.fromEntries(
      Object.entries(snapshot).map(([k, v]) => [k, [...(v as unknown[])].reverse()]),
    ) as unknown as typeof snapshot;
    expect(render(translate(reversed, options))).toEqual(got);
  });

  test("every reason in the condition catalogue appears in some golden output", () => {
    const all = readdirSync(DIR)
      .filter((f) => f.endsWith(".out.yaml"))
      .map((f) => readFileSync(join(DIR, f), "utf8"))
      .join("\n");
    const missing = Object.values(Reason).filter((r) => !new RegExp(`reason: ${r}$`, "m").test(all));
    expect(missing).toEqual([]);
  });
});
