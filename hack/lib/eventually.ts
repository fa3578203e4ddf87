/** Polls `probe` until it returns a value (not undefined) or the time is up; the one poll loop of the demo and the tests. */
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 30_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await sleep(intervalMs);
  }
  const why = last instanceof Error ? last.message : last === undefined ? "not yet" : JSON.stringify(last);
  throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}: ${why}`);
}
