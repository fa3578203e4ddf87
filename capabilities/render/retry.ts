/**
 * HTTPRoute rule retry as rule-backend lines: `retries` = attempts after the first, `retry-on`
 * = the listed status codes plus connection failures and empty/aborted responses (a reset
 * before any response), and a timed-out attempt when the rule has a backendRequest timeout
 * (that timeout is then per attempt). HAProxy keeps the last answer when retries run out.
 */
import type { RetryIR } from "../engine/ir";
import type { FilterLines } from "./filters";

/** Status keywords HAProxy 2.6 `retry-on` knows (others make the whole config invalid). */
export const RETRY_ON_CODES: readonly number[] = [401, 403, 404, 408, 425, 500, 501, 502, 503, 504];

/** Attempts when the route leaves `attempts` unset (implementation-specific per spec). */
export const DEFAULT_RETRY_ATTEMPTS = 2;

export function retryLines(r: RetryIR, perAttemptTimeout: boolean): FilterLines {
  const bad = r.codes.find((c) => !RETRY_ON_CODES.includes(c));
  if (bad !== undefined) return { lines: [], error: `retry code ${bad} cannot be rendered` };
  const on = [
    ...r.codes.map(String),
    "conn-failure",
    "empty-response",
    ...(perAttemptTimeout ? ["response-timeout"] : []),
  ];
  return { lines: [`retries ${r.attempts ?? DEFAULT_RETRY_ATTEMPTS}`, `retry-on ${on.join(" ")}`] };
}
