/**
 * The official, unmodified Gateway API v1.6.1 conformance suite (GATEWAY-HTTP and GATEWAY-GRPC) against
 * crossway in the local cluster — the same command as `npm run conformance`, with every feature
 * the GatewayClass claims in status.supportedFeatures. A claimed feature whose tests fail fails
 * this test: we never claim what does not work.
 */
import { expect, jest, test } from "@jest/globals";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { REPO } from "../../hack/cluster/config.js";

jest.setTimeout(40 * 60_000);

interface ProfileReport {
  name: string;
  core: { result: string; statistics: { Passed: number; Failed: number; Skipped: number } };
  extended?: {
    result: string;
    statistics: { Passed: number; Failed: number; Skipped: number };
    supportedFeatures?: string[];
    failedTests?: string[];
  };
}

test("GATEWAY-HTTP and GATEWAY-GRPC: every core test and every claimed extended feature passes", async () => {
  const report = join(mkdtempSync(join(tmpdir(), "crossway-conformance-")), "report.yaml");
  const output: string[] = [];
  const code = await new Promise<number>((resolve) => {
    const child = spawn(
      join(REPO, "node_modules/.bin/tsx"),
      [join(REPO, "hack/conformance/run.ts"), "--report", report],
      {
        cwd: REPO,
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    const keep = (c: Buffer) => {
      output.push(c.toString("utf8"));
      if (output.length > 4000) output.splice(0, output.length - 4000);
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    child.on("exit", (c) => resolve(c ?? 1));
  });
  const tail = output.join("").split("\n");
  const failures = tail.filter((l) => /^\s*--- FAIL/.test(l));
  expect({ code, failures }).toEqual({ code: 0, failures: [] });
  const parsed = parse(readFileSync(report, "utf8")) as { profiles: ProfileReport[] };
  expect(parsed.profiles.map((p) => p.name).sort()).toEqual(["GATEWAY-GRPC", "GATEWAY-HTTP"]);
  for (const profile of parsed.profiles) {
    process.stderr.write(`conformance ${profile.name}: ${JSON.stringify(profile)}\n`);
    expect(profile.core.result).toBe("success");
    expect(profile.core.statistics.Failed).toBe(0);
    if (profile.extended) {
      expect(profile.extended.failedTests ?? []).toEqual([]);
      expect(profile.extended.statistics.Failed).toBe(0);
    }
  }
  const http = parsed.profiles.find((p) => p.name === "GATEWAY-HTTP")!;
  expect(http.core.statistics.Passed).toBeGreaterThanOrEqual(37);
});
