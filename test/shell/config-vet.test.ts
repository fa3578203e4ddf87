/**
 * Config vetting with the real `haproxy -c`: a route whose rendering HAProxy refuses is found and
 * left out on its own (status says why), the other teams' routes keep being published, and a
 * steady cluster costs no further checks.
 */
import { afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino, type Logger } from "pino";
import { defaultValidator, translate } from "../../capabilities/engine";
import type { GatewayIR } from "../../capabilities/engine/ir";
import { renderGateway } from "../../capabilities/render/index";
import {
  ConfigVetter,
  findHaproxy,
  haproxyChecker,
  restrictIR,
  type ConfigCheck,
  type VersionedCheck,
} from "../../capabilities/reconcilers/config-vet";
import { sidecarChecker } from "../../capabilities/reconcilers/config-checks";
import { vetSidecarCommand } from "../../capabilities/dataplane/vet-sidecar";
import { ANN_VETTED_WITH } from "../../capabilities/dataplane/conventions";
import { haproxyVersion } from "../../capabilities/dataplane/haproxy-version";
import { eventually } from "../../hack/lib/eventually";
import { Controller } from "../../capabilities/reconcilers/controller";
import { readSettings } from "../../capabilities/reconcilers/config";
import { decodeConfigData } from "../../capabilities/dataplane/secret-data";
import { gateway, listener, match, port, prefix, rule, svc, vhost } from "../render/ir-builders";
import { FakeKube, seedAcme } from "./fake-kube";

const quiet = pino({ level: "silent" });
const bin = findHaproxy({});
if (!bin) throw new Error("these tests need the haproxy binary (hack/setup.sh installs it)");

/** The real check, counting its calls. */
function counted(): { check: ConfigCheck; calls: () => number } {
  const real = haproxyChecker(bin!);
  let n = 0;
  return {
    check: (files) => {
      n++;
      return real(files);
    },
    calls: () => n,
  };
}

const ep = [{ ip: "127.0.0.1", port: 9 }];
/** A rule of route `name` (namespace "team") that HAProxy accepts, or refuses when `bad`. */
function teamRule(name: string, path: string, bad = false) {
  const m = bad
    ? match({
        path: { type: "PathPrefix", value: path },
        headers: [{ type: "RegularExpression", name: "x", value: "\\u0041" }],
      })
    : prefix(path);
  const r = rule(m, [svc(name, ep)]);
  r.route = { kind: "HTTPRoute", namespace: "team", name };
  r.id = `httproute/team/${name}/r0/m0`;
  return r;
}

const irOf = (rules: ReturnType<typeof teamRule>[]): GatewayIR =>
  gateway([port(80, [listener("http", undefined, [vhost("*", rules)])])]);

describe("ConfigVetter", () => {
  it("finds exactly the route HAProxy refuses, with HAProxy's words, in a few checks", async () => {
    const { check, calls } = counted();
    const vetter = new ConfigVetter((ir) => renderGateway(ir), { check, created: () => "", log: quiet });
    const rules = Array.from({ length: 16 }, (_, i) => teamRule(`r${i}`, `/r${i}`, i === 11));
    const v = await vetter.vet([irOf(rules)]);
    expect([...v.refused.keys()]).toEqual(["HTTPRoute/team/r11"]);
    expect(v.refused.get("HTTPRoute/team/r11")).toMatch(/HAProxy refused it: .*PCRE2 does not support/);
    expect(v.gateways.size).toBe(0);
    // skeleton + all 16 + halving down to one of 16: a handful, not one check per route
    expect(calls()).toBeLessThanOrEqual(2 + 2 * Math.ceil(Math.log2(16)) + 1);
  });

  it("checks nothing again for routes it already accepted; a changed route alone is checked", async () => {
    const { check, calls } = counted();
    const vetter = new ConfigVetter((ir) => renderGateway(ir), { check, created: () => "", log: quiet });
    const good = Array.from({ length: 8 }, (_, i) => teamRule(`r${i}`, `/r${i}`));
    expect((await vetter.vet([irOf(good)])).refused.size).toBe(0);
    const first = calls();
    expect((await vetter.vet([irOf(good)])).refused.size).toBe(0);
    expect(calls()).toBe(first);
    const changed = [...good.slice(0, 7), teamRule("r7", "/changed")];
    expect((await vetter.vet([irOf(changed)])).refused.size).toBe(0);
    expect(calls()).toBe(first + 1);
  });

  it("a Gateway whose own parts HAProxy refuses is reported, not its routes", async () => {
    const refuseAll: ConfigCheck = async () => "bad listener";
    const vetter = new ConfigVetter((ir) => renderGateway(ir), { check: refuseAll, created: () => "", log: quiet });
    const v = await vetter.vet([irOf([teamRule("a", "/a")])]);
    expect(v.gateways.get("default/gw")).toBe("bad listener");
    expect(v.refused.size).toBe(0);
  });

  it("over the Secret budget, the newest routes are left out until the rest fits", async () => {
    const { check } = counted();
    const created = (key: string) => `2026-01-01T00:00:${key.slice(-2)}Z`; // r10 … r39: later = newer
    const rules = Array.from({ length: 30 }, (_, i) => teamRule(`r${i + 10}`, `/r${i + 10}`));
    const full = renderGateway(irOf(rules));
    const budget = JSON.stringify(full.files).length; // generous for 30 routes uncompressed…
    const vetter = new ConfigVetter((ir) => renderGateway(ir), {
      check,
      created,
      budgetBytes: Math.floor(budget * 0.6), // …but not for all of them base64-encoded
      log: quiet,
    });
    const v = await vetter.vet([irOf(rules)]);
    const left = [...v.refused.keys()].sort();
    expect(left.length).toBeGreaterThan(0);
    expect(left.length).toBeLessThan(30);
    // exactly the newest ones
    expect(left).toEqual(rules.slice(30 - left.length).map((r) => `HTTPRoute/team/${r.route.name}`));
    expect(v.refused.get(left[0])).toMatch(/over the budget of \d+ KiB; the newest routes are left out/);
    const kept = new Set(rules.slice(0, 30 - left.length).map((r) => `HTTPRoute/team/${r.route.name}`));
    expect(restrictIR(irOf(rules), kept).ports[0].listeners[0].virtualHosts[0].rules).toHaveLength(kept.size);
  });
});

/** The ACME seed with the product team's route using a regex only HAProxy refuses; a Controller vetting with `check`. */
function acmeController(check: VersionedCheck, log: Logger = quiet) {
  const kube = new FakeKube();
  seedAcme(kube);
  // The product team's route uses a regex that the engine's validator is told to let through
  // (standing in for any PCRE2 construct the validator does not know): only HAProxy refuses it.
  const product = kube.objects.get(kube.key("HTTPRoute", "product", "product")) as unknown as {
    spec: { rules: { matches: unknown[] }[] };
  };
  product.spec.rules[0].matches = [{ path: { type: "RegularExpression", value: "/product\\u0041" } }];
  const permissive = { ...defaultValidator(), regex: () => undefined };
  const c = new Controller({
    settings: { ...readSettings({}), debounceMs: 10, maxWaitMs: 50, resyncSeconds: 0, catchUpResyncSeconds: 0 },
    kube,
    translate: (s, o) => translate(s, { ...o, validator: permissive }),
    dataPlane: { render: (ir) => renderGateway(ir), manifests: () => [], check },
    log,
  });
  const accepted = (name: string) =>
    (
      kube.patches.filter((p) => p.ref.name === name).at(-1)!.status.parents as {
        conditions: { type: string; status: string; reason: string; message: string }[];
      }[]
    )[0].conditions.find((x) => x.type === "Accepted")!;
  const secret = () =>
    kube.applied.filter((o) => o.kind === "Secret").at(-1) as unknown as {
      metadata: { annotations: Record<string, string> };
      data: Record<string, string>;
    };
  const published = () => {
    const decoded = decodeConfigData(secret().data);
    if ("error" in decoded) throw new Error(decoded.error);
    return decoded.files;
  };
  return { c, accepted, secret, published };
}

describe("Controller with the vetter", () => {
  it("a route HAProxy refuses is Accepted=False with HAProxy's reason; the others are published", async () => {
    const { c, accepted, secret, published } = acmeController(haproxyChecker(bin!));
    await c.start();
    await c.loop.idle();
    expect(accepted("product")).toMatchObject({ status: "False", reason: "UnsupportedValue" });
    expect(accepted("product").message).toMatch(/data plane refused .*PCRE2 does not support/);
    expect(accepted("careers")).toMatchObject({ status: "True" });
    expect(published()["haproxy.cfg"]).not.toContain("u0041");
    expect(Object.values(published()).join("\n")).toContain("/careers");
    expect(secret().metadata.annotations[ANN_VETTED_WITH]).toBe(haproxyVersion(bin!));
    await c.stop();
  });

  describe("through the haproxy-vet sidecar (its exact command, as in the watcher pod)", () => {
    let dir: string;
    let sidecar: ChildProcess | undefined;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), "crossway-vet-controller-"));
    });
    afterEach(async () => {
      if (sidecar && sidecar.exitCode === null && sidecar.signalCode === null) {
        sidecar.kill("SIGKILL");
        await new Promise((r) => sidecar!.once("exit", r));
      }
      rmSync(dir, { recursive: true, force: true });
    });
    const startSidecar = async () => {
      const [cmd, ...args] = vetSidecarCommand(dir);
      sidecar = spawn(cmd, args, { stdio: ["ignore", "ignore", "inherit"] });
      await eventually("the sidecar's version", async () => existsSync(join(dir, "version")) || undefined, 5_000, 50);
    };

    it("refuses the route with HAProxy's words and publishes the rest, vetted with the sidecar's version", async () => {
      await startSidecar();
      const { c, accepted, secret, published } = acmeController(sidecarChecker(dir, { runMs: 10_000 }));
      await c.start();
      await c.loop.idle();
      expect(accepted("product")).toMatchObject({ status: "False", reason: "UnsupportedValue" });
      expect(accepted("product").message).toMatch(/data plane refused .*PCRE2 does not support/);
      expect(accepted("careers")).toMatchObject({ status: "True" });
      expect(Object.values(published()).join("\n")).toContain("/careers");
      expect(secret().metadata.annotations[ANN_VETTED_WITH]).toBe(haproxyVersion(bin!));
      await c.stop();
    });

    it("a dead sidecar is no verdict: nothing refused, published unvetted for the agents to check, logged", async () => {
      const lines: { level: number; msg: string; reason?: string }[] = [];
      const log = pino({ level: "info" }, { write: (l: string) => void lines.push(JSON.parse(l)) });
      const { c, accepted, secret, published } = acmeController(sidecarChecker(dir, { pickupMs: 500 }), log);
      await c.start();
      await c.loop.idle();
      expect(accepted("product")).toMatchObject({ status: "True" });
      expect(published()["haproxy.cfg"]).toContain("u0041");
      expect(secret().metadata.annotations[ANN_VETTED_WITH]).toBeUndefined();
      const warn = lines.find((l) => l.msg.startsWith("config vetting unavailable"));
      expect(warn).toMatchObject({ level: 40 });
      expect(warn?.reason).toMatch(/haproxy-vet sidecar did not take the check within 500 ms/);
      await c.stop();
    });
  });
});
