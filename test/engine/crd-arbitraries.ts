/**
 * fast-check arbitraries for HTTPRoutes and GRPCRoutes derived from the vendored CRD schemas
 * (./crd-schema.ts): every field from its schema node (enum, maxItems, maxLength/minLength,
 * minimum/maximum, patterns, x-kubernetes list types) with the extremes weighted in, hooks where
 * the CEL rules or useful routes say more than the schema, and a repair pass that gives the CEL
 * rules their intent. Used by crd-routes.property.test.ts, which also checks every generated spec
 * with `crdViolations`.
 */
import fc from "fast-check";
import { HAPROXY_RETRY_CODES, LIMITS } from "../../capabilities/engine/features";
import {
  CEL_RULES,
  GRPC_SPEC,
  HTTP_SPEC,
  INT32,
  durationMs,
  filtersOf,
  nodeAt,
  sizeOf,
  withDefaults,
  type Any,
  type Obj,
  type Schema,
} from "./crd-schema";

// ---------------------------------------------------------------------------------------------
// Value pools: regular expressions and free text
// ---------------------------------------------------------------------------------------------

/** Regexes both dialects read alike: plain ones and config metacharacters. */
const REGEX_PLAIN: string[] = [
  // plain
  "/api/.*",
  "^/v[0-9]+/users$",
  "[a-z]+",
  ".*",
  "(foo|bar)",
  "\\d{3}",
  "/static/.+\\.css",
  "[^/]+",
  "a|b",
  "",
  "(?<x>a)\\k<x>",
  "(?<=ab)c",
  "(?<!x)y",
  "a{2,5}",
  "x{65535}",
  "\\cA",
  "\\x41",
  "\\0",
  "(?:ab)+",
  "[\\w.-]+",
  // config and log-format metacharacters, valid in both dialects
  "%",
  "%[src]",
  "%%",
  "$",
  "${HOME}",
  "$HOME",
  '"',
  '\\"',
  "'",
  "\\\\",
  "a b",
  "#x",
  "{",
  "}",
  "é+",
  "😀",
];
/** What JavaScript and PCRE2 read differently (one of them refuses) and what neither accepts. */
const REGEX_DIALECT: string[] = [
  // JavaScript accepts, PCRE2 refuses (or reads differently)
  "\\u0041",
  "[\\w-.]",
  "x{70000}",
  "(?<=a+)b",
  "\\k<x>",
  "\\1",
  "[]a]",
  "[^]",
  "\\u{1F600}",
  "(?<=(a|bc))d",
  "(?<=\\R)x",
  "\\g1",
  "\\g{-1}",
  "[[:foo:]]",
  "[[:alpha:]]",
  "(ab){65535}",
  "[a-z]{65535}",
  "((a{1000}){1000})",
  "\\8",
  "\\N{U+41}",
  "\\L",
  "a{,5}",
  "\\c",
  "\\p{L}",
  "\\P",
  "\\X",
  "\\K",
  "\\C",
  "\\Y",
  "\\i",
  "(?<a>x)|(?<a>y)",
  // PCRE2 accepts, JavaScript refuses
  "(?i)abc",
  "\\Qa.b\\E",
  "a++",
  "(?>a+)b",
  "\\A/x\\z",
  "(?P<n>x)(?P=n)",
  "\\x{41}",
  "(?#comment)",
  "(*UTF)a",
  "(?s).",
  // neither: unbalanced, a lone backslash, a control character
  ")",
  "(",
  "[",
  "\\",
  "\t",
];

/** Free text that HAProxy's config tokenizer, log-format and maps treat specially. */
const TEXT_POOL: string[] = [
  "plain",
  "%",
  "%%",
  "%[src]",
  "%{+Q}o",
  "$HOME",
  "${HOME}",
  '"',
  "'",
  "\\",
  '\\"',
  "a b",
  "  ",
  "#x",
  "é",
  "😀",
  "{}",
  "[]",
  "()",
  ";,",
  "%2F",
  "%00",
];
/** Control characters: CRD-valid in any free-text field, never writable into haproxy.cfg. */
const CONTROL_POOL: string[] = ["a\tb", "a\nb", "\u0000", "\u007f", "\r\n"];
const TEXT_CHARS = [..."abcXYZ019-_./:%$\"'\\# {}[](),;=&?*+é😀"];

/**
 * A route is generated "tame" (values the engine is meant to accept, printable but full of config
 * metacharacters, only filter types crossway serves: large rules that are actually rendered) or
 * "wild" (anything the CRD allows, weighted towards what the engine must refuse).
 */
export interface Flavor {
  name: "tame" | "wild";
  regexes: string[];
  controlWeight: number;
  /** Weight of a `^[class]+$` pattern's full character class against letters and digits (8). */
  anyCharWeight: number;
  /** Characters left out of `^[class]+$` patterns. */
  excludeChars: string;
  wildDurations: boolean;
  /** Weight of anything-goes values: free text where a path, token or regex is expected, any retry value. */
  freeTextWeight: number;
  /** Per union (path pattern): weights of its `type` values (default 3). */
  unions: [RegExp, Record<string, number>][];
}
const TAME: Flavor = {
  name: "tame",
  regexes: REGEX_PLAIN,
  controlWeight: 0,
  anyCharWeight: 2,
  // refused in header names (HAProxy's comment start) or query names (what urlp(<name>) can hold)
  excludeChars: "#$'&%^`|",
  wildDurations: false,
  freeTextWeight: 0,
  unions: [
    [
      /backendRefs\[\]\.filters\[\]$/,
      {
        RequestHeaderModifier: 1,
        ResponseHeaderModifier: 1,
        CORS: 0,
        ExtensionRef: 0,
        RequestMirror: 0,
        RequestRedirect: 0,
        URLRewrite: 0,
      },
    ],
    [/^rules\[\]\.filters\[\]$/, { ExtensionRef: 0 }],
  ],
};
const WILD: Flavor = {
  name: "wild",
  regexes: [...REGEX_PLAIN, ...REGEX_DIALECT],
  controlWeight: 2,
  anyCharWeight: 1,
  excludeChars: "",
  wildDurations: true,
  freeTextWeight: 1,
  unions: [
    [
      /backendRefs\[\]\.filters\[\]$/,
      {
        RequestHeaderModifier: 8,
        ResponseHeaderModifier: 8,
        CORS: 1,
        ExtensionRef: 1,
        RequestMirror: 1,
        RequestRedirect: 1,
        URLRewrite: 1,
      },
    ],
    [/^rules\[\]\.filters\[\]$/, { ExtensionRef: 1 }],
  ],
};

const weighted = <T>(...pairs: [number, fc.Arbitrary<T>][]) =>
  fc.oneof(...pairs.filter(([weight]) => weight > 0).map(([weight, arbitrary]) => ({ weight, arbitrary })));

/** A string of exactly `n` characters cycling through `text` (for maximum lengths). */
const fill = (text: string, n: number) =>
  (text.length === 0 ? "a" : text).repeat(Math.ceil(n / Math.max(1, text.length))).slice(0, n);

function freeText(min: number, max: number, f: Flavor): fc.Arbitrary<string> {
  const cap = Math.min(max, 48);
  return weighted<string>(
    [12, fc.constantFrom(...TEXT_POOL)],
    [f.controlWeight, fc.constantFrom(...CONTROL_POOL)],
    [18, fc.string({ unit: fc.constantFrom(...TEXT_CHARS), minLength: Math.max(min, 1), maxLength: Math.max(cap, 1) })],
    [1, fc.constantFrom(...TEXT_POOL, "abc").map((t) => fill(t, max))],
  ).filter((s) => s.length >= min && s.length <= max);
}

function regexText(min: number, max: number, f: Flavor): fc.Arbitrary<string> {
  // tame: within crossway's regex length, whole atoms repeated; wild: the CRD's maximum, cut anywhere
  const long =
    f.name === "tame"
      ? (t: string) => t.repeat(Math.floor(Math.min(max, LIMITS.regexLength) / Math.max(t.length, 1)))
      : (t: string) => fill(t, max);
  return weighted<string>(
    [18, fc.constantFrom(...f.regexes)],
    [12, fc.array(fc.constantFrom(...f.regexes), { minLength: 1, maxLength: 4 }).map((a) => a.join(""))],
    [1, fc.constantFrom(...f.regexes.filter((t) => t.length > 0), "[a-z]+/", "(a|b)").map(long)],
  ).filter((s) => s.length >= min && s.length <= max);
}

/** Lengths with the extremes weighted in: mostly small, sometimes anything, sometimes the maximum. */
export function lengthArb(min: number, max: number): fc.Arbitrary<number> {
  return weighted<number>(
    [24, fc.integer({ min, max: Math.min(max, min + 2) })],
    [2, fc.integer({ min, max })],
    [1, fc.constant(max)],
  );
}

// ---------------------------------------------------------------------------------------------
// Patterns of the schema → generators (each output is re-checked against the pattern)
// ---------------------------------------------------------------------------------------------

const P = {
  subdomain: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
  groupName: "^$|^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
  hostname: "^(\\*\\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
  label: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
  kind: "^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$",
  origin: "(^\\*$)|(^(http(s)?):\\/\\/(((\\*\\.)?([a-zA-Z0-9\\-]+\\.)*[a-zA-Z0-9-]+|\\*)(:([0-9]{1,5}))?)$)",
  duration: "^([0-9]{1,5}(h|m|s|ms)){1,4}$",
};

/** A DNS-1123 subdomain of exactly `n` characters built from `chars` (a-z0-9.-), repaired to fit. */
function subdomainOf(chars: string[]): string {
  const out = chars.slice();
  const alnum = (c: string | undefined) => c !== undefined && /[a-z0-9]/.test(c);
  for (let i = 0; i < out.length; i++) {
    const edge = i === 0 || i === out.length - 1;
    if (out[i] === "." && (edge || out[i - 1] === "." || !alnum(out[i - 1]))) out[i] = "a";
    else if (out[i] === "-" && (edge || out[i - 1] === "." || out[i + 1] === ".")) out[i] = "b";
  }
  if (out[out.length - 1] === ".") out[out.length - 1] = "c";
  return out.join("");
}
const subdomainArb = (min: number, max: number, charset = "abcdefghijklmnopqrstuvwxyz0123456789.-") =>
  lengthArb(Math.max(min, 1), max).chain((n) =>
    fc.array(fc.constantFrom(...charset), { minLength: n, maxLength: n }).map(subdomainOf),
  );

/** `^[class]+$` patterns: the class is read from the pattern and sampled character by character. */
function charClassArb(pattern: string, min: number, max: number, f: Flavor): fc.Arbitrary<string> | undefined {
  if (!/^\^\[[^\]]+\]\+\$$/.test(pattern)) return undefined;
  const one = new RegExp(pattern);
  const chars = Array.from({ length: 0x7f - 0x20 }, (_, i) => String.fromCharCode(0x20 + i)).filter(
    (c) => one.test(c) && !f.excludeChars.includes(c),
  );
  const letters = chars.filter((c) => /[A-Za-z0-9-]/.test(c));
  return lengthArb(Math.max(min, 1), max).chain((n) =>
    weighted<string[]>(
      [8, fc.array(fc.constantFrom(...letters), { minLength: n, maxLength: n })],
      [f.anyCharWeight, fc.array(fc.constantFrom(...chars), { minLength: n, maxLength: n })],
    ).map((a) => a.join("")),
  );
}

function patternArb(pattern: string, min: number, max: number, f: Flavor): fc.Arbitrary<string> {
  const byClass = charClassArb(pattern, min, max, f);
  if (byClass) return byClass;
  switch (pattern) {
    case P.subdomain:
      return subdomainArb(min, max);
    case P.groupName:
      return weighted<string>([1, fc.constant("")], [3, subdomainArb(1, max)]);
    case P.hostname:
      return weighted<string>([3, subdomainArb(min, max)], [1, subdomainArb(1, max - 2).map((h) => `*.${h}`)]);
    case P.label:
      return subdomainArb(min, max, "abcdefghijklmnopqrstuvwxyz0123456789-");
    case P.kind:
      return subdomainArb(min, max, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-").map((s) =>
        /^[0-9]/.test(s) ? `K${s.slice(1)}` : s,
      );
    case P.origin:
      return weighted<string>(
        [1, fc.constant("*")],
        [
          6,
          fc
            .record({
              scheme: fc.constantFrom("http", "https"),
              wild: fc.constantFrom("", "*."),
              host: weighted<string>(
                [4, subdomainArb(1, 30, "abcdefghijklmnopqrstuvwxyzABCXYZ0123456789.-")],
                [1, fc.constant("*")],
              ),
              port: fc.option(
                f.name === "tame"
                  ? fc.constantFrom("1", "80", "443", "8080", "65535")
                  : fc.constantFrom("0", "1", "80", "443", "8080", "65535", "99999", "00080"),
                { nil: undefined },
              ),
            })
            .map(
              ({ scheme, wild, host, port }) =>
                `${scheme}://${host === "*" ? "*" : wild + host}${port ? `:${port}` : ""}`,
            ),
        ],
        [1, subdomainArb(200, 240).map((h) => `https://*.${h}:443`)],
      );
    case P.duration:
      return weighted<string>(
        // what people write (most within HAProxy's timer range)
        [6, fc.tuple(fc.integer({ min: 0, max: 999 }), fc.constantFrom("ms", "s", "m")).map(([n, u]) => `${n}${u}`)],
        // anything the pattern allows: 1-4 parts of up to 5 digits
        [
          f.wildDurations ? 2 : 0,
          fc
            .array(
              fc.tuple(
                weighted<string>(
                  [4, fc.integer({ min: 0, max: 999 }).map(String)],
                  [2, fc.constantFrom("0", "1", "99999", "00000", "10", "250", "3600", "86400")],
                  [1, fc.integer({ min: 0, max: 99999 }).map(String)],
                ),
                fc.constantFrom("h", "m", "s", "ms"),
              ),
              { minLength: 1, maxLength: 4 },
            )
            .map((parts) => parts.map(([n, u]) => n + u).join("")),
        ],
        [
          1,
          f.wildDurations
            ? fc.constantFrom("99999h", "99999h99999m99999s99999ms", "596h31m23s647ms", "596h31m23s648ms")
            : fc.constantFrom("596h31m23s647ms", "0s", "1ms"),
        ],
      );
    default:
      throw new Error(`no generator for the schema pattern ${JSON.stringify(pattern)}: teach patternArb about it`);
  }
}

// ---------------------------------------------------------------------------------------------
// Schema → arbitrary
// ---------------------------------------------------------------------------------------------

/** A generator override for the schema nodes whose path matches; `base` is the generic one. */
type Hook = [RegExp, (s: Schema, path: string, base: () => fc.Arbitrary<unknown>) => fc.Arbitrary<unknown>];

class SchemaArbitraries {
  readonly #hooks: Hook[];
  constructor(readonly flavor: Flavor) {
    this.#hooks = hooksFor(flavor, this);
  }

  unionWeights(path: string): Record<string, number> {
    return this.flavor.unions.find(([re]) => re.test(path))?.[1] ?? {};
  }

  of(s: Schema, path: string): fc.Arbitrary<unknown> {
    const hook = this.#hooks.find(([re]) => re.test(path));
    const base = () => this.generic(s, path);
    return hook ? hook[1](s, path, base) : base();
  }

  generic(s: Schema, path: string): fc.Arbitrary<unknown> {
    if (s.enum) return fc.constantFrom(...s.enum);
    switch (s.type) {
      case "boolean":
        return fc.boolean();
      case "integer": {
        const min = s.minimum ?? INT32.min;
        const max = s.maximum ?? INT32.max;
        return weighted<number>(
          [1, fc.constant(min)],
          [1, fc.constant(max)],
          [3, fc.integer({ min, max })],
          [3, fc.integer({ min, max: Math.min(max, min + 100) })],
        );
      }
      case "string": {
        const min = s.minLength ?? 0;
        const max = s.maxLength ?? 8192; // unbounded in the schema: the API server's request size bounds it
        const arb = s.pattern ? patternArb(s.pattern, min, max, this.flavor) : freeText(min, max, this.flavor);
        const re = s.pattern ? new RegExp(s.pattern) : undefined;
        return arb.filter((v) => v.length >= min && v.length <= max && (!re || re.test(v)));
      }
      case "array": {
        const items = this.of(s.items!, `${path}[]`);
        const min = s.minItems ?? 0;
        const max = s.maxItems ?? 16;
        const listType = s["x-kubernetes-list-type"];
        const keys = s["x-kubernetes-list-map-keys"];
        return lengthArb(min, max).chain((n) =>
          listType === "map" && keys
            ? fc.uniqueArray(items, {
                minLength: n,
                maxLength: n,
                selector: (v) => JSON.stringify(keys.map((k) => (v as Obj)[k])),
              })
            : listType === "set"
              ? fc.uniqueArray(items, { minLength: Math.min(n, 1), maxLength: n, selector: (v) => JSON.stringify(v) })
              : fc.array(items, { minLength: n, maxLength: n }),
        );
      }
      case "object": {
        const props = s.properties ?? {};
        const union = unionMembers(s);
        if (union) {
          const typeEnum = props.type.enum as string[];
          const weights = this.unionWeights(path);
          return fc.oneof(
            ...typeEnum.map((t) => {
              const field = union.get(t);
              const arbitrary = field
                ? fc.record({ type: fc.constant(t), [field]: this.of(props[field], `${path}.${field}`) })
                : fc.constant({ type: t });
              return { weight: weights[t] ?? 3, arbitrary };
            }),
          );
        }
        const model = Object.fromEntries(Object.entries(props).map(([k, v]) => [k, this.of(v, `${path}.${k}`)]));
        return fc.record(model, { requiredKeys: s.required ?? [] });
      }
    }
    throw new Error(`${path}: no generator for schema type ${s.type}`);
  }
}

/** A filter-style union read from its CEL rules: type value → the one member field it requires. */
function unionMembers(s: Schema): Map<string, string> | undefined {
  const out = new Map<string, string>();
  for (const v of s["x-kubernetes-validations"] ?? []) {
    const m = /^!\(!has\(self\.(\w+)\) && self\.type == '(\w+)'\)$/.exec(v.rule);
    if (m) out.set(m[2], m[1]);
  }
  return out.size > 0 ? out : undefined;
}

// ---------------------------------------------------------------------------------------------
// Hooks: where the schema says "string" but the CRD's CEL rules or useful routes say more
// ---------------------------------------------------------------------------------------------

export const TENANTS = ["team-a", "team-b", "team-c"];
export const SERVICES = [
  { name: "web", ports: [{ port: 80 }] },
  { name: "api", ports: [{ port: 80 }, { port: 8080, appProtocol: "kubernetes.io/h2c" }] },
];

/** Exact/PathPrefix values that pass the path CEL rules (segments of the allowed characters). */
const PATH_CHARS = [..."abcdefghijklmnopqrstuvwxyzABCXYZ0123456789-._~!$&'()*+,;=:@"];
const pathSegment = weighted<string>(
  [6, fc.string({ unit: fc.constantFrom(...PATH_CHARS.slice(0, 36)), minLength: 1, maxLength: 8 })],
  [2, fc.string({ unit: fc.constantFrom(...PATH_CHARS), minLength: 1, maxLength: 8 })],
  [1, fc.constantFrom("%25", "%00", "%20", "%3F", "%23", "%7e", "%ff", "..", ".", "...")],
);
function cleanPath(max: number): fc.Arbitrary<string> {
  return weighted<string>(
    [1, fc.constant("/")],
    [
      8,
      fc
        .tuple(fc.array(pathSegment, { minLength: 1, maxLength: 5 }), fc.boolean())
        .map(([segs, slash]) => `/${segs.join("/")}${slash ? "/" : ""}`),
    ],
    [1, pathSegment.map((seg) => `/${fill(`${seg}/`, max - 1)}`.replace(/\/+$/, "").slice(0, max))],
  )
    .map((p) => p.slice(0, max))
    .filter(pathCelOk);
}
function pathCelOk(v: string): boolean {
  return (
    v.startsWith("/") &&
    !["//", "/./", "/../", "%2f", "%2F", "#"].some((x) => v.includes(x)) &&
    !v.endsWith("/..") &&
    !v.endsWith("/.") &&
    /^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$/.test(v)
  );
}

function hooksFor(f: Flavor, arbs: SchemaArbitraries): Hook[] {
  return [
    // HTTPRoute path match: Exact/PathPrefix values follow the CEL rules; regexes from the pool.
    [
      /^rules\[\]\.matches\[\]\.path$/,
      (s) =>
        weighted<Obj>(
          [1, fc.constantFrom({}, { type: "Exact" }, { type: "PathPrefix" })],
          [
            6,
            fc.record({
              type: fc.constantFrom("Exact", "PathPrefix"),
              value: cleanPath(s.properties!.value.maxLength!),
            }),
          ],
          [
            4,
            fc.record({
              type: fc.constant("RegularExpression"),
              value: regexText(0, s.properties!.value.maxLength!, f),
            }),
          ],
        ),
    ],
    // GRPCRoute method match: Exact service/method follow their CEL patterns; regexes from the pool.
    [
      /^rules\[\]\.matches\[\]\.method$/,
      (s, _p, base) => {
        if (s.type !== "object") return base(); // HTTPRoute: an enum
        const max = s.properties!.service.maxLength!;
        const service = weighted<string>(
          [4, fc.constantFrom("grpc.health.v1.Health", "echo.Echo", ".pkg.Svc", "_a.b_c", "A")],
          [1, fc.constant(fill("abc.", max).replace(/\.$/, "x"))],
        );
        const method = weighted<string>(
          [4, fc.constantFrom("Check", "Get", "_x", "Watch9")],
          [1, fc.constant(fill("M", max))],
        );
        return weighted<Obj>(
          [5, fc.record({ type: fc.constant("Exact"), service, method }, { requiredKeys: ["type"] })],
          [2, fc.record({ service, method }, { requiredKeys: ["service"] })],
          [
            4,
            fc.record(
              { type: fc.constant("RegularExpression"), service: regexText(0, max, f), method: regexText(0, max, f) },
              { requiredKeys: ["type", "service"] },
            ),
          ],
        ).filter((m) => m.service !== undefined || m.method !== undefined);
      },
    ],
    // Header and query-param match values: regexes and free text alike (Exact treats them literally).
    [
      /\.(headers|queryParams)\[\]\.value$/,
      (s) =>
        weighted<string>(
          [1, regexText(s.minLength ?? 0, s.maxLength!, f)],
          [f.freeTextWeight, freeText(s.minLength ?? 0, s.maxLength!, f)],
        ),
    ],
    // Header modifier `remove`: plain strings in the schema (no pattern): tokens and anything else.
    [
      /\.remove\[\]$/,
      (s, _p, base) =>
        weighted<unknown>(
          [3, patternArb("^[A-Za-z0-9!#$%&'*+\\-.^_\\x60|~]+$", 1, 256, f)],
          [f.freeTextWeight, base()],
        ),
    ],
    // Rewrite and redirect paths: no pattern in the schema: mostly paths, sometimes anything.
    [
      /\.path\.(replaceFullPath|replacePrefixMatch)$/,
      (s) => weighted<string>([3, cleanPath(s.maxLength!)], [f.freeTextWeight, freeText(0, s.maxLength!, f)]),
    ],
    // Path modifiers: `type` and its member go together (CEL).
    [
      /\.(requestRedirect|urlRewrite)\.path$/,
      (s, path) =>
        fc.constantFrom("ReplaceFullPath", "ReplacePrefixMatch").chain((type) => {
          const field = type === "ReplaceFullPath" ? "replaceFullPath" : "replacePrefixMatch";
          return arbs.of(s.properties![field], `${path}.${field}`).map((v) => ({ type, [field]: v }));
        }),
    ],
    // Mirror: percent or fraction, not both; numerator ≤ denominator (CEL).
    [
      /\.requestMirror$/,
      (s, path) =>
        fc
          .record({
            backendRef: arbs.of(s.properties!.backendRef, `${path}.backendRef`),
            share: weighted<Obj>(
              [2, fc.constant({})],
              [2, arbs.of(s.properties!.percent, `${path}.percent`).map((percent) => ({ percent }))],
              [
                2,
                fc
                  .tuple(fc.integer({ min: 1, max: INT32.max }), fc.double({ min: 0, max: 1, noNaN: true }))
                  .map(([d, x]) => ({ fraction: { numerator: Math.floor(d * x), denominator: d } })),
              ],
              [1, fc.constant({ fraction: { numerator: 0 } })],
            ),
          })
          .map(({ backendRef, share }) => ({ backendRef, ...share })),
    ],
    // Retry (experimental channel): tame stays within what HAProxy can do, wild is anything.
    [
      /^rules\[\]\.retry\.codes\[\]$/,
      (_s, _p, base) =>
        weighted<unknown>(
          [f.name === "tame" ? 1 : 0, fc.constantFrom(...HAPROXY_RETRY_CODES)],
          [f.freeTextWeight, base()],
        ),
    ],
    [
      /^rules\[\]\.retry\.attempts$/,
      (_s, _p, base) =>
        weighted<unknown>([1, fc.integer({ min: 1, max: LIMITS.retryAttempts })], [f.freeTextWeight, base()]),
    ],
    [/^rules\[\]\.retry\.backoff$/, (_s, _p, base) => (f.name === "tame" ? fc.constantFrom("0s", "0ms") : base())],
    // Backend references: mostly Services that exist, sometimes anything the schema allows.
    [
      /(backendRefs\[\]|backendRef)\.name$/,
      (_s, _p, base) => weighted<unknown>([8, fc.constantFrom("web", "api")], [1, base()]),
    ],
    [
      /(backendRefs\[\]|backendRef)\.port$/,
      (_s, _p, base) => weighted<unknown>([8, fc.constantFrom(80, 8080)], [1, base()]),
    ],
    [/(backendRefs\[\]|backendRef)\.group$/, (_s, _p, base) => weighted<unknown>([8, fc.constant("")], [1, base()])],
    [
      /(backendRefs\[\]|backendRef)\.kind$/,
      (_s, _p, base) => weighted<unknown>([8, fc.constant("Service")], [1, base()]),
    ],
    [
      /(backendRefs\[\]|backendRef)\.namespace$/,
      (_s, _p, base) => weighted<unknown>([6, fc.constantFrom(...TENANTS)], [1, base()]),
    ],
    // Route hostnames: a few shared ones (several routes per vhost) and anything the pattern allows.
    [
      /^hostnames\[\]$/,
      (_s, _p, base) =>
        weighted<unknown>([3, fc.constantFrom("shop.example.com", "*.example.com", "api.example.com")], [1, base()]),
    ],
  ];
}

const ARBS = { tame: new SchemaArbitraries(TAME), wild: new SchemaArbitraries(WILD) };

// ---------------------------------------------------------------------------------------------
// CEL intent: repair what the generic generator cannot know
// ---------------------------------------------------------------------------------------------

/** Filters lists: non-repeatable types once, not RequestRedirect together with URLRewrite. */
function repairFilters(list: Any[], pad: boolean): Any[] {
  const seen = new Set<string>();
  const once = new Set(["CORS", "RequestHeaderModifier", "ResponseHeaderModifier", "RequestRedirect", "URLRewrite"]);
  const out: Any[] = [];
  for (const f of list) {
    if (once.has(f.type) && seen.has(f.type)) continue;
    if (f.type === "RequestRedirect" && seen.has("URLRewrite")) continue;
    if (f.type === "URLRewrite" && seen.has("RequestRedirect")) continue;
    seen.add(f.type);
    if (f.cors) {
      for (const k of ["allowOrigins", "allowMethods", "allowHeaders"])
        if (Array.isArray(f.cors[k]) && f.cors[k].includes("*") && f.cors[k].length > 1)
          f.cors[k] = f.cors[k].filter((x: string) => x !== "*");
    }
    out.push(f);
  }
  // A rule's list generated at the maximum stays there: repeatable filters take the dropped places.
  const max = nodeAt(HTTP_SPEC, "rules[].filters").maxItems!;
  const repeatable = out.filter((f) => !once.has(f.type));
  const filler = repeatable.length
    ? repeatable
    : [{ type: "RequestMirror", requestMirror: { backendRef: { name: "web", port: 80 } } }];
  for (let i = 0; pad && list.length === max && out.length < max; i++)
    out.push(structuredClone(filler[i % filler.length]));
  return out;
}

/** A Service reference (group "" and kind Service once defaulted) must have a port (CEL). */
function repairServicePort(ref: Any): void {
  if (ref && (ref.group ?? "") === "" && (ref.kind ?? "Service") === "Service" && ref.port === undefined) ref.port = 80;
}

function repairRule(rule: Any, http: boolean, flip: boolean): void {
  if (Array.isArray(rule.filters)) rule.filters = repairFilters(rule.filters, true);
  for (const b of rule.backendRefs ?? []) {
    if (Array.isArray(b.filters)) b.filters = repairFilters(b.filters, false);
    repairServicePort(b);
  }
  for (const f of [...filtersOf(rule), ...(rule.backendRefs ?? []).flatMap(filtersOf)])
    repairServicePort(f.requestMirror?.backendRef);
  if (!http) return;
  // RequestRedirect never with backendRefs: keep one of them.
  if (rule.backendRefs?.length > 0 && filtersOf(rule).some((f) => f.requestRedirect)) {
    if (flip) delete rule.backendRefs;
    else rule.filters = filtersOf(rule).filter((f) => !f.requestRedirect);
  }
  // ReplacePrefixMatch (rule level, or in exactly one backendRef) needs exactly one PathPrefix match;
  // the CEL rules see the defaulted rule (no matches = one PathPrefix "/" match).
  const prefixRules = Object.keys(CEL_RULES).filter((m) => m.includes("path.replacePrefixMatch"));
  const defaulted = withDefaults(nodeAt(HTTP_SPEC, "rules[]"), rule);
  if (!prefixRules.every((m) => CEL_RULES[m](defaulted))) {
    const first = rule.matches?.[0] ?? {};
    const value = first.path?.type === "PathPrefix" || first.path?.type === "Exact" ? first.path.value : "/";
    rule.matches = [{ ...first, path: { type: "PathPrefix", value: value ?? "/" } }];
  }
  if (rule.timeouts?.request !== undefined && rule.timeouts?.backendRequest !== undefined) {
    const [req, be] = [durationMs(rule.timeouts.request), durationMs(rule.timeouts.backendRequest)];
    if (req !== 0 && be > req)
      rule.timeouts = { request: rule.timeouts.backendRequest, backendRequest: rule.timeouts.request };
  }
}

/** The whole spec: at most 128 matches over all rules (CEL); rules repaired one by one. */
function repairSpec(spec: Any, http: boolean, flips: boolean[]): Any {
  (spec.rules ?? []).forEach((r: Any, i: number) => repairRule(r, http, flips[i % flips.length]));
  let budget = 128;
  const ruleSchema = nodeAt(http ? HTTP_SPEC : GRPC_SPEC, "rules[]");
  for (let i = 0; i < (spec.rules ?? []).length; i++) {
    const r = spec.rules[i];
    const n = sizeOf((withDefaults(ruleSchema, r) as Any).matches); // the CEL rule counts defaulted matches
    if (n > 0 && budget === 0) {
      spec.rules = spec.rules.slice(0, i); // no match left for this rule and the ones after it
      break;
    }
    if (n > budget) r.matches = r.matches.slice(0, budget);
    budget -= Math.min(n, budget);
  }
  // a rule cut to fewer matches may now need its ReplacePrefixMatch repair again
  (spec.rules ?? []).forEach((r: Any, i: number) => repairRule(r, http, flips[i % flips.length]));
  return spec;
}

// ---------------------------------------------------------------------------------------------
// Cases: routes from 2-3 tenants on one Gateway
// ---------------------------------------------------------------------------------------------

export interface GenRoute {
  kind: "HTTPRoute" | "GRPCRoute";
  namespace: string;
  name: string;
  flavor: Flavor["name"];
  spec: Any;
}

/** Tame routes refer to their own namespace's Services only (no ReferenceGrants here). */
function ownNamespace(spec: Any, ns: string): Any {
  for (const rule of spec.rules ?? [])
    for (const ref of [
      ...(rule.backendRefs ?? []),
      ...[...filtersOf(rule), ...(rule.backendRefs ?? []).flatMap(filtersOf)].map((f) => f.requestMirror?.backendRef),
    ])
      if (ref?.namespace !== undefined) ref.namespace = ns;
  return spec;
}

function routeSpecArb(kind: "HTTPRoute" | "GRPCRoute", arbs: SchemaArbitraries): fc.Arbitrary<[Flavor["name"], Any]> {
  const root = kind === "HTTPRoute" ? HTTP_SPEC : GRPC_SPEC;
  const rules = arbs.of(root.properties!.rules, "rules");
  const hostnames = arbs.of(root.properties!.hostnames, "hostnames");
  return fc
    .record(
      { rules, hostnames, flips: fc.array(fc.boolean(), { minLength: 1, maxLength: 4 }) },
      { requiredKeys: ["rules", "flips"] },
    )
    .map(({ rules, hostnames, flips }) => {
      const spec: Any = structuredClone({ rules, ...(hostnames !== undefined ? { hostnames } : {}) });
      return [arbs.flavor.name, repairSpec(spec, kind === "HTTPRoute", flips)];
    });
}

const anyFlavor = (kind: "HTTPRoute" | "GRPCRoute") =>
  fc.oneof(routeSpecArb(kind, ARBS.tame), routeSpecArb(kind, ARBS.wild));

export const caseArb = fc
  .integer({ min: 2, max: 3 })
  .chain((tenants) =>
    fc.record({
      tenants: fc.constant(TENANTS.slice(0, tenants)),
      http: fc.array(fc.tuple(fc.nat(tenants - 1), anyFlavor("HTTPRoute")), { minLength: 2, maxLength: 5 }),
      grpc: fc.array(fc.tuple(fc.nat(tenants - 1), anyFlavor("GRPCRoute")), { minLength: 0, maxLength: 2 }),
    }),
  )
  .map(({ tenants, http, grpc }) => {
    const route = (
      kind: GenRoute["kind"],
      name: string,
      t: number,
      [flavor, spec]: [Flavor["name"], Any],
    ): GenRoute => ({
      kind,
      namespace: tenants[t],
      name,
      flavor,
      spec: flavor === "tame" ? ownNamespace(spec, tenants[t]) : spec,
    });
    return {
      tenants,
      routes: [
        ...http.map(([t, s], i) => route("HTTPRoute", `http-${i}`, t, s)),
        ...grpc.map(([t, s], i) => route("GRPCRoute", `grpc-${i}`, t, s)),
      ],
    };
  });
export type Case = { tenants: string[]; routes: GenRoute[] };
