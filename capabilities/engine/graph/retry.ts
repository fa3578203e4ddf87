/**
 * HTTPRoute rule `retry` → RetryIR. Codes must be HTTP statuses in 400-599 the data plane can
 * retry on; a backoff the data plane cannot honour is refused rather than silently ignored.
 */
import type { RetryIR } from "../ir";
import { valueProblem as V } from "../conditions";
import { asArray } from "../meta";
import { parseDuration } from "./duration";
import type { Findings } from "./filters";
import type { Lookup } from "./lookup";

export interface RetrySpec {
  codes?: number[];
  attempts?: number;
  backoff?: string;
}

export function convertRetry(
  spec: RetrySpec | undefined,
  where: string,
  lookup: Lookup,
  found: Findings,
): RetryIR | undefined {
  if (spec === undefined || spec === null || typeof spec !== "object") return undefined;
  const codes = new Set<number>();
  for (const raw of asArray(spec.codes)) {
    const code = Number(raw);
    if (!Number.isInteger(code) || code < 400 || code > 599) {
      found.problems.push(V.retryCodeRange(where, String(raw)));
      continue;
    }
    const problem = lookup.validator.retryCode(code);
    if (problem) found.problems.push(V.validator(where, problem));
    codes.add(code);
  }
  const out: RetryIR = { codes: [...codes].sort((a, b) => a - b) };
  if (spec.attempts !== undefined && spec.attempts !== null) {
    const n = Number(spec.attempts);
    if (!Number.isInteger(n) || n < 0) found.problems.push(V.retryAttempts(where, String(spec.attempts)));
    else {
      const problem = lookup.validator.retryAttempts(n);
      if (problem) found.problems.push(V.validator(where, problem));
      out.attempts = n;
    }
  }
  if (spec.backoff !== undefined && spec.backoff !== null) {
    const ms = parseDuration(String(spec.backoff));
    if (ms === undefined) found.problems.push(V.retryBackoff(where, String(spec.backoff)));
    else {
      const problem = lookup.validator.retryBackoff(ms);
      if (problem) found.problems.push(V.validator(where, problem));
    }
  }
  return out;
}
