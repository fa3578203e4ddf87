/**
 * The Secrets the controller reads, each by name with a GET: it never lists or watches Secrets,
 * so RBAC needs no `list`/`watch` on them and a Secret nobody references is never requested.
 *
 * `want(list)` says which Secrets are needed now (the engine's `secretsToRead` — permitted
 * certificateRefs — plus our config Secrets). A newly needed one is read at once; each is read
 * again every `refreshMs` (±20 %, so many Secrets do not come due together) to see rotations; one
 * no longer needed is dropped from the index (and so from the next status and config). Reads run
 * beside the reconcile loop, a few at a time, each bounded by a timeout: a slow GET delays only
 * the Gateway that needs that Secret, never the loop. What a read finds goes into the index like
 * a watch event did, and the loop is marked dirty only when that changes the engine's input.
 *
 * A 404 is "missing": the engine reports the listener's condition. Any other failure keeps what
 * was last read (a broken read must not tear a working listener down) and is retried sooner; a
 * 403 says RBAC does not let us read a Secret we need, so it is logged once, with the API
 * server's words, until a read succeeds again.
 */
import type { KubernetesObject } from "kubernetes-fluent-client";
import type { ObjectIndex } from "./index";
import type { KubeClient } from "./kube";
import { describeError, log as rootLog, type Logger } from "./log";

export interface WantedSecret {
  namespace: string;
  name: string;
  /** Read again every refresh interval (false: once, until it is no longer wanted). */
  refresh: boolean;
}

export interface SecretReaderOptions {
  refreshMs: number;
  /** One GET; a read that takes longer counts as failed (and is retried). */
  timeoutMs?: number;
  /** Reads in flight at once. */
  concurrency?: number;
  /** Called when a read changed the engine's input outside a reconcile run. */
  onChange: () => void;
  log?: Logger;
  random?: () => number;
}

type State = "unread" | "present" | "missing" | "failing";

interface Entry {
  namespace: string;
  name: string;
  refresh: boolean;
  state: State;
  failures: number;
  timer?: NodeJS.Timeout;
  queued: boolean;
}

const JITTER = 0.2;
const RETRY_BASE_MS = 1000;

const keyOf = (w: { namespace: string; name: string }) => `${w.namespace}/${w.name}`;

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer reading ${what} within ${ms}ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

export class SecretReader {
  readonly #kube: KubeClient;
  readonly #index: ObjectIndex;
  readonly #opts: Required<Omit<SecretReaderOptions, "log">>;
  readonly #log: Logger;
  #wanted = new Map<string, Entry>();
  #queue: Entry[] = [];
  #active = 0;
  #stopped = false;
  #settledWaiters: (() => void)[] = [];
  /** GETs issued so far (for the log line at start and for tests). */
  reads = 0;

  constructor(kube: KubeClient, index: ObjectIndex, opts: SecretReaderOptions) {
    this.#kube = kube;
    this.#index = index;
    this.#opts = { timeoutMs: 10_000, concurrency: 4, random: Math.random, ...opts };
    this.#log = (opts.log ?? rootLog).child({ part: "secrets" });
  }

  /** How many Secrets are wanted now. */
  get size(): number {
    return this.#wanted.size;
  }

  /**
   * Set what is needed. Returns true if a Secret that is no longer needed was dropped from the
   * index (the caller's next snapshot differs).
   */
  want(list: WantedSecret[]): boolean {
    if (this.#stopped) return false;
    const next = new Map(list.map((w) => [keyOf(w), w]));
    let changed = false;
    const dropped: string[] = [];
    for (const [key, e] of this.#wanted) {
      if (next.has(key)) continue;
      clearTimeout(e.timer);
      this.#wanted.delete(key);
      dropped.push(key);
      changed = this.#index.forget("Secret", e.namespace, e.name) || changed;
    }
    const added: string[] = [];
    for (const [key, w] of next) {
      const held = this.#wanted.get(key);
      if (held) {
        if (w.refresh && !held.refresh && held.state !== "unread" && !held.timer && !held.queued)
          this.#later(held, this.#jittered(this.#opts.refreshMs));
        held.refresh = w.refresh;
        continue;
      }
      const e: Entry = { ...w, state: "unread", failures: 0, queued: false };
      this.#wanted.set(key, e);
      added.push(key);
      this.#enqueue(e);
    }
    if (added.length || dropped.length) {
      this.#log.info(
        { added: added.length ? added : undefined, dropped: dropped.length ? dropped : undefined, wanted: this.size },
        "Secrets to read changed",
      );
    }
    return changed;
  }

  /** Resolves once every wanted Secret has been read once (found, missing or failed), or after `ms`. */
  settled(ms: number): Promise<boolean> {
    if (this.#isSettled()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      this.#settledWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  stop(): void {
    this.#stopped = true;
    for (const e of this.#wanted.values()) clearTimeout(e.timer);
    this.#queue = [];
  }

  #isSettled() {
    for (const e of this.#wanted.values()) if (e.state === "unread") return false;
    return true;
  }

  #jittered(ms: number) {
    return Math.round(ms * (1 - JITTER + 2 * JITTER * this.#opts.random()));
  }

  #later(e: Entry, ms: number) {
    clearTimeout(e.timer);
    e.timer = setTimeout(() => {
      e.timer = undefined;
      this.#enqueue(e);
    }, ms);
    e.timer.unref?.();
  }

  #enqueue(e: Entry) {
    if (this.#stopped || e.queued) return;
    e.queued = true;
    this.#queue.push(e);
    this.#pump();
  }

  #pump() {
    while (!this.#stopped && this.#active < this.#opts.concurrency && this.#queue.length > 0) {
      const e = this.#queue.shift()!;
      e.queued = false;
      if (this.#wanted.get(keyOf(e)) !== e) continue; // dropped while queued
      this.#active++;
      void this.#read(e).finally(() => {
        this.#active--;
        this.#pump();
        if (this.#settledWaiters.length && this.#isSettled()) {
          const waiters = this.#settledWaiters;
          this.#settledWaiters = [];
          waiters.forEach((w) => w());
        }
      });
    }
  }

  async #read(e: Entry) {
    const ref = { namespace: e.namespace, name: e.name };
    const before = this.#index.get("Secret", e.namespace, e.name)?.metadata?.resourceVersion;
    let found: KubernetesObject | undefined;
    let failure: ReturnType<typeof describeError> | undefined;
    this.reads++;
    try {
      found = await withTimeout(this.#kube.get("Secret", ref), this.#opts.timeoutMs, `Secret ${keyOf(e)}`);
    } catch (err) {
      failure = describeError(err);
    }
    if (this.#stopped || this.#wanted.get(keyOf(e)) !== e) return; // no longer wanted: forget the answer
    const was = e.state;
    if (failure) {
      e.failures++;
      e.state = was === "unread" ? "failing" : was;
      if (e.failures === 1) {
        const forbidden = failure.status === 403;
        this.#log.warn(
          { ...ref, status: failure.status, error: failure.error },
          forbidden
            ? "not allowed to read a Secret the controller needs (RBAC: secrets get)"
            : "reading a Secret failed; keeping what was read before and retrying",
        );
      }
      this.#later(e, this.#jittered(Math.min(this.#opts.refreshMs, RETRY_BASE_MS * 2 ** (e.failures - 1))));
      return;
    }
    if (e.failures > 0) this.#log.info({ ...ref, failedAttempts: e.failures }, "reading a Secret recovered");
    e.failures = 0;
    if (found) {
      e.state = "present";
      const change = this.#index.upsert("Secret", found);
      if (change.inputChanged) {
        if (was === "present")
          this.#log.info({ ...ref, resourceVersion: found.metadata?.resourceVersion }, "Secret changed");
        else if (was === "missing") this.#log.info(ref, "Secret appeared");
        this.#opts.onChange();
      }
    } else {
      e.state = "missing";
      // Forget only what was held when this read began: a newer copy (our own write) stays.
      const held = this.#index.get("Secret", e.namespace, e.name);
      if (held && held.metadata?.resourceVersion === before) {
        this.#index.forget("Secret", e.namespace, e.name);
        this.#log.info(ref, "Secret is gone");
        this.#opts.onChange();
      }
    }
    if (e.refresh) this.#later(e, this.#jittered(this.#opts.refreshMs));
  }
}
