/**
 * Golden files: testdata/<name>.in.yaml (IR) → <name>.cfg (the whole haproxy.cfg) and
 * <name>.files.txt (every other rendered file). UPDATE_GOLDEN=1 rewrites them and deletes orphans.
 * Every golden must pass `haproxy -c` without warnings, and rendering must be deterministic.
 */
import { describe, expect, it } from "@jest/globals";
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import type { GatewayIR } from "../../capabilities/engine/ir";
import { renderGateway } from "../../capabilities/render/index";
import { tempDir, writeFiles } from "./harness";

const dir = join(process.cwd(), "test/render/testdata");
const update = process.env.UPDATE_GOLDEN === "1";
const names = readdirSync(dir)
  .filter((f) => f.endsWith(".in.yaml"))
  .map((f) => f.slice(0, -".in.yaml".length))
  .sort();

const otherFiles = (files: Record<string, string>) =>
  Object.entries(files)
    .filter(([k]) => k !== "haproxy.cfg")
    .map(([k, v]) => `==> ${k} <==\n${v}`)
    .join("");

/** `haproxy -c` output, or throws with it. */
function check(files: Record<string, string>): string {
  const tmp = tempDir("crossway-golden-");
  writeFiles(tmp, files);
  return execFileSync("haproxy", ["-c", "-C", tmp, "-f", join(tmp, "haproxy.cfg")], {
    encoding: "utf8",
    stdio: "pipe",
  });
}

describe("render goldens", () => {
  it("has test data", () => expect(names.length).toBeGreaterThan(0));

  it.each(names)("%s", (name) => {
    const ir = parse(readFileSync(join(dir, `${name}.in.yaml`), "utf8")) as GatewayIR;
    const out = renderGateway(ir);
    expect(out.warnings).toEqual([]);
    expect(renderGateway(structuredClone(ir)).files).toEqual(out.files);
    const cfgPath = join(dir, `${name}.cfg`);
    const filesPath = join(dir, `${name}.files.txt`);
    if (update) {
      writeFileSync(cfgPath, out.files["haproxy.cfg"]);
      writeFileSync(filesPath, otherFiles(out.files));
    }
    expect(out.files["haproxy.cfg"]).toBe(readFileSync(cfgPath, "utf8"));
    expect(otherFiles(out.files)).toBe(readFileSync(filesPath, "utf8"));
    const result = check(out.files);
    expect(result).toContain("Configuration file is valid");
    expect(result).not.toMatch(/WARNING|ALERT/);
  });

  it("has no orphaned goldens", () => {
    for (const f of readdirSync(dir).filter((f) => f.endsWith(".cfg") || f.endsWith(".files.txt"))) {
      const base = f.replace(/\.(cfg|files\.txt)$/, "");
      if (names.includes(base)) continue;
      if (update) unlinkSync(join(dir, f));
      else throw new Error(`orphaned golden ${f}: run with UPDATE_GOLDEN=1`);
    }
    expect(existsSync(dir)).toBe(true);
  });
});
