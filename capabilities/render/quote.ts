/**
 * Escaping for haproxy.cfg words. HAProxy's line tokenizer honours double quotes with backslash
 * escapes and expands `$VAR` inside them, so user text is always written as a double-quoted word
 * with `\`, `"` and `$` escaped. Log-format strings (set-header values, redirect locations,
 * set-path) additionally treat `%` as special.
 */

/** True when the text can be written into haproxy.cfg at all (no control characters). */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
export const isPrintable = (s: string): boolean => !/[\u0000-\u001f\u007f]/.test(s);

/**
 * An ACL pattern word holding `s` literally. HAProxy ends an anonymous ACL at a word `}` even when
 * it is quoted; a backslash-escaped one is the literal character.
 */
export const aclLiteral = (s: string): string => (s === "}" ? "\\}" : quoteWord(s));

/** A double-quoted config word holding `s` literally. */
export const quoteWord = (s: string): string =>
  `"${s
    .replace(/[\\"$]/g, (c) => `\\${c}`)
    .replace(/\n/g, "\\n")
    .replace(/\t/g, "\\t")}"`;

/** `s` as literal text inside a log-format string (before word quoting). */
export const escapeLogFormat = (s: string): string => s.replace(/%/g, "%%");

/** A double-quoted log-format word whose output is the literal text `s`. */
export const quoteLiteralFormat = (s: string): string => quoteWord(escapeLogFormat(s));

/** Header names: RFC 7230 tokens restricted to what is safe unquoted in sample-fetch args. */
export const isSafeHeaderName = (s: string): boolean => /^[A-Za-z0-9!%&*+.^_`|~-]+$/.test(s); // no `#`: comment start

/** Query parameter names used inside `urlp(<name>)`: no separators or quoting characters. */
export const isSafeParamName = (s: string): boolean => /^[A-Za-z0-9._~!*+-]+$/.test(s);

/** Map-file keys are whitespace-delimited and cannot hold spaces or control characters. */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
export const isMapKeySafe = (s: string): boolean => /^[^\s\u0000-\u001f\u007f]+$/.test(s);

/** Regex escape for a literal inside a PCRE pattern. */
export const escapeRegex = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

/** HAProxy proxy/server names: [A-Za-z0-9_.:-]. */
export const safeName = (s: string): string => s.replace(/[^A-Za-z0-9_.:-]/g, "_");

/** HAProxy refuses a config line with more words than this ("too many words, truncating"). */
export const MAX_LINE_WORDS = 64;

/** Words of a config line as HAProxy's tokenizer splits them (a double-quoted word is one). */
export function wordCount(line: string): number {
  let words = 0;
  let inWord = false;
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === "\\") i++;
      else if (c === '"') quoted = false;
      continue;
    }
    if (c === " " || c === "\t") {
      inWord = false;
      continue;
    }
    if (!inWord) words++;
    inWord = true;
    if (c === '"') quoted = true;
    else if (c === "\\") i++;
  }
  return words;
}
