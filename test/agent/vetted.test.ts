/**
 * The agent skips its own `haproxy -c` only when the controller checked the config with the same
 * HAProxy version line it would use (at 10,000 routes that check takes seconds per change);
 * otherwise it checks. A stand-in `haproxy` that refuses every config shows which happened.
 */
import { describe, expect, it } from "@jest/globals";
import { join } from "node:path";
import { applyConfig } from "../../agent/core";
import { tempDir } from "../render/harness";

const refuseAll = "/bin/false"; // exits 1 for `-c`: a check that runs refuses the config
const files = { "haproxy.cfg": "global\n" };
const opts = (runDir: string, vettedWith?: string) => ({
  runDir,
  masterSocket: join(runDir, "master.sock"),
  haproxyBin: refuseAll,
  haproxyVersion: "HAProxy version 2.6.12-1+deb12u4",
  vettedWith,
  startTimeoutMs: 300,
  reloadTimeoutMs: 300,
  log: () => undefined,
});

describe("agent pre-check", () => {
  it("runs when the config was not vetted, or vetted with another HAProxy", async () => {
    expect((await applyConfig(files, "1", opts(tempDir("crossway-vet-")))).outcome).toBe("rejected");
    const other = opts(tempDir("crossway-vet-"), "HAProxy version 3.0.5");
    expect((await applyConfig(files, "1", other)).outcome).toBe("rejected");
  });

  it("is skipped when the controller vetted it with the very same version", async () => {
    const same = opts(tempDir("crossway-vet-"), "HAProxy version 2.6.12-1+deb12u4");
    // no check: the files are written and the agent waits for haproxy (none runs here)
    expect((await applyConfig(files, "1", same)).outcome).toBe("waiting");
  });
});
