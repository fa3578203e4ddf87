/** The committed agent bundle is what `npm run build:agent` makes now, and it runs on plain Node. */
import { describe, expect, it } from "@jest/globals";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { bundleAgent, BUNDLE_PATH } from "../../agent/build";
import { AGENT_JS } from "../../capabilities/dataplane/agent-bundle";
import { tempDir } from "../render/harness";

describe("agent bundle", () => {
  it("is up to date with agent/*.ts (run `npm run build:agent`)", async () => {
    expect(readFileSync(BUNDLE_PATH, "utf8")).toBe(await bundleAgent());
  }, 30_000);

  it("needs no npm packages and explains a missing environment instead of crashing", () => {
    expect(AGENT_JS).not.toMatch(/require\("(?!node:)[^"]+"\)/);
    const file = join(tempDir("crossway-bundle-"), "agent.js");
    writeFileSync(file, AGENT_JS);
    const r = spawnSync("node", [file], { encoding: "utf8", env: { PATH: process.env.PATH }, timeout: 10_000 });
    expect(r.status).toBe(1);
    const line = JSON.parse(r.stdout.trim().split("\n")[0]) as { level: string; msg: string; error: string };
    expect(line).toMatchObject({ level: "error", msg: "cannot start" });
    expect(line.error).toMatch(/POD_NAME/);
  });
});
