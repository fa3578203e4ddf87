/**
 * Gateway API duration (GEP-2257): 1–4 `<1-5 digits><h|m|s|ms>` groups, e.g. "1h", "1m30s",
 * "500ms", "0s". Returns milliseconds (0 = the timeout is disabled), or undefined if invalid.
 */
const FORMAT = /^([0-9]{1,5}(h|m|s|ms)){1,4}$/;
const PART = /([0-9]{1,5})(ms|h|m|s)/g;
const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1 };

export function parseDuration(s: string): number | undefined {
  if (!FORMAT.test(s)) return undefined;
  let total = 0;
  for (const m of s.matchAll(PART)) total += Number(m[1]) * UNIT_MS[m[2]];
  return total;
}
