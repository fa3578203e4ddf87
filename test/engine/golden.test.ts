/**
 * Table-driven golden tests: every testdata/<kind>-<scenario>.in.yaml is translated and compared
 * with its .out.yaml (statuses + IR). `UPDATE_GOLDEN=1 npm run test:update` rewrites the outputs
 * and deletes .out.yaml files whose .in.yaml is gone.
 */
import { existsSync, readFileSync, readdirSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { translate } from "../../capabilities/engine";
import { Reason } from "../../capabilities/engine/conditions";
import { loadFixture, render } from "./fixtures";

const DIR = join(process.cwd(), "test/engine/testdata");
/**
 * Reasons only the shell writes, from what the data plane serves (conditions.ts `dataPlane`):
 * no engine output can hold them; test/shell/programmed.test.ts covers them.
 */
const SHELL_ONLY = new Set<string>([Reason.AddressNotAssigned]);

type Cond = { type: string; status: string; reason: string };
type Status = { conditions?: Cond[]; listeners?: { conditions?: Cond[] }[] };
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

  const outputs = () =>
    readdirSync(DIR)
      .filter((f) => f.endsWith(".out.yaml"))
      .map((f) => readFileSync(join(DIR, f), "utf8"));

  test("every reason in the condition catalogue appears in some golden output", () => {
    const all = outputs().join("\n");
    const missing = Object.values(Reason).filter(
      (r) => !SHELL_ONLY.has(r) && !new RegExp(`reason: ${r}$`, "m").test(all),
    );
    expect(missing).toEqual([]);
  });

  test("the engine's Programmed, True and False, on Gateways, ListenerSets and listeners, is in golden outputs", () => {
    const seen = new Set<string>();
    const note = (where: string, conds: Cond[] | undefined) =>
      conds?.filter((c) => c.type === "Programmed").forEach((c) => seen.add(`${where} ${c.status}/${c.reason}`));
    for (const out of outputs()) {
      for (const s of (parse(out) as { statuses: { kind: string; status: Status }[] }).statuses) {
        note(s.kind, s.status.conditions);
        for (const l of s.status.listeners ?? []) note(`${s.kind} listener`, l.conditions);
      }
    }
    expect([...seen].sort()).toEqual(
      expect.arrayContaining([
        `Gateway True/${Reason.Programmed}`,
        `Gateway False/${Reason.Invalid}`,
        `Gateway listener True/${Reason.Programmed}`,
        `Gateway listener False/${Reason.Invalid}`,
        `Gateway listener False/${Reason.HostnameConflict}`,
        `Gateway listener False/${Reason.ProtocolConflict}`,
        `ListenerSet True/${Reason.Programmed}`,
        `ListenerSet False/${Reason.ParentNotProgrammed}`,
        `ListenerSet listener True/${Reason.Programmed}`,
        `ListenerSet listener False/${Reason.Invalid}`,
      ]),
    );
  });
});
