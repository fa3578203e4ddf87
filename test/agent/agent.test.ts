/**
 * The agent's core against a real haproxy on loopback (no API server): first config, hitless
 * reloads under keep-alive load, endpoint-only changes through the runtime API, rejected configs.
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import http from "node:http";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { applyConfig, type CoreOptions } from "../../agent/core";
import { renderGateway, configSkeleton } from "../../capabilities/render/index";
import { gateway, listener, port, prefix, rule, svc, vhost } from "../render/ir-builders";
import { freePort, request, sleep, startEcho, startHaproxy, tempDir, type Echo, type Haproxy } from "../render/harness";

let echoes: Echo[] = [];
let haproxy: Haproxy;
let P = 0;
let dir = "";
let opts: Partial<CoreOptions>;
const quiet = () => undefined;

/** A config with `extra` additional routes /v0../v<extra-1>, all backed by `main`'s endpoint(s). */
function render(main: Echo | Echo[], extra = 0) {
  const ep = (Array.isArray(main) ? main : [main]).map((e) => ({ ip: "127.0.0.1", port: e.port }));
  // Stable route names (the builder numbers them): they are in the files, like the real ones.
  const route = (name: string) => ({ route: { kind: "HTTPRoute" as const, namespace: "default", name } });
  const rules = [
    ...Array.from({ length: extra }, (_, i) => rule(prefix(`/v${i}`), [svc(`extra${i}`, ep)], [], route(`v${i}`))),
    rule(prefix("/"), [svc("main", ep)], [], route("main")),
  ];
  return renderGateway(gateway([port(P, [listener("http", undefined, [vhost("*", rules)])])]), {
    runDir: dir,
    bindAddress: "127.0.0.1",
  }).files;
}

beforeAll(async () => {
  echoes = [await startEcho("e1"), await startEcho("e2"), await startEcho("e3")];
  P = await freePort();
  dir = tempDir("crossway-agent-");
  opts = {
    runDir: dir,
    masterSocket: join(dir, "master.sock"),
    haproxyBin: "haproxy",
    startTimeoutMs: 10_000,
    reloadTimeoutMs: 10_000,
    log: quiet,
  };
  // Like the pod: the agent writes the first config, the haproxy container waits for it.
  const first = applyConfig(render(echoes[0]), "1", opts);
  for (let i = 0; i < 50 && !existsSync(join(dir, "haproxy.cfg")); i++) await sleep(100);
  haproxy = await startHaproxy(dir, P);
  const r = await first;
  expect(r.outcome).toBe("initial");
}, 30_000);

afterAll(async () => {
  await haproxy?.stop();
  for (const e of echoes) await e.close();
});

const workerPid = async () => (await applyConfig(JSON.parse(JSON.stringify(currentFiles())), "same", opts)).workerPid;
const currentFiles = () => ({ "haproxy.cfg": readFileSync(join(dir, "haproxy.cfg"), "utf8"), ...mapFiles() });
function mapFiles() {
  const names = JSON.parse(readFileSync(join(dir, ".crossway-files.json"), "utf8")) as string[];
  return Object.fromEntries(
    names.filter((n) => n !== "haproxy.cfg").map((n) => [n, readFileSync(join(dir, n), "utf8")]),
  );
}

describe("agent core", () => {
  it("serves the first config", async () => {
    expect((await request(P, "/x")).echo?.backend).toBe("e1");
    expect(await workerPid()).toBeGreaterThan(0);
  });

  it("applies an endpoint-only change through the runtime API without a reload", async () => {
    const pid = await workerPid();
    const next = render(echoes[1]);
    expect(configSkeleton(next["haproxy.cfg"])).toBe(configSkeleton(render(echoes[0])["haproxy.cfg"]));
    const r = await applyConfig(next, "2", opts);
    expect(r.outcome).toBe("runtime");
    expect(r.workerPid).toBe(pid);
    for (let i = 0; i < 4; i++) expect((await request(P, "/x")).echo?.backend).toBe("e2");
  });

  it("adds and removes endpoints through the runtime API", async () => {
    const pid = await workerPid();
    const backends = async () =>
      new Set(await Promise.all(Array.from({ length: 8 }, async () => (await request(P, "/x")).echo?.backend)));
    expect((await applyConfig(render([echoes[0], echoes[1]]), "3", opts)).outcome).toBe("runtime");
    expect(await backends()).toEqual(new Set(["e1", "e2"]));
    expect((await applyConfig(render([echoes[1]]), "4", opts)).outcome).toBe("runtime");
    expect(await backends()).toEqual(new Set(["e2"]));
    expect(await workerPid()).toBe(pid);
  });

  it("reloads 20 structural changes under keep-alive load without a failed request", async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    let ok = 0;
    const failures: string[] = [];
    let stop = false;
    const deadline = Date.now() + 60_000;
    const worker = async () => {
      for (let n = 0; !stop && n < 200_000 && Date.now() < deadline; n++) {
        try {
          const r = await request(P, "/x", { agent, timeoutMs: 5000 });
          if (r.status === 200) ok++;
          else failures.push(`status ${r.status}`);
        } catch (e) {
          failures.push(String(e));
        }
      }
    };
    const load = Promise.all(Array.from({ length: 8 }, worker));
    const pids = new Set<number | undefined>([await workerPid()]);
    for (let i = 1; i <= 20; i++) {
      const r = await applyConfig(render(echoes[2], i), String(10 + i), opts);
      expect(r.outcome).toBe("reloaded");
      pids.add(r.workerPid);
      await sleep(50);
    }
    stop = true;
    await load;
    agent.destroy();
    console.info(`hitless reloads: ${ok} requests under keep-alive load across 20 reloads, ${failures.length} failed`);
    expect(failures).toEqual([]);
    expect(ok).toBeGreaterThan(100);
    expect(pids.size).toBe(21); // a new worker for each change
    expect((await request(P, "/v19/y")).echo?.backend).toBe("e3");
  }, 90_000);

  it("rejects a broken config (pre-check) and keeps serving the old one", async () => {
    const pid = await workerPid();
    const before = currentFiles();
    const r = await applyConfig({ ...render(echoes[0]), "haproxy.cfg": "global\n  bogus-keyword 1\n" }, "40", opts);
    expect(r.outcome).toBe("rejected");
    expect(r.reason).toMatch(/bogus-keyword/);
    expect(currentFiles()).toEqual(before);
    expect(await workerPid()).toBe(pid);
    expect((await request(P, "/v19/y")).status).toBe(200);
  });

  it("detects a reload haproxy refuses, restores the files and keeps the old worker", async () => {
    const pid = await workerPid();
    const before = currentFiles();
    const broken = {
      ...render(echoes[0]),
      "haproxy.cfg": `${before["haproxy.cfg"]}\nbackend broken\n  server x nowhere.invalid.:80\n`,
    };
    const r = await applyConfig(broken, "41", { ...opts, haproxyBin: undefined });
    expect(r.outcome).toBe("rejected");
    expect(r.reason).toMatch(/rejected/);
    expect(currentFiles()).toEqual(before);
    expect(await workerPid()).toBe(pid);
    expect((await request(P, "/v19/y")).echo?.backend).toBe("e3");
    // and the next good config still reloads
    const ok = await applyConfig(render(echoes[0]), "42", opts);
    expect(ok.outcome).toBe("reloaded");
    expect((await request(P, "/v19/y")).echo?.backend).toBe("e1");
  }, 30_000);

  it("without a running haproxy, writes the config for its next start instead of reloading", async () => {
    const idle = tempDir("crossway-agent-idle-");
    const o = { ...opts, runDir: idle, masterSocket: join(idle, "master.sock"), startTimeoutMs: 300 };
    expect((await applyConfig(render(echoes[0]), "1", o)).outcome).toBe("waiting");
    const next = render(echoes[1], 2);
    const r = await applyConfig(next, "2", o);
    expect(r.outcome).toBe("waiting");
    expect(readFileSync(join(idle, "haproxy.cfg"), "utf8")).toBe(next["haproxy.cfg"]);
  });

  it("refuses file names that could escape the run folder", async () => {
    const r = await applyConfig({ ...render(echoes[0]), "../evil": "x" }, "43", opts);
    expect(r).toMatchObject({ outcome: "rejected", reason: expect.stringMatching(/not allowed/) });
  });
});
