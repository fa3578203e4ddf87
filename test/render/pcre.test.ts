/**
 * The regex validator against the real thing: every pattern it accepts must compile in HAProxy's
 * PCRE2 (never the unsafe direction), and on a table of known dialect differences it must agree
 * with `haproxy -c` exactly, except where it is deliberately stricter.
 */
import { describe, expect, it } from "@jest/globals";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import fc from "fast-check";
import { regexProblem } from "../../capabilities/render/pcre";
import { quoteWord } from "../../capabilities/render/quote";
import { tempDir, writeFiles } from "./harness";

/** `haproxy -c` on ACLs with these patterns (as the renderer wraps them); undefined = accepted. */
function haproxyRejects(patterns: string[]): string | undefined {
  const dir = tempDir("crossway-pcre-");
  const acls = patterns.map((p) => `  http-request deny if { path -m reg -- ${quoteWord(`^(?:${p})$`)} }`);
  const cfg = ["defaults", "  mode http", "  timeout client 1s", "  timeout server 1s", "  timeout connect 1s"];
  writeFiles(dir, { "haproxy.cfg": [...cfg, "frontend f", "  bind 127.0.0.1:1", ...acls, ""].join("\n") });
  try {
    execFileSync("haproxy", ["-c", "-f", join(dir, "haproxy.cfg")], { stdio: "pipe" });
    return undefined;
  } catch (e) {
    const err = e as { stdout?: Buffer; stderr?: Buffer };
    return `${err.stdout ?? ""}${err.stderr ?? ""}`.split("\n").find((l) => l.includes("ALERT")) ?? "rejected";
  }
}

/** Patterns JavaScript compiles but PCRE2 rejects, and patterns both accept. */
const TABLE = [
  "\\u0041",
  "[\\w-.]",
  "[a-\\d]",
  "[\\s-a]",
  "x{70000}",
  "(?<=a+)b",
  "(?<=a{1,2})c",
  "\\c",
  "\\k<n>",
  "\\1",
  "(a)\\1",
  "[^]",
  "\\N{U+41}",
  "(?<n>a)\\k<n>",
  "(?<n>a)\\1",
  "\\p{L}",
  "[\\w-]",
  "[-\\d]",
  "(?<=(a|bc))d",
  "(?<=\\R)x",
  "(?<=a|bc)d",
  "[[:foo:]]",
  "[[:alpha:][:digit:]]",
  "a\\g{-1}",
  "\\P",
  "a\\Y",
  "\\p{Lu}",
  "(ab){65535}",
  "(?<=ab)c",
  "(?<=a{2})c",
  "a{,3}",
  "[[:alpha:]]",
  "\\d{3}-\\d{4}",
  "(?:x)*",
  "(?=a+)",
  "\\x41",
  "\\x{41}",
  "^/api/v[0-9]+/.*$",
  "(?i)abc",
  "(?i:ab)c",
  "[\\]]",
  "\\/",
  "a|b(?<!c)",
  "\\cA",
  "(?P<n>a)(?P=n)",
  "\\Qa.b\\E",
];
/** Accepted by HAProxy, refused by us on purpose, and why. */
const STRICTER: [string, RegExp][] = [
  ["[]a]", /empty character class/], // in JavaScript `[]` is an empty class: another meaning
  ["x{65535}", /at most 1000/], // repeats compile by copying: (ab){65535} is too large for PCRE2
  ["a{200}b{200}", /at most one quantifier bound may exceed/],
];

describe("regular expressions are validated in HAProxy's PCRE2 dialect", () => {
  it.each(TABLE)("%s: same verdict as haproxy -c", (pattern) => {
    expect(regexProblem(pattern) === undefined).toBe(haproxyRejects([pattern]) === undefined);
  });

  it.each(STRICTER)("%s: refused on purpose although PCRE2 takes it", (pattern, why) => {
    expect(haproxyRejects([pattern])).toBeUndefined();
    expect(regexProblem(pattern)).toMatch(why);
  });

  it("every generated pattern the validator accepts compiles in HAProxy", () => {
    const atoms = ["a", "b", ".", "\\d", "\\w", "\\s", "\\u0041", "\\x41", "\\1", "\\k<n>", "/", "-", "^", "$", "|"];
    const piece = fc.oneof(
      fc.constantFrom(...atoms),
      fc.constantFrom("[a-z]", "[\\w-.]", "[^/]", "[]", "[^]", "[\\d-]", "[[:digit:]]"),
      fc.constantFrom("*", "+", "?", "{2}", "{1,3}", "{70000}", "{,2}"),
      fc.constantFrom("(", ")", "(?:", "(?<n>", "(?<=", "(?<!", "(?=", "(?i)"),
    );
    const runs = Number(process.env.PROPERTY_RUNS ?? 300);
    const accepted = new Set<string>();
    fc.assert(
      fc.property(fc.array(piece, { minLength: 1, maxLength: 8 }), (parts) => {
        const p = parts.join("");
        if (regexProblem(p) === undefined) accepted.add(p);
      }),
      { numRuns: runs, seed: 42 },
    );
    // All accepted patterns at once: haproxy -c must take every one of them.
    expect(accepted.size).toBeGreaterThan(runs / 20);
    const rejected = haproxyRejects([...accepted]);
    if (rejected) {
      const culprit = [...accepted].find((p) => haproxyRejects([p]) !== undefined);
      throw new Error(`validator accepted ${JSON.stringify(culprit)} but haproxy -c said: ${rejected}`);
    }
  });
});
