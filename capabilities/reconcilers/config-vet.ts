/**
 * Before a config is published, the controller checks it with `haproxy -c` of the same HAProxy
 * version the data plane runs, so that no route can make HAProxy reject the whole Gateway:
 *
 * - A Gateway's own parts (ports, listeners, certificates: the IR without routes) are checked
 *   when they change. If HAProxy refuses them, nothing new is published for that Gateway (the
 *   last accepted config keeps serving) and its Programmed condition says why.
 * - Every route is checked when it first appears or its rendering changes (endpoints aside):
 *   the Gateway's parts plus all new routes in one `haproxy -c`; if that fails, halves are
 *   checked until the culprits are found. Culprits are returned with HAProxy's own words, and the
 *   controller translates again with them excluded (Accepted=False, UnsupportedValue).
 * - The whole rendering must fit the config Secret's budget; if it does not, the newest routes
 *   are left out until it fits.
 *
 * Checks are incremental, so a steady cluster costs nothing and a new route costs one small
 * `haproxy -c`. The rendering made here is the one DataPlaneSync publishes (no second render).
 */
import { createHash } from "node:crypto";
import { execFile, spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { GatewayIR, ListenerIR, RouteRuleIR } from "../engine/ir";
import { routeKey } from "../engine/snapshot";
import { encodeConfigFiles } from "../dataplane/secret-data";
import type { RenderGateway } from "./dataplane";
import { log as rootLog, type Logger } from "./log";
import { haproxyVersion } from "../dataplane/haproxy-version";

/**
 * `haproxy -c` on a set of files: undefined when accepted, else HAProxy's reasons. Throws
 * CheckUnavailable when the check could not run (no verdict either way).
 */
export type ConfigCheck = (files: Record<string, string>) => Promise<string | undefined>;
/** A ConfigCheck that knows its `haproxy -v` line (published with vetted configs, ANN_VETTED_WITH). */
export type VersionedCheck = ConfigCheck & { readonly version?: string };

/**
 * The check could not run (binary gone, killed, timed out, the vet sidecar not answering). Never a
 * verdict: the config is neither refused nor marked vetted, and is published as if unchecked, so
 * the data-plane agents run their own check (the behaviour without a haproxy binary).
 */
export class CheckUnavailable extends Error {
  override name = "CheckUnavailable";
}

/** Bytes of Secret data (base64) a Gateway's config may use: a Secret holds at most 1 MiB. */
export const CONFIG_BUDGET_BYTES = 900 * 1024;
/** A refusal reason longer than this is cut (it is repeated in a status message). */
const REASON_MAX = 600;

/** The haproxy binary to check configs with: CROSSWAY_HAPROXY_BIN ("off" = none), else `haproxy` on PATH. */
export function findHaproxy(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const bin = env.CROSSWAY_HAPROXY_BIN?.trim() || "haproxy";
  if (bin === "off") return undefined;
  try {
    return spawnSync(bin, ["-v"], { stdio: "ignore", timeout: 5000 }).status === 0 ? bin : undefined;
  } catch {
    return undefined;
  }
}

/** HAProxy's ALERT lines, without pids, temp paths and boilerplate. */
export function alertText(output: string, dir: string): string {
  const alerts = output
    .split("\n")
    .filter((l) => l.includes("ALERT") && !/Error\(s\) found in configuration file|Fatal errors found/.test(l))
    .map((l) =>
      l
        .replace(/^\[ALERT\]\s*\(\d+\)\s*:\s*(config\s*:\s*)?/, "")
        .replaceAll(`${dir}/`, "")
        .trim(),
    );
  const text = alerts.length ? alerts.join("; ") : output.trim().split("\n").slice(-1)[0] || "rejected";
  return text.length > REASON_MAX ? `${text.slice(0, REASON_MAX)}…` : text;
}

/**
 * A ConfigCheck running `<bin> -c -C <tmp> -f <tmp>/haproxy.cfg` (maps are relative to -C); its
 * `version` is the binary's version line (published with the config, see ANN_VETTED_WITH).
 */
export function haproxyChecker(bin: string, timeoutMs = 60_000): VersionedCheck {
  const check = async (files: Record<string, string>) => {
    const dir = await mkdtemp(join(tmpdir(), "crossway-vet-"));
    try {
      await Promise.all(Object.entries(files).map(([name, text]) => writeFile(join(dir, name), text)));
      return await new Promise<string | undefined>((resolve, reject) => {
        execFile(
          bin,
          ["-c", "-C", dir, "-f", join(dir, "haproxy.cfg")],
          { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
          (err, stdout, stderr) => {
            if (!err) return resolve(undefined);
            // Only an exit code is HAProxy's verdict; a spawn error, signal or timeout is not.
            if (typeof err.code === "number" && !err.killed) return resolve(alertText(`${stdout}\n${stderr}`, dir));
            reject(
              new CheckUnavailable(
                err.killed
                  ? `${bin} -c gave no verdict within ${timeoutMs} ms`
                  : `${bin} -c could not run: ${err.signal ?? err.code ?? err.message}`,
              ),
            );
          },
        );
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };
  return Object.assign(check, { version: haproxyVersion(bin) });
}

export interface VetResult {
  /** Routes to leave out (routeKey → why), found in this pass. */
  refused: Map<string, string>;
  /** Gateways (`ns/name`) whose own parts HAProxy refuses → why. Nothing new is published for them. */
  gateways: Map<string, string>;
  /**
   * Set when a check could not run (CheckUnavailable): then nothing was refused or accepted in this
   * pass, and what is published now is unvetted.
   */
  unavailable?: string;
}

export interface VetterOptions {
  check: ConfigCheck;
  /** creationTimestamp of a route (routeKey), to leave the newest out first when over budget. */
  created: (key: string) => string;
  budgetBytes?: number;
  log?: Logger;
}

const gwKey = (ir: GatewayIR) => `${ir.gateway.namespace}/${ir.gateway.name}`;
const ruleKey = (r: RouteRuleIR) => routeKey(r.route.kind, r.route.namespace, r.route.name);
const sha = (s: string) => createHash("sha256").update(s).digest("hex");
/** JSON without endpoints: they change often and never make a config invalid. */
const stable = (v: unknown) => JSON.stringify(v, (k, x) => (k === "endpoints" ? undefined : x));

/** The IR with only the rules of routes in `keep` (vhosts left without rules dropped). */
export function restrictIR(ir: GatewayIR, keep: ReadonlySet<string>): GatewayIR {
  const listener = (l: ListenerIR): ListenerIR => ({
    ...l,
    virtualHosts: l.virtualHosts
      .map((vh) => ({ ...vh, rules: vh.rules.filter((r) => keep.has(ruleKey(r))) }))
      .filter((vh) => vh.rules.length > 0),
  });
  return { ...ir, ports: ir.ports.map((p) => ({ ...p, listeners: p.listeners.map(listener) })) };
}

/** routeKey → hash of everything the route contributes to the rendering (where and what). */
function routeHashes(ir: GatewayIR): Map<string, string> {
  const parts = new Map<string, string[]>();
  for (const p of ir.ports)
    for (const l of p.listeners)
      for (const vh of l.virtualHosts)
        for (const r of vh.rules) {
          const k = ruleKey(r);
          const list = parts.get(k) ?? [];
          list.push(`${p.port}\n${l.id}\n${vh.hostname}\n${stable(r)}`);
          parts.set(k, list);
        }
  return new Map([...parts].map(([k, list]) => [k, sha(list.join("\n"))]));
}

const encodedSize = (files: Record<string, string>) =>
  Object.entries(encodeConfigFiles(files)).reduce((n, [k, v]) => n + k.length + v.length, 0);

export class ConfigVetter {
  readonly #render: RenderGateway;
  readonly #o: Required<Omit<VetterOptions, "log">>;
  readonly #log: Logger;
  /** Per Gateway: hashes of its own parts and of route renderings that HAProxy accepted. */
  #good = new Map<string, Set<string>>();
  #rendered = new WeakMap<GatewayIR, ReturnType<RenderGateway>>();

  constructor(render: RenderGateway, o: VetterOptions) {
    this.#render = render;
    this.#o = { budgetBytes: CONFIG_BUDGET_BYTES, ...o };
    this.#log = (o.log ?? rootLog).child({ part: "config-vet" });
  }

  /** The rendering of this IR object (cached: DataPlaneSync publishes the same one). */
  rendered = (ir: GatewayIR): ReturnType<RenderGateway> => {
    let r = this.#rendered.get(ir);
    if (!r) this.#rendered.set(ir, (r = this.#render(ir)));
    return r;
  };

  /** Forget what was accepted (the periodic resync re-checks everything once). */
  forget(): void {
    this.#good.clear();
  }

  async vet(irs: GatewayIR[]): Promise<VetResult> {
    const out: VetResult = { refused: new Map(), gateways: new Map() };
    try {
      for (const ir of irs) await this.#vetOne(ir, out);
    } catch (e) {
      // A Gateway's accepted parts are recorded only once its pass completes: nothing is marked
      // good on a check that did not run, and the next run checks again.
      if (e instanceof CheckUnavailable) return { refused: new Map(), gateways: new Map(), unavailable: e.message };
      throw e;
    }
    return out;
  }

  async #vetOne(ir: GatewayIR, out: VetResult): Promise<void> {
    const gw = gwKey(ir);
    const before = this.#good.get(gw) ?? new Set<string>();
    const good = new Set<string>();
    const skeleton = restrictIR(ir, new Set());
    const skeletonHash = `gateway:${sha(stable(skeleton))}`;
    if (!before.has(skeletonHash)) {
      const why = await this.#o.check(this.#render(skeleton).files);
      if (why) {
        out.gateways.set(gw, why);
        this.#log.warn({ gateway: gw, reason: why }, "data plane refuses the Gateway's own configuration");
        this.#good.set(gw, good);
        return;
      }
    }
    good.add(skeletonHash);
    const hashes = routeHashes(ir);
    const fresh: string[] = [];
    for (const [k, h] of hashes) {
      if (before.has(`${k}\n${h}`)) good.add(`${k}\n${h}`);
      else fresh.push(k);
    }
    fresh.sort();
    const culprits = fresh.length ? await this.#culprits(ir, fresh) : new Map<string, string>();
    for (const k of fresh) if (!culprits.has(k)) good.add(`${k}\n${hashes.get(k)}`);
    for (const [k, why] of culprits) {
      out.refused.set(k, `HAProxy refused it: ${why}`);
      this.#log.warn({ gateway: gw, route: k, reason: why }, "route refused by the data plane; left out");
    }
    this.#good.set(gw, good);
    if (culprits.size === 0) this.#overBudget(ir, hashes, out);
  }

  /** Routes among `keys` whose rules make HAProxy refuse the config (halving until found). */
  async #culprits(ir: GatewayIR, keys: string[]): Promise<Map<string, string>> {
    const why = await this.#o.check(this.#render(restrictIR(ir, new Set(keys))).files);
    if (!why) return new Map();
    if (keys.length === 1) return new Map([[keys[0], why]]);
    const mid = Math.ceil(keys.length / 2);
    const found = new Map([
      ...(await this.#culprits(ir, keys.slice(0, mid))),
      ...(await this.#culprits(ir, keys.slice(mid))),
    ]);
    // Refused only together: leave the last one out (the next pass checks the rest again).
    return found.size > 0 ? found : new Map([[keys[keys.length - 1], why]]);
  }

  /** Leave out the newest routes until the whole rendering fits the Secret budget. */
  #overBudget(ir: GatewayIR, hashes: Map<string, string>, out: VetResult): void {
    const size = encodedSize(this.rendered(ir).files);
    if (size <= this.#o.budgetBytes) return;
    const newestFirst = [...hashes.keys()].sort(
      (a, b) => this.#o.created(b).localeCompare(this.#o.created(a)) || b.localeCompare(a),
    );
    // Smallest number of newest routes to drop (binary search; size grows with routes kept).
    let [lo, hi] = [1, newestFirst.length];
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const keep = new Set(newestFirst.slice(mid));
      if (encodedSize(this.#render(restrictIR(ir, keep)).files) <= this.#o.budgetBytes) hi = mid;
      else lo = mid + 1;
    }
    const why = `the Gateway's configuration would need ${Math.ceil(size / 1024)} KiB of its config Secret, over the budget of ${Math.floor(this.#o.budgetBytes / 1024)} KiB; the newest routes are left out until it fits`;
    for (const k of newestFirst.slice(0, lo)) out.refused.set(k, why);
    this.#log.warn(
      { gateway: gwKey(ir), sizeBytes: size, leftOut: lo },
      "config over the Secret budget; newest routes left out",
    );
  }
}
