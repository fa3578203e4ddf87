/**
 * A data-plane pod never crash-loops on a config: the haproxy container's own command (run here
 * as the pod runs it, with its folder moved to a temp dir) checks each config with its haproxy
 * before starting, waits on a refused one, and the agent reports the refusal instead of waiting
 * out its start timeout. An agent without a haproxy binary of its own (the real pod) is used.
 */
import { afterAll, describe, expect, it } from "@jest/globals";
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { applyConfig, type CoreOptions } from "../../agent/core";
import { HAPROXY_COMMAND } from "../../capabilities/dataplane/manifests";
import { RUN_DIR } from "../../capabilities/dataplane/conventions";
import { renderGateway } from "../../capabilities/render/index";
import { gateway, listener, match, port, prefix, rule, svc, vhost } from "../render/ir-builders";
import { freePort, request, sleep, startEcho, tempDir, type Echo } from "../render/harness";

let container: ChildProcess | undefined;
let echo: Echo | undefined;

afterAll(async () => {
  container?.kill("SIGKILL");
  await echo?.close();
});

describe("the haproxy container", () => {
  it("waits on a config HAProxy refuses (no crash loop), and starts on the next good one", async () => {
    echo = await startEcho("e");
    const P = await freePort();
    const dir = tempDir("crossway-nocrash-");
    const ep = [{ ip: "127.0.0.1", port: echo.port }];
    const files = (bad: boolean) =>
      renderGateway(
        gateway([
          port(P, [
            listener("http", undefined, [
              vhost("*", [
                bad
                  ? rule(match({ path: { type: "RegularExpression", value: "/\\u0041" } }), [svc("e", ep)])
                  : rule(prefix("/"), [svc("e", ep)]),
              ]),
            ]),
          ]),
        ]),
        { runDir: dir, bindAddress: "127.0.0.1" },
      ).files;
    const script = HAPROXY_COMMAND[2].replaceAll(RUN_DIR, dir);
    container = spawn(HAPROXY_COMMAND[0], [HAPROXY_COMMAND[1], script], { stdio: "ignore" });
    let exits = 0;
    container.on("exit", () => exits++);
    const opts: Partial<CoreOptions> = {
      runDir: dir,
      masterSocket: join(dir, "master.sock"),
      haproxyBin: undefined, // like the pod's agent image: no haproxy of its own
      startTimeoutMs: 20_000,
      reloadTimeoutMs: 10_000,
      log: () => undefined,
    };
    const started = Date.now();
    const bad = await applyConfig(files(true), "1", opts);
    expect(bad.outcome).toBe("rejected");
    expect(bad.reason).toMatch(/PCRE2 does not support/);
    expect(Date.now() - started).toBeLessThan(10_000); // told by the container, not by a timeout
    await sleep(1500);
    expect(exits).toBe(0); // still waiting, never exited
    const good = await applyConfig(files(false), "2", opts);
    expect(good.outcome).toBe("initial");
    expect((await request(P, "/x")).echo?.backend).toBe("e");
    expect(exits).toBe(0);
  }, 60_000);
});
