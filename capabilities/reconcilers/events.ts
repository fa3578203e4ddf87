/**
 * Kubernetes Events (events.k8s.io/v1), written the way client-go's event broadcaster writes them
 * but never in the reconcile's way:
 * - `record()` is synchronous and never throws; writes go through a bounded queue drained by one
 *   background worker, so a slow or failing API server never delays or fails a reconcile;
 * - an event equal to one recorded within the series window (same object, type, reason, action and
 *   note) is not a new Event: the first one's `series` (count, lastObservedTime) is patched, as
 *   client-go does for isomorphic events;
 * - token buckets per object and for the whole process (defaults: 25 burst then 1 per 5 s per
 *   object; 100 burst, 100/s overall): a flapping object's excess writes are dropped (its series
 *   count keeps counting and the next allowed patch carries it); the global bucket paces the queue;
 * - failures are logged once per burst (the first failure, then one line when writes recover).
 */
import { canonical } from "./status-merge";
import { describeError, log as rootLog, type Logger } from "./log";

export interface EventRef {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
  uid?: string;
  resourceVersion?: string;
}

export interface EventInput {
  regarding: EventRef;
  type: "Normal" | "Warning";
  /** ≤ 128 characters (the API's limit); our condition reasons are. */
  reason: string;
  /** ≤ 128 characters. */
  action: string;
  /** Cut to the API's 1024 bytes by the recorder. */
  note: string;
}

export interface EventSeries {
  count: number;
  lastObservedTime: string;
}

/** An events.k8s.io/v1 Event as we create it. */
export interface KubeEvent extends EventInput {
  apiVersion: "events.k8s.io/v1";
  kind: "Event";
  metadata: { name: string; namespace: string };
  eventTime: string;
  reportingController: string;
  reportingInstance: string;
  series?: EventSeries;
}

/** Where events go: the API server (kube.ts) or a test's recorder. */
export interface EventSink {
  createEvent(event: KubeEvent): Promise<void>;
  /** Merge-patch an existing Event's series; rejects with a 404 if it is gone (expired). */
  patchEventSeries(ref: { namespace: string; name: string }, series: EventSeries): Promise<void>;
}

export interface RateLimit {
  burst: number;
  /** Tokens added per second. */
  perSecond: number;
}

export interface RecorderOptions {
  reportingController: string;
  reportingInstance: string;
  log?: Logger;
  /** Milliseconds since the epoch (tests drive it). */
  clock?: () => number;
  perObject?: RateLimit;
  global?: RateLimit;
  /** Writes waiting at most; more are dropped (and logged once). */
  queueLimit?: number;
  /** Equal events within this window become one Event with a series (client-go: 6 min). */
  seriesWindowMs?: number;
  /** Counts each event by outcome (metrics.ts). */
  counted?: (type: string, outcome: "written" | "dropped" | "failed") => void;
}

/** The API's limit on `note` (bytes, as Go's len counts them). */
export const NOTE_LIMIT_BYTES = 1024;
const REPORTING_INSTANCE_LIMIT = 128;
const CACHE_LIMIT = 4096; // client-go's maxLruCacheEntries

/** Cut a note to the API's 1024 bytes on a character boundary, saying how much was left out. */
export function fitNote(note: string, limit = NOTE_LIMIT_BYTES): string {
  const bytes = Buffer.byteLength(note);
  if (bytes <= limit) return note;
  const chars = Array.from(note);
  let kept = "";
  let used = 0;
  const markFor = (left: number) => `… (truncated: ${left.toLocaleString("en-US")} more bytes)`;
  const room = limit - Buffer.byteLength(markFor(bytes));
  for (const ch of chars) {
    const n = Buffer.byteLength(ch);
    if (used + n > room) break;
    kept += ch;
    used += n;
  }
  return kept + markFor(bytes - used);
}

/** metav1.MicroTime: RFC 3339 with exactly six fractional digits (the API server's parser insists). */
export const microTime = (ms: number) => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");

export class TokenBucket {
  #tokens: number;
  #at: number;
  constructor(
    readonly limit: RateLimit,
    now: number,
  ) {
    this.#tokens = limit.burst;
    this.#at = now;
  }
  #refill(now: number) {
    this.#tokens = Math.min(this.limit.burst, this.#tokens + ((now - this.#at) / 1000) * this.limit.perSecond);
    this.#at = now;
  }
  take(now: number): boolean {
    this.#refill(now);
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
  /** Milliseconds until a token is there (0 = now). */
  waitMs(now: number): number {
    this.#refill(now);
    return this.#tokens >= 1 ? 0 : Math.ceil(((1 - this.#tokens) / this.limit.perSecond) * 1000);
  }
  full(now: number): boolean {
    this.#refill(now);
    return this.#tokens >= this.limit.burst;
  }
}

interface Entry {
  event: KubeEvent;
  count: number;
  lastMs: number;
  /** On the API server (created), so a repeat is a series patch. */
  created: boolean;
  queued: boolean;
}

const objectOf = (r: EventRef) => r.uid ?? `${r.kind}/${r.namespace ?? ""}/${r.name}`;
const describeRef = (r: EventRef) => `${r.kind} ${r.namespace ? `${r.namespace}/` : ""}${r.name}`;

export class EventRecorder {
  readonly #sink: EventSink;
  readonly #opts: Required<Omit<RecorderOptions, "log" | "counted">>;
  readonly #log: Logger;
  readonly #counted: RecorderOptions["counted"];
  readonly #cache = new Map<string, Entry>();
  readonly #buckets = new Map<string, TokenBucket>();
  /** Per object: writes dropped by its rate limit since the last one let through. */
  readonly #limited = new Map<string, number>();
  readonly #global: TokenBucket;
  #queue: Entry[] = [];
  #overflowed = 0;
  #failing = 0;
  #working: Promise<void> | undefined;
  #seq = 0;

  constructor(sink: EventSink, opts: RecorderOptions) {
    this.#sink = sink;
    this.#log = (opts.log ?? rootLog).child({ part: "events" });
    this.#counted = opts.counted;
    this.#opts = {
      reportingController: opts.reportingController,
      reportingInstance: opts.reportingInstance.slice(0, REPORTING_INSTANCE_LIMIT),
      clock: opts.clock ?? Date.now,
      perObject: opts.perObject ?? { burst: 25, perSecond: 1 / 5 },
      global: opts.global ?? { burst: 100, perSecond: 100 },
      queueLimit: opts.queueLimit ?? 1000,
      seriesWindowMs: opts.seriesWindowMs ?? 6 * 60_000,
    };
    this.#global = new TokenBucket(this.#opts.global, this.#opts.clock());
  }

  /** Queue an event; returns at once and never throws. */
  record(input: EventInput): void {
    try {
      this.#record(input);
    } catch (e) {
      this.#log.warn({ ...describeError(e), reason: input.reason }, "could not record event");
    }
  }

  /** Resolves once every queued write has been tried (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.#working) await this.#working;
  }

  #record(input: EventInput) {
    const now = this.#opts.clock();
    const note = fitNote(input.note);
    const { resourceVersion: _rv, ...who } = input.regarding;
    const key = canonical({ who, type: input.type, reason: input.reason, action: input.action, note });
    const seen = this.#cache.get(key);
    if (seen && now - seen.lastMs <= this.#opts.seriesWindowMs) {
      seen.count++;
      seen.lastMs = now;
      this.#cache.delete(key); // keep the map in least-recently-used order
      this.#cache.set(key, seen);
      if (!seen.queued) this.#enqueue(seen, key, now);
      return;
    }
    const entry: Entry = {
      event: this.#newEvent(input, note, now),
      count: 1,
      lastMs: now,
      created: false,
      queued: false,
    };
    this.#cache.delete(key);
    this.#cache.set(key, entry);
    this.#trim(now);
    this.#enqueue(entry, key, now);
  }

  #newEvent(input: EventInput, note: string, now: number): KubeEvent {
    // client-go names events <object>.<unix nanoseconds in hex>; the sequence keeps same-ms ones apart.
    const stamp = (BigInt(now) * 1_000_000n + BigInt(this.#seq++ % 1_000_000)).toString(16);
    const name = `${input.regarding.name.slice(0, 253 - stamp.length - 1)}.${stamp}`;
    return {
      apiVersion: "events.k8s.io/v1",
      kind: "Event",
      metadata: { name, namespace: input.regarding.namespace ?? "default" },
      eventTime: microTime(now),
      reportingController: this.#opts.reportingController,
      reportingInstance: this.#opts.reportingInstance,
      ...input,
      note,
    };
  }

  #enqueue(entry: Entry, key: string, now: number) {
    const obj = objectOf(entry.event.regarding);
    let bucket = this.#buckets.get(obj);
    if (!bucket) this.#buckets.set(obj, (bucket = new TokenBucket(this.#opts.perObject, now)));
    if (!bucket.take(now)) {
      this.#drop(entry, key);
      const n = (this.#limited.get(obj) ?? 0) + 1;
      this.#limited.set(obj, n);
      if (n === 1) {
        this.#log.warn(
          { object: describeRef(entry.event.regarding), reason: entry.event.reason, perObject: this.#opts.perObject },
          "events for this object are rate-limited; dropping until its budget refills",
        );
      }
      return;
    }
    const limited = this.#limited.get(obj);
    if (limited) {
      this.#limited.delete(obj);
      this.#log.info(
        { object: describeRef(entry.event.regarding), dropped: limited },
        "events for this object resumed",
      );
    }
    if (this.#queue.length >= this.#opts.queueLimit) {
      this.#drop(entry, key);
      if (this.#overflowed++ === 0) {
        this.#log.warn({ queueLimit: this.#opts.queueLimit }, "event queue full; dropping events until it drains");
      }
      return;
    }
    entry.queued = true;
    this.#queue.push(entry);
    this.#working ??= this.#drain().finally(() => (this.#working = undefined));
  }

  /** A write not made: an Event never created is forgotten, so its next occurrence creates it. */
  #drop(entry: Entry, key: string) {
    this.#counted?.(entry.event.type, "dropped");
    if (!entry.created && !entry.queued) this.#cache.delete(key);
  }

  async #drain() {
    while (this.#queue.length > 0) {
      const wait = this.#global.waitMs(this.#opts.clock());
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      if (!this.#global.take(this.#opts.clock())) continue;
      const entry = this.#queue.shift()!;
      entry.queued = false;
      await this.#write(entry);
    }
    if (this.#overflowed > 0) {
      this.#log.info({ dropped: this.#overflowed }, "event queue drained");
      this.#overflowed = 0;
    }
  }

  async #write(entry: Entry) {
    const ev = entry.event;
    const series = entry.count > 1 ? { count: entry.count, lastObservedTime: microTime(entry.lastMs) } : undefined;
    try {
      if (entry.created && series) {
        try {
          await this.#sink.patchEventSeries(ev.metadata, series);
        } catch (e) {
          if (describeError(e).status !== 404) throw e;
          await this.#sink.createEvent({ ...ev, series }); // it expired: a new one carries the count
        }
      } else {
        await this.#sink.createEvent(series ? { ...ev, series } : ev);
      }
      entry.created = true;
      this.#counted?.(ev.type, "written");
      if (this.#failing > 0) {
        this.#log.info({ failed: this.#failing }, "event writes recovered");
        this.#failing = 0;
      }
    } catch (e) {
      this.#counted?.(ev.type, "failed");
      if (this.#failing++ === 0) {
        this.#log.warn(
          { ...describeError(e), object: describeRef(ev.regarding), reason: ev.reason },
          "event write failed; further failures are counted until one succeeds",
        );
      }
    }
  }

  /** Forget expired series and full buckets; keep the cache at client-go's size. */
  #trim(now: number) {
    for (const [key, e] of this.#cache) {
      if (this.#cache.size <= CACHE_LIMIT && now - e.lastMs <= this.#opts.seriesWindowMs) break;
      if (!e.queued) this.#cache.delete(key);
    }
    if (this.#buckets.size > CACHE_LIMIT) {
      for (const [obj, b] of this.#buckets) if (b.full(now) && !this.#limited.has(obj)) this.#buckets.delete(obj);
    }
  }
}
