/**
 * Per-object retry bookkeeping. A write that failed for one object (a status patch, a Gateway's
 * data-plane apply) makes that object wait out its own exponential backoff (`baseMs` doubling to
 * `maxMs`); nobody else waits. A conflict (our view of the object was stale; the watch brings the
 * fresh one within moments) is retried promptly: its backoff stops growing at 4 × `baseMs`.
 *
 * The reconcile loop learns from `nextRetryInMs()` when to run again for the objects waiting here.
 */
export interface RetryPolicy {
  baseMs: number;
  maxMs: number;
}

interface Entry {
  attempts: number;
  dueAt: number;
  /** What we tried to write; a different desired state is tried at once, backoff or not. */
  fingerprint?: string;
}

const CONFLICT_GROWTH_STEPS = 2; // base, 2 × base, 4 × base, 4 × base, …

export class ObjectRetries {
  readonly #policy: RetryPolicy;
  readonly #clock: () => number;
  readonly #entries = new Map<string, Entry>();

  constructor(policy: RetryPolicy, clock: () => number = Date.now) {
    this.#policy = policy;
    this.#clock = clock;
  }

  /** Objects currently waiting for a retry. */
  get size(): number {
    return this.#entries.size;
  }

  /** Record one more failed attempt; returns its number and how long the object now waits. */
  failed(key: string, opts: { conflict?: boolean; fingerprint?: string } = {}): { attempt: number; retryInMs: number } {
    const attempt = (this.#entries.get(key)?.attempts ?? 0) + 1;
    const steps = opts.conflict ? Math.min(attempt - 1, CONFLICT_GROWTH_STEPS) : Math.min(attempt - 1, 30);
    const retryInMs = Math.min(this.#policy.maxMs, this.#policy.baseMs * 2 ** steps);
    this.#entries.set(key, { attempts: attempt, dueAt: this.#clock() + retryInMs, fingerprint: opts.fingerprint });
    return { attempt, retryInMs };
  }

  /** Forget the object; returns how many attempts had failed before (0 if it was not waiting). */
  succeeded(key: string): number {
    const attempts = this.#entries.get(key)?.attempts ?? 0;
    this.#entries.delete(key);
    return attempts;
  }

  /** Whether to try the object now: it is not waiting, its backoff is over, or what we want to write changed. */
  due(key: string, fingerprint?: string): boolean {
    const e = this.#entries.get(key);
    return !e || this.#clock() >= e.dueAt || (fingerprint !== undefined && fingerprint !== e.fingerprint);
  }

  /** Forget every object not in `keys` (deleted, or nothing to write for it any more). */
  retainOnly(keys: Set<string>): void {
    for (const k of [...this.#entries.keys()]) if (!keys.has(k)) this.#entries.delete(k);
  }

  /** Milliseconds until the earliest waiting object is due (0 if one is overdue), or undefined. */
  nextRetryInMs(): number | undefined {
    let earliest: number | undefined;
    for (const e of this.#entries.values()) earliest = Math.min(earliest ?? e.dueAt, e.dueAt);
    return earliest === undefined ? undefined : Math.max(0, earliest - this.#clock());
  }
}
