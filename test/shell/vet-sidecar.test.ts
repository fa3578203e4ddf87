/**
 * The haproxy-vet sidecar, as the shipped module runs it: the exact command hack/build-module.ts
 * puts in the watcher pod (vetSidecarCommand), run here as a local process with the real haproxy
 * on PATH, on a temp dir standing in for the shared emptyDir, driven by the controller's own
 * sidecarChecker. A good config is accepted, a bad one comes back with HAProxy's ALERT text, the
 * version line reaches the checker, and a dead sidecar is a clear CheckUnavailable, never a verdict.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from "@jest/globals";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { renderGateway } from "../../capabilities/render/index";
import { haproxyVersion } from "../../capabilities/dataplane/haproxy-version";
import { VET_DIR, VET_DIR_ENV, vetPaths, vetSidecarCommand } from "../../capabilities/dataplane/vet-sidecar";
import { CheckUnavailable, findHaproxy } from "../../capabilities/reconcilers/config-vet";
import { chooseConfigCheck, sidecarChecker, type SidecarOptions } from "../../capabilities/reconcilers/config-checks";
import { gateway, listener, match, port, prefix, rule, svc, vhost } from "../render/ir-builders";
import { eventually } from "../../hack/lib/eventually";

jest.setTimeout(30_000);
if (!findHaproxy({})) throw new Error("these tests need the haproxy binary (hack/setup.sh installs it)");

const ep = [{ ip: "127.0.0.1", port: 9 }];
const goodFiles = () =>
  renderGateway(gateway([port(80, [listener("http", undefined, [vhost("*", [rule(prefix("/a"), [svc("a", ep)])])])])]))
    .files;

/** Runs the sidecar's exact command on `dir`; resolves once it has published its version. */
async function startSidecar(dir: string): Promise<ChildProcess> {
  const [cmd, ...args] = vetSidecarCommand(dir);
  const child = spawn(cmd, args, { stdio: ["ignore", "ignore", "inherit"] });
  await eventually(
    "the sidecar publishes its version",
    async () => existsSync(join(dir, vetPaths.version)) || undefined,
    5_000,
    50,
  );
  return child;
}

/** The controller's checker, with bounds that fail a broken sidecar well within a test's time. */
const checker = (dir: string, o: SidecarOptions = {}) => sidecarChecker(dir, { pickupMs: 5_000, runMs: 10_000, ...o });

const stop = async (child: ChildProcess) => {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGKILL");
  await new Promise((r) => child.once("exit", r));
};

describe("haproxy-vet sidecar (its exact command, real haproxy)", () => {
  let dir: string;
  let sidecar: ChildProcess;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "crossway-vet-sidecar-"));
    sidecar = await startSidecar(dir);
  });
  afterAll(async () => {
    await stop(sidecar);
    rmSync(dir, { recursive: true, force: true });
  });

  it("publishes the same version line as the haproxy it runs", () => {
    expect(checker(dir).version).toBe(haproxyVersion("haproxy"));
    expect(checker(dir).version).toMatch(/^HAProxy version 2\.6\./);
  });

  it("accepts a good config and leaves nothing behind", async () => {
    const check = checker(dir);
    expect(await check(goodFiles())).toBeUndefined();
    expect(readdirSync(dir)).toEqual([vetPaths.version]);
  });

  it("refuses a line of more than 64 words with HAProxy's own ALERT, without temp paths", async () => {
    const files = goodFiles();
    files["haproxy.cfg"] += `\nbackend words\n  http-request deny if${" TRUE".repeat(70)}\n`;
    const why = await checker(dir)(files);
    expect(why).toMatch(/parsing \[haproxy\.cfg:\d+\]: too many words, truncating after word 64/);
    expect(why).not.toContain(dir);
    expect(readdirSync(dir)).toEqual([vetPaths.version]);
  });

  it("refuses a regex HAProxy's PCRE2 does not support, and reads the map files it was given", async () => {
    const bad = rule(
      match({
        path: { type: "PathPrefix", value: "/x" },
        headers: [{ type: "RegularExpression", name: "x", value: "\\u0041" }],
      }),
      [svc("x", ep)],
    );
    const { files } = renderGateway(gateway([port(80, [listener("http", undefined, [vhost("*", [bad])])])]));
    expect(Object.keys(files).length).toBeGreaterThan(1); // haproxy.cfg plus maps: all must be in the job
    expect(await checker(dir)(files)).toMatch(/PCRE2 does not support/);
  });

  it("never takes a job that is still being written", async () => {
    const partial = join(dir, vetPaths.writing("partial"));
    mkdirSync(partial);
    writeFileSync(join(partial, "haproxy.cfg"), "global\n  this is not haproxy\n");
    await new Promise((r) => setTimeout(r, 600)); // three of the sidecar's polls
    expect(existsSync(partial)).toBe(true);
    rmSync(partial, { recursive: true });
  });

  it("checks one job after another, each with its own verdict", async () => {
    const check = checker(dir);
    const bad = goodFiles();
    bad["haproxy.cfg"] += "\nbackend b\n  nonsense-keyword on\n";
    const verdicts = await Promise.all([check(goodFiles()), check(bad), check(goodFiles())]);
    expect(verdicts[0]).toBeUndefined();
    expect(verdicts[1]).toMatch(/unknown keyword 'nonsense-keyword'/);
    expect(verdicts[2]).toBeUndefined();
  });
});

describe("a dead sidecar", () => {
  let dir: string;
  const started: ChildProcess[] = [];
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "crossway-vet-dead-"));
  });
  afterAll(async () => {
    for (const c of started) await stop(c);
    rmSync(dir, { recursive: true, force: true });
  });

  it("times out with a clear reason, takes its job back, and fails fast while the sidecar stays down", async () => {
    started.push(await startSidecar(dir));
    const check = checker(dir, { pickupMs: 1_500, pickupAfterMissMs: 300 });
    expect(await check(goodFiles())).toBeUndefined();
    await stop(started[0]);
    const t0 = Date.now();
    const e = await check(goodFiles()).then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(CheckUnavailable);
    expect(String((e as Error).message)).toMatch(/haproxy-vet sidecar did not take the check within 1500 ms/);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1_500);
    expect(readdirSync(dir)).toEqual([vetPaths.version]); // the job was taken back
    const t1 = Date.now();
    await expect(check(goodFiles())).rejects.toThrow(/within 300 ms/);
    expect(Date.now() - t1).toBeLessThan(1_500);
    // back up: the next check works again
    started.push(await startSidecar(dir));
    expect(await check(goodFiles())).toBeUndefined();
    await stop(started[1]);
  });

  it("a result without an exit code (a sidecar that died writing it) is no verdict", async () => {
    const check = checker(dir, { pickupMs: 5_000 });
    const pending = check(goodFiles());
    // stand in for a sidecar that took the job and left a result with an empty exit code
    const job = await eventually(
      "the job to appear",
      async () => readdirSync(dir).find((n) => n.startsWith("job.")),
      5_000,
      10,
    );
    const id = job.slice("job.".length);
    mkdirSync(join(dir, `.res.${id}`));
    writeFileSync(join(dir, `.res.${id}`, vetPaths.out), "");
    writeFileSync(join(dir, `.res.${id}`, vetPaths.rc), "");
    renameSync(join(dir, `.res.${id}`), join(dir, vetPaths.result(id)));
    await expect(pending).rejects.toThrow(/wrote no exit code/);
  });
});

describe("which check the controller uses", () => {
  const quiet = pino({ level: "silent" });
  it("the sidecar when CROSSWAY_VET_DIR names a directory, else a local haproxy, else none", () => {
    const dir = mkdtempSync(join(tmpdir(), "crossway-vet-env-"));
    try {
      writeFileSync(join(dir, vetPaths.version), "HAProxy version 9.9.9 (the sidecar's)\n");
      expect(chooseConfigCheck({ [VET_DIR_ENV]: dir }, quiet)?.version).toBe("HAProxy version 9.9.9 (the sidecar's)");
      expect(chooseConfigCheck({ [VET_DIR_ENV]: join(dir, "missing") }, quiet)?.version).toBe(
        haproxyVersion("haproxy"),
      );
      expect(chooseConfigCheck({}, quiet)?.version).toBe(haproxyVersion("haproxy"));
      expect(chooseConfigCheck({ CROSSWAY_HAPROXY_BIN: "off" }, quiet)).toBeUndefined();
      expect(VET_DIR).toMatch(/^\/run\//);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
