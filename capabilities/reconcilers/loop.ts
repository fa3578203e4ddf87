/**
 * The one reconcile loop. Every watch event calls `markDirty()`; a single worker recomputes the
 * whole world at most once per debounce window:
 * - trailing debounce (`debounceMs`) so a burst becomes one run, capped at `maxWaitMs` after the
 *   first unserved mark so a steady stream of events cannot starve it;
 * - never two runs at once: marks during a run schedule exactly one follow-up run;
 * - a failed run (one that throws: nothing could be computed or written for anyone) is retried
 *   with exponential backoff (`backoffBaseMs` doubling to `backoffMaxMs`); events during the
 *   backoff do not cut it short;
 * - a run that failed only for some objects is not a failed run: it returns `retryInMs`, when the
 *   first of them is due again, and the loop runs again then (or sooner, for an event), at normal
 *   speed for everyone else.
 * pepr's Reconcile queue neither coalesces nor retries, hence this.
 */
import { describeError, log as rootLog, type Logger } from "./log";

export interface LoopOptions {
  debounceMs: number;
  maxWaitMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  log?: Logger;
}

/** What a run tells the loop: when some objects it failed for are due to be tried again. */
export interface RunOutcome {
  retryInMs?: number;
}

export interface LoopStats {
  runs: number;
  failures: number;
  consecutiveFailures: number;
}

export class ReconcileLoop {
  readonly #run: () => Promise<void | RunOutcome>;
  readonly #opts: LoopOptions;
  readonly #log: Logger;
  #started = false;
  #stopped = false;
  #dirty = false;
  #running = false;
  #firstDirtyAt = 0;
  #timer: NodeJS.Timeout | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #inBackoff = false;
  #stats: LoopStats = { runs: 0, failures: 0, consecutiveFailures: 0 };
  #idleWaiters: (() => void)[] = [];

  constructor(run: () => Promise<void | RunOutcome>, opts: LoopOptions) {
    this.#run = run;
    this.#opts = opts;
    this.#log = (opts.log ?? rootLog).child({ loop: "reconcile" });
  }

  get stats(): LoopStats {
    return { ...this.#stats };
  }

  /** Begin running (marks made before start are kept and served now). */
  start(): void {
    if (this.#started || this.#stopped) return;
    this.#started = true;
    if (this.#dirty) this.#schedule();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    clearTimeout(this.#retryTimer);
    this.#timer = undefined;
    this.#retryTimer = undefined;
    this.#settleIdle();
  }

  markDirty(): void {
    if (this.#stopped) return;
    if (!this.#dirty) this.#firstDirtyAt = Date.now();
    this.#dirty = true;
    if (this.#started && !this.#running && !this.#inBackoff) this.#schedule();
  }

  /**
   * Resolves once nothing is pending or running (for tests and orderly shutdown). A run scheduled
   * only to retry objects that failed does not count: an object that keeps failing would never let
   * it resolve.
   */
  idle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #isIdle() {
    return this.#stopped || (!this.#dirty && !this.#running && !this.#timer);
  }

  #settleIdle() {
    if (!this.#isIdle()) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    waiters.forEach((w) => w());
  }

  #schedule() {
    const waited = Date.now() - this.#firstDirtyAt;
    const delay = Math.max(0, Math.min(this.#opts.debounceMs, this.#opts.maxWaitMs - waited));
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#tick(), delay);
  }

  async #tick() {
    this.#timer = undefined;
    this.#inBackoff = false;
    if (this.#stopped || this.#running || !this.#dirty) {
      this.#settleIdle();
      return;
    }
    this.#dirty = false;
    this.#running = true;
    const started = Date.now();
    let failed: ReturnType<typeof describeError> | undefined;
    let outcome: void | RunOutcome = undefined;
    try {
      this.#stats.runs++;
      outcome = await this.#run();
      this.#stats.consecutiveFailures = 0;
    } catch (e) {
      failed = describeError(e);
      this.#stats.failures++;
      this.#stats.consecutiveFailures++;
    } finally {
      this.#running = false;
    }
    if (this.#stopped) return this.#settleIdle();
    if (failed) {
      const n = this.#stats.consecutiveFailures;
      const delay = Math.min(this.#opts.backoffMaxMs, this.#opts.backoffBaseMs * 2 ** (n - 1));
      this.#log.warn({ ...failed, attempt: n, retryInMs: delay }, "reconcile failed; retrying");
      if (!this.#dirty) this.#firstDirtyAt = Date.now();
      this.#dirty = true;
      this.#inBackoff = true;
      this.#timer = setTimeout(() => void this.#tick(), delay);
      return;
    }
    const retryInMs = outcome?.retryInMs;
    this.#log.debug({ ms: Date.now() - started, retryInMs }, "reconcile done");
    this.#scheduleRetry(retryInMs);
    if (this.#dirty) this.#schedule();
    this.#settleIdle();
  }

  /** The latest run's word on when to retry replaces any earlier one. */
  #scheduleRetry(retryInMs: number | undefined) {
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    if (retryInMs === undefined) return;
    this.#retryTimer = setTimeout(
      () => {
        this.#retryTimer = undefined;
        this.markDirty();
      },
      Math.max(0, retryInMs),
    );
  }
}
