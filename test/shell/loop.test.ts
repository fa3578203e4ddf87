import { jest } from "@jest/globals";
import { ReconcileLoop } from "../../capabilities/reconcilers/loop";
import { pino } from "pino";

const quiet = pino({ level: "silent" });

/** Every test runs on jest's fake clock (setTimeout and Date.now alike): times are exact, nothing sleeps. */
const advance = (ms: number) => jest.advanceTimersByTimeAsync(ms);
const fakeSleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("ReconcileLoop", () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it("coalesces a burst of 1,000 events into one recompute", async () => {
    let runs = 0;
    const loop = new ReconcileLoop(async () => void runs++, {
      debounceMs: 50,
      maxWaitMs: 500,
      backoffBaseMs: 10,
      backoffMaxMs: 100,
      log: quiet,
    });
    loop.start();
    for (let i = 0; i < 1000; i++) loop.markDirty();
    await advance(49);
    expect(runs).toBe(0); // still inside the debounce window
    await advance(1);
    expect(runs).toBe(1);
    await advance(10_000);
    expect(runs).toBe(1);
    await loop.idle();
    loop.stop();
  });

  it("never runs twice at once; events during a run cause exactly one follow-up", async () => {
    const t0 = Date.now();
    let running = 0;
    let maxConcurrent = 0;
    const starts: number[] = [];
    const loop = new ReconcileLoop(
      async () => {
        starts.push(Date.now() - t0);
        running++;
        maxConcurrent = Math.max(maxConcurrent, running);
        await fakeSleep(40);
        running--;
      },
      { debounceMs: 5, maxWaitMs: 50, backoffBaseMs: 10, backoffMaxMs: 100, log: quiet },
    );
    loop.start();
    loop.markDirty();
    await advance(15);
    expect(running).toBe(1); // first run in progress (5..45)
    for (let i = 0; i < 100; i++) loop.markDirty();
    await advance(10_000);
    await loop.idle();
    expect(maxConcurrent).toBe(1);
    // the follow-up waits for the first run to end (45), then the debounce (5)
    expect(starts).toEqual([5, 50]);
    loop.stop();
  });

  it("a steady stream of events cannot starve it past maxWait", async () => {
    const t0 = Date.now();
    const runs: number[] = [];
    const loop = new ReconcileLoop(async () => void runs.push(Date.now() - t0), {
      debounceMs: 50,
      maxWaitMs: 120,
      backoffBaseMs: 10,
      backoffMaxMs: 100,
      log: quiet,
    });
    loop.start();
    for (let t = 0; t < 400; t += 10) {
      loop.markDirty();
      await advance(10); // always inside the debounce window
    }
    // each run exactly maxWait after the first mark it serves
    expect(runs).toEqual([120, 240, 360]);
    await advance(1_000);
    await loop.idle();
    loop.stop();
  });

  it("retries a failing run with exponential backoff until it succeeds", async () => {
    const at: number[] = [];
    const loop = new ReconcileLoop(
      async () => {
        at.push(Date.now());
        if (at.length < 4) throw { status: 500, statusText: "boom" };
      },
      { debounceMs: 1, maxWaitMs: 10, backoffBaseMs: 40, backoffMaxMs: 1000, log: quiet },
    );
    loop.start();
    loop.markDirty();
    await advance(1_000);
    await loop.idle();
    expect(at).toHaveLength(4);
    expect(at.slice(1).map((t, i) => t - at[i])).toEqual([40, 80, 160]);
    expect(loop.stats).toMatchObject({ runs: 4, failures: 3, consecutiveFailures: 0 });
    loop.stop();
  });

  it("does nothing before start and serves earlier marks on start", async () => {
    let runs = 0;
    const loop = new ReconcileLoop(async () => void runs++, {
      debounceMs: 5,
      maxWaitMs: 50,
      backoffBaseMs: 10,
      backoffMaxMs: 100,
      log: quiet,
    });
    loop.markDirty();
    await advance(1_000);
    expect(runs).toBe(0);
    loop.start();
    await advance(0);
    expect(runs).toBe(1); // the mark is older than maxWait: served at once
    await loop.idle();
    loop.stop();
  });

  describe("a run that failed only for some objects (returns retryInMs)", () => {
    const opts = { debounceMs: 50, maxWaitMs: 500, backoffBaseMs: 200, backoffMaxMs: 30_000, log: quiet };

    it("is not a failed run: events are served at debounce speed, and the objects get a run of their own when due", async () => {
      const t0 = Date.now();
      const runs: number[] = [];
      const loop = new ReconcileLoop(async () => {
        runs.push(Date.now() - t0);
        return { retryInMs: 5_000 };
      }, opts);
      loop.start();
      loop.markDirty();
      await jest.advanceTimersByTimeAsync(50);
      expect(runs).toEqual([50]);
      await jest.advanceTimersByTimeAsync(1_000);
      loop.markDirty(); // someone else's change
      await jest.advanceTimersByTimeAsync(50);
      expect(runs).toEqual([50, 1_100]);
      // the retry is counted from the latest run, then debounced like any mark
      await jest.advanceTimersByTimeAsync(5_049);
      expect(runs).toEqual([50, 1_100]);
      await jest.advanceTimersByTimeAsync(1);
      expect(runs).toEqual([50, 1_100, 6_150]);
      expect(loop.stats).toMatchObject({ runs: 3, failures: 0, consecutiveFailures: 0 });
      // a pending retry does not keep idle() from resolving
      await loop.idle();
      loop.stop();
      await jest.advanceTimersByTimeAsync(60_000);
      expect(runs).toHaveLength(3);
    });

    it("a later run with nothing left to retry cancels the retry", async () => {
      let retry: number | undefined = 1_000;
      let runs = 0;
      const loop = new ReconcileLoop(async () => {
        runs++;
        return { retryInMs: retry };
      }, opts);
      loop.start();
      loop.markDirty();
      await jest.advanceTimersByTimeAsync(50);
      retry = undefined;
      loop.markDirty();
      await jest.advanceTimersByTimeAsync(50);
      expect(runs).toBe(2);
      await jest.advanceTimersByTimeAsync(10_000);
      expect(runs).toBe(2);
      loop.stop();
    });

    it("a run that throws still backs the whole loop off", async () => {
      const t0 = Date.now();
      const runs: number[] = [];
      const loop = new ReconcileLoop(async () => {
        runs.push(Date.now() - t0);
        if (runs.length <= 2) throw new Error("translate failed");
      }, opts);
      loop.start();
      loop.markDirty();
      await jest.advanceTimersByTimeAsync(50);
      loop.markDirty(); // does not cut the backoff short
      await jest.advanceTimersByTimeAsync(1_000);
      expect(runs).toEqual([50, 250, 650]);
      expect(loop.stats).toMatchObject({ failures: 2, consecutiveFailures: 0 });
      loop.stop();
    });
  });
});
