/**
 * Does HAProxy 2.6's PCRE2 (10.42) compile this pattern? JavaScript's RegExp is a different
 * dialect: it accepts patterns that make HAProxy reject the whole config (`\u0041`, `[\w-.]`,
 * `x{70000}`, `(?<=a+)`, `\k<undefined>`, `\1` with no group) and gives others another meaning
 * (`[]a]`). A pattern is accepted only if JavaScript compiles it AND none of those constructs is
 * present. The controller's `haproxy -c` check stays the authority for anything missed here.
 */

/** Longest regular expression a route may use (paths are at most 1024 characters in the CRD). */
export const MAX_REGEX_LENGTH = 1024;
/**
 * Largest `{n,m}` bound crossway takes. PCRE2 allows 65535, but repeats are compiled by copying:
 * `(ab){65535}` makes a pattern "too large" to compile. At most one bound may exceed
 * BIG_QUANTIFIER (nested big repeats multiply).
 */
const MAX_QUANTIFIER = 1000;
const BIG_QUANTIFIER = 100;
/** POSIX class names PCRE2 knows inside [...]. */
const POSIX_CLASSES = new Set([
  "alnum",
  "alpha",
  "ascii",
  "blank",
  "cntrl",
  "digit",
  "graph",
  "lower",
  "print",
  "punct",
  "space",
  "upper",
  "word",
  "xdigit",
]);
/**
 * Escapes PCRE2 knows (outside a class); any other letter after a backslash is an error there,
 * while JavaScript reads it as the letter itself.
 */
const KNOWN_ESCAPES = new Set([..."aAbBcdDeEfGhHkKnNopPQrRsStvVwWxXzZ0123456789"]);
/** Escapes matching a variable number of characters: not allowed inside a lookbehind. */
const VARIABLE_ESCAPES = new Set(["R", "X"]);

/** Escapes PCRE2 refuses: `\u`, `\U`, `\L`, `\l`, `\N{name}`, `\F`. */
const UNSUPPORTED_ESCAPES = new Set(["u", "U", "L", "l", "F"]);
const SHORTHAND = new Set(["w", "W", "d", "D", "s", "S", "h", "H", "v", "V", "R", "N", "p", "P"]);

/**
 * Capturing groups and group names of a pattern (escapes and classes skipped). HAProxy compiles
 * ACL patterns with PCRE2_NO_AUTO_CAPTURE: only named groups capture (and get numbers).
 */
function groups(p: string): { count: number; names: Set<string> } {
  let count = 0;
  const names = new Set<string>();
  let inClass = false;
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === "\\") {
      i++;
      continue;
    }
    if (inClass) {
      if (c === "]") inClass = false;
      continue;
    }
    if (c === "[") {
      inClass = true;
      if (p[i + 1] === "^") i++;
      if (p[i + 1] === "]") i++;
      continue;
    }
    if (c !== "(") continue;
    if (p[i + 1] !== "?") continue;
    const named = /^\(\?(?:P?<|')([A-Za-z_][A-Za-z0-9_]*)[>']/.exec(p.slice(i));
    if (named) {
      count++;
      names.add(named[1]);
    }
  }
  return { count, names };
}

interface Scan {
  p: string;
  count: number;
  names: Set<string>;
  inClass: boolean;
  classStart: number;
  inLookbehind: boolean;
}

/** What PCRE2 refuses in the escape at `i` (a backslash), given where it stands. */
function escapeProblem(s: Scan, i: number): string | undefined {
  const { p } = s;
  const e = p[i + 1];
  if (e === undefined) return "it ends with a lone backslash";
  if (UNSUPPORTED_ESCAPES.has(e)) return `\\${e} escapes are not supported by PCRE2 (write the character itself)`;
  if (e === "g") return "\\g references are not supported (use \\k<name> with a named group)";
  if (/[A-Za-z]/.test(e) && !KNOWN_ESCAPES.has(e)) return `\\${e} is not an escape PCRE2 knows`;
  if ((e === "p" || e === "P") && !/^[A-Za-z{]/.test(p[i + 2] ?? ""))
    return `\\${e} must name a property, as in \\${e}{L}`;
  if (VARIABLE_ESCAPES.has(e) && s.inLookbehind) return `a lookbehind must have a fixed length (no \\${e} inside it)`;
  if (e === "N" && p[i + 2] === "{") return "\\N{name} escapes are not supported by PCRE2";
  if (e === "c" && !/[\x20-\x7e]/.test(p[i + 2] ?? "")) return "\\c must be followed by a printable character";
  return s.inClass ? classEscapeProblem(s, i, e) : referenceProblem(s, i, e);
}

/** A back-reference (`\\1`, `\\k<name>`) to a group that does not capture. */
function referenceProblem(s: Scan, i: number, e: string): string | undefined {
  if (/[1-9]/.test(e)) {
    const n = Number(/^[0-9]+/.exec(s.p.slice(i + 1))![0]);
    if (n > s.count) return `back-reference \\${n} refers to a group that does not exist`;
  }
  if (e !== "k") return undefined;
  const ref = /^\\k(?:<([^>]*)>|\{([^}]*)\}|'([^']*)')/.exec(s.p.slice(i));
  const name = ref?.[1] ?? ref?.[2] ?? ref?.[3];
  if (name === undefined) return "\\k must name a group, as in \\k<name>";
  return s.names.has(name) ? undefined : `back-reference \\k<${name}> refers to a group that does not exist`;
}

/** A class range with a shorthand (`\\w-.`) at either end. */
function classEscapeProblem(s: Scan, i: number, e: string): string | undefined {
  if (!SHORTHAND.has(e)) return undefined;
  const before = s.p[i - 1] === "-" && i - 2 > s.classStart;
  const after = s.p[i + 2] === "-" && s.p[i + 3] !== undefined && s.p[i + 3] !== "]";
  return before || after ? `a character class range cannot start or end at \\${e}` : undefined;
}

/** A `{n,m}` quantifier at `i` PCRE2 refuses or compiles too large; `big` counts large bounds. */
function quantifierProblem(s: Scan, i: number, big: { n: number }): string | undefined {
  const q = /^\{([0-9]+)(?:,([0-9]*))?\}/.exec(s.p.slice(i));
  if (!q) return undefined;
  const [lo, hi] = [Number(q[1]), q[2] === undefined ? Number(q[1]) : q[2] === "" ? Infinity : Number(q[2])];
  if (lo > MAX_QUANTIFIER || (hi !== Infinity && hi > MAX_QUANTIFIER))
    return `quantifier bounds must be at most ${MAX_QUANTIFIER}`;
  if (Math.max(lo, hi === Infinity ? 0 : hi) > BIG_QUANTIFIER && ++big.n > 1)
    return `at most one quantifier bound may exceed ${BIG_QUANTIFIER} (repeats are compiled by copying)`;
  if (s.inLookbehind && lo !== hi) return "a lookbehind must have a fixed length (no {n,m} inside it)";
  return undefined;
}

/** The first construct PCRE2 rejects, as a sentence; undefined when there is none. */
function dialectProblem(p: string): string | undefined {
  const { count, names } = groups(p);
  const s: Scan = { p, count, names, inClass: false, classStart: -1, inLookbehind: false };
  /** Kinds of the open groups, innermost last. */
  const open: ("lookbehind" | "group")[] = [];
  const big = { n: 0 };
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    s.inLookbehind = open.includes("lookbehind");
    if (c === "\\") {
      const problem = escapeProblem(s, i);
      if (problem) return problem;
      i++;
      continue;
    }
    if (s.inClass) {
      const posix = c === "[" && p[i + 1] === ":" ? /^\[:(\^?)([a-z]*):\]/.exec(p.slice(i)) : null;
      if (posix && !POSIX_CLASSES.has(posix[2])) return `[:${posix[2]}:] is not a POSIX class PCRE2 knows`;
      if (c === "]" && i > s.classStart + 1) s.inClass = false;
      continue;
    }
    if (c === "[") {
      if (p[i + 1] === "]" || (p[i + 1] === "^" && p[i + 2] === "]"))
        return "empty character classes ([] and [^]) mean something else in PCRE2";
      if (p.startsWith("[:", i)) continue; // POSIX class start inside a class only; literal here
      s.inClass = true;
      s.classStart = p[i + 1] === "^" ? i + 1 : i;
      continue;
    }
    if (c === "(") open.push(p.startsWith("(?<=", i) || p.startsWith("(?<!", i) ? "lookbehind" : "group");
    else if (c === ")") open.pop();
    // Alternatives of different lengths are allowed only at a lookbehind's own top level.
    else if (c === "|" && s.inLookbehind && open[open.length - 1] !== "lookbehind")
      return "a lookbehind must have a fixed length (no alternatives inside a group in it)";
    else if ((c === "*" || c === "+" || c === "?") && s.inLookbehind && p[i - 1] !== "(")
      return "a lookbehind must have a fixed length (no *, + or ? inside it)";
    else if (c === "{") {
      const problem = quantifierProblem(s, i, big);
      if (problem) return problem;
    }
  }
  return undefined;
}

/**
 * PCRE2 syntax JavaScript lacks but means the same, rewritten before JavaScript compiles the
 * pattern: inline flags `(?i)` / `(?i:`, and Python-style named groups `(?P<n>` / `(?P=n)`.
 */
const forJavaScript = (p: string): string =>
  p
    .replace(/\(\?[imsx]*(?:-[imsx]*)?\)/g, "")
    .replace(/\(\?[imsx]*(?:-[imsx]*)?:/g, "(?:")
    .replace(/\(\?P</g, "(?<")
    .replace(/\(\?P=([A-Za-z_][A-Za-z0-9_]*)\)/g, "\\k<$1>");

/** Why HAProxy 2.6 would refuse this regular expression, or undefined if it compiles there. */
export function regexProblem(pattern: string): string | undefined {
  if (pattern.length > MAX_REGEX_LENGTH) return `it is longer than ${MAX_REGEX_LENGTH} characters`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(pattern)) return "it contains control characters";
  try {
    new RegExp(forJavaScript(pattern));
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
  return dialectProblem(pattern);
}
