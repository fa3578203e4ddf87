/**
 * The data-plane agent (bundled into agent.js, run by `node` in the data-plane pod): watches the
 * Gateway's config Secret, hands each new generation to the core, and reports on its own Pod what
 * HAProxy serves. It never exits on bad input; API errors back off and re-list.
 */
import { ANN_REJECTED, ANN_SERVED_GENERATION } from "../capabilities/dataplane/conventions";
import { applyConfig, defaultOptions, type ApplyResult } from "./core";
import {
  HttpError,
  inClusterConfig,
  listSecret,
  patchPodAnnotations,
  watchSecret,
  type KubeConfig,
  type SecretObject,
} from "./kube";
import { log } from "./log";
import { secretFiles } from "./secret";

interface Env {
  pod: string;
  namespace: string;
  secret: string;
}

function readEnv(): Env {
  const [pod, namespace, secret] = [process.env.POD_NAME, process.env.POD_NAMESPACE, process.env.CONFIG_SECRET];
  if (!pod || !namespace || !secret) throw new Error("POD_NAME, POD_NAMESPACE and CONFIG_SECRET must be set");
  return { pod, namespace, secret };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Reloads are rate-limited: at most this many in any 10 s window. Each reload starts a worker
 * while the old one keeps its connections (up to hard-stop-after), so a tenant churning routes
 * could stack workers; past the limit the next reload waits, and every generation arriving
 * meanwhile collapses into the newest. Changes at any human pace are never delayed.
 */
const RELOAD_WINDOW_MS = 10_000;
const MAX_RELOADS_PER_WINDOW = Number(process.env.CROSSWAY_MAX_RELOADS_PER_10S ?? 20) || 20;

class Agent {
  private applied = "";
  /** When the reloads of the last RELOAD_WINDOW_MS happened, oldest first. */
  private reloads: number[] = [];
  private pending?: SecretObject;
  private running = false;
  private opts = defaultOptions();

  constructor(
    private readonly k: KubeConfig,
    private readonly env: Env,
  ) {}

  /** Latest Secret wins: generations seen while one is being applied collapse into one. */
  offer(s: SecretObject): void {
    this.pending = s;
    if (!this.running) void this.drain();
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.pending) {
        this.reloads = this.reloads.filter((t) => t > Date.now() - RELOAD_WINDOW_MS);
        if (this.reloads.length >= MAX_RELOADS_PER_WINDOW) {
          const wait = this.reloads[0] + RELOAD_WINDOW_MS - Date.now();
          log("info", "reload rate limit reached; newer generations collapse meanwhile", { waitMs: wait });
          await sleep(wait); // newer Secrets replace `pending` meanwhile
        }
        const s = this.pending;
        this.pending = undefined;
        await this.handle(s).catch((e) => log("error", "applying the config failed", { error: String(e) }));
      }
    } finally {
      this.running = false;
    }
  }

  private async handle(s: SecretObject): Promise<void> {
    const parsed = secretFiles(s);
    if ("error" in parsed) {
      log("warn", "config secret ignored", { reason: parsed.error });
      await this.report({ [ANN_REJECTED]: parsed.error.slice(0, 1000) });
      return;
    }
    if (parsed.generation === this.applied) return;
    const r: ApplyResult = await applyConfig(parsed.files, parsed.generation, {
      ...this.opts,
      vettedWith: parsed.vettedWith,
    });
    log(r.outcome === "rejected" || r.outcome === "waiting" ? "warn" : "info", `config ${r.outcome}`, {
      generation: r.generation,
      worker: r.workerPid,
      reason: r.reason,
    });
    if (r.outcome === "reloaded") this.reloads.push(Date.now());
    if (r.outcome === "waiting") {
      // haproxy is not up yet: try again unless a newer Secret arrived meanwhile
      setTimeout(() => {
        if (!this.pending) this.offer(s);
      }, 2000);
      return;
    }
    if (r.outcome === "rejected") {
      await this.report({ [ANN_REJECTED]: `generation ${r.generation}: ${r.reason ?? "rejected"}`.slice(0, 4000) });
      this.applied = parsed.generation; // do not retry the same bad generation in a loop
      return;
    }
    this.applied = parsed.generation;
    await this.report({ [ANN_SERVED_GENERATION]: parsed.generation, [ANN_REJECTED]: null });
  }

  private async report(annotations: Record<string, string | null>): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        await patchPodAnnotations(this.k, this.env.namespace, this.env.pod, annotations);
        return;
      } catch (e) {
        log("warn", "patching the pod annotations failed", { error: String(e), attempt });
        await sleep(500 * 2 ** attempt);
      }
    }
  }

  /** list → watch from its resourceVersion → resume; re-list on 410 Gone; back off on errors. */
  async run(): Promise<never> {
    let backoff = 500;
    for (;;) {
      try {
        const { secret, resourceVersion } = await listSecret(this.k, this.env.namespace, this.env.secret);
        log("info", "listed config secret", { found: !!secret, resourceVersion });
        if (secret) this.offer(secret);
        let rv = resourceVersion;
        for (;;) {
          let gone = false;
          await watchSecret(this.k, this.env.namespace, this.env.secret, rv, (e) => {
            if (e.type === "ERROR") {
              gone = e.object.code === 410;
              if (!gone) log("warn", "watch error event", { code: e.object.code, message: e.object.message });
              return;
            }
            if (e.object.metadata?.resourceVersion) rv = e.object.metadata.resourceVersion;
            if (e.type === "ADDED" || e.type === "MODIFIED") this.offer(e.object);
            if (e.type === "DELETED") log("warn", "config secret deleted; keeping the last config");
          });
          backoff = 500;
          if (gone) break; // re-list
        }
      } catch (e) {
        if (e instanceof HttpError && e.status === 410) continue;
        log("warn", "API call failed; backing off", { error: String(e), backoffMs: backoff });
        await sleep(backoff + Math.floor(Math.random() * 250));
        backoff = Math.min(backoff * 2, 30_000);
      }
    }
  }
}

function main(): void {
  process.on("uncaughtException", (e) => log("error", "uncaught exception", { error: String(e) }));
  process.on("unhandledRejection", (e) => log("error", "unhandled rejection", { error: String(e) }));
  let env: Env;
  let k: KubeConfig;
  try {
    env = readEnv();
    k = inClusterConfig();
  } catch (e) {
    log("error", "cannot start", { error: String(e) });
    process.exitCode = 1;
    return;
  }
  log("info", "agent started", { pod: env.pod, namespace: env.namespace, secret: env.secret });
  void new Agent(k, env).run();
}

main();
