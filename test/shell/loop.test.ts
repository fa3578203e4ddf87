import { ReconcileLoop } from "../../capabilities/reconcilers/loop";
import { pino } from "pino";

const quiet = pino({ level: "silent" });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("ReconcileLoop", () => {
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
    await sleep(20);
    expect(runs).toBe(0); // still inside the debounce window
    await loop.idle();
    expect(runs).toBe(1);
    loop.stop();
  });

  it("never runs twice at once; events during a run cause exactly one follow-up", async () => {
    let running = 0;
    let maxConcurrent = 0;
    let runs = 0;
    const loop = new ReconcileLoop(
      async () => {
        runs++;
        running++;
        maxConcurrent = Math.max(maxConcurrent, running);
        await sleep(40);
        running--;
      },
      { debounceMs: 5, maxWaitMs: 50, backoffBaseMs: 10, backoffMaxMs: 100, log: quiet },
    );
    loop.start();
    loop.markDirty();
    await sleep(15); // first run in progress
    for (let i = 0; i < 100; i++) loop.markDirty();
    await loop.idle();
    expect(maxConcurrent).toBe(1);
    expect(runs).toBe(2);
    loop.stop();
  });

  it("a steady stream of events cannot starve it past maxWait", async () => {
    let runs = 0;
    const loop = new ReconcileLoop(async () => void runs++, {
      debounceMs: 50,
      maxWaitMs: 120,
      backoffBaseMs: 10,
      backoffMaxMs: 100,
      log: quiet,
    });
    loop.start();
    const until = Date.now() + 400;
    while (Date.now() < until) {
      loop.markDirty();
      await sleep(10); // always inside the debounce window
    }
    expect(runs).toBeGreaterThanOrEqual(2);
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
    await loop.idle();
    expect(at).toHaveLength(4);
    const gaps = at.slice(1).map((t, i) => t - at[i]);
    expect(gaps[0]).toBeGreaterThanOrEqual(35); // 40
    expect(gaps[1]).toBeGreaterThanOrEqual(75); // 80
    expect(gaps[2]).toBeGreaterThanOrEqual(155); // 160
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
    await sleep(30);
    expect(runs).toBe(0);
    loop.start();
    await loop.idle();
    expect(runs).toBe(1);
    loop.stop();
  });
});
