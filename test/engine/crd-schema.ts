/**
 * The vendored Gateway API v1.6.1 CRD schemas, as property tests read them: a route kind's `spec`
 * schema and its limits (`nodeAt`), CRD validity as the API server judges it (the structural
 * schema and every CEL rule, re-implemented in JavaScript; `crdViolations` throws on a CEL rule it
 * does not know, so a new CRD version cannot slip past), and the API server's defaulting.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";

export const CRD_FILE = join(process.cwd(), "vendor/gateway-api/v1.6.1/standard-install.yaml");
export const CRD_EXPERIMENTAL = join(process.cwd(), "vendor/gateway-api/v1.6.1/experimental-install.yaml");

// ---------------------------------------------------------------------------------------------
// The vendored CRD schemas
// ---------------------------------------------------------------------------------------------

export interface Cel {
  rule: string;
  message: string;
}
export interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  required?: string[];
  enum?: (string | number)[];
  maxItems?: number;
  minItems?: number;
  maxLength?: number;
  minLength?: number;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  default?: unknown;
  format?: string;
  "x-kubernetes-validations"?: Cel[];
  "x-kubernetes-list-type"?: string;
  "x-kubernetes-list-map-keys"?: string[];
}

/** `spec` of the storage version of a kind's CRD in a vendored bundle. */
export function specSchema(file: string, kind: string): Schema {
  const crd = parseAllDocuments(readFileSync(file, "utf8"))
    .map((d) => d.toJS())
    .find((d) => d?.kind === "CustomResourceDefinition" && d.spec.names.kind === kind);
  if (!crd) throw new Error(`${file}: no CRD for ${kind}`);
  const version = crd.spec.versions.find((v: { storage: boolean }) => v.storage);
  return version.schema.openAPIV3Schema.properties.spec as Schema;
}
/**
 * The standard channel, plus the experimental channel's rule `retry` (crossway serves it when that
 * CRD is installed; the standard channel's API server would prune it).
 */
export const HTTP_SPEC = specSchema(CRD_FILE, "HTTPRoute");
nodeAt(HTTP_SPEC, "rules[]").properties!.retry = nodeAt(specSchema(CRD_EXPERIMENTAL, "HTTPRoute"), "rules[].retry");
export const GRPC_SPEC = specSchema(CRD_FILE, "GRPCRoute");

/** The schema node at a path like `rules[].matches[].headers` (tests read limits from it). */
export function nodeAt(root: Schema, path: string): Schema {
  let s = root;
  for (const part of path.split(".")) {
    const arrays = part.endsWith("[]");
    s = s.properties![arrays ? part.slice(0, -2) : part];
    if (arrays) s = s.items!;
  }
  return s;
}

export type Obj = Record<string, unknown>;
export type Any = any;

export const INT32 = { min: -(2 ** 31), max: 2 ** 31 - 1 };

const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
export const durationMs = (d: string) =>
  [...d.matchAll(/([0-9]+)(ms|h|m|s)/g)].reduce((n, [, v, u]) => n + Number(v) * UNIT_MS[u], 0);

export const filtersOf = (o: Any): Any[] => (Array.isArray(o?.filters) ? o.filters : []);

// ---------------------------------------------------------------------------------------------
// CRD validity: the schema and every CEL rule, checked on each generated spec
// ---------------------------------------------------------------------------------------------

export const has = (o: Any, k: string) => o !== null && typeof o === "object" && o[k] !== undefined;
export const sizeOf = (o: Any) => (Array.isArray(o) ? o.length : 0);
const isPathType = (p: Any) => ["Exact", "PathPrefix"].includes(p.type);

/** The CEL rules of both CRDs, by message, as JavaScript (same meaning on these objects). */
export const CEL_RULES: Record<string, (self: Any) => boolean> = {
  "While 16 rules and 64 matches per rule are allowed, the total number of matches across all rules in a route must be less than 128":
    (self) => self.reduce((n: number, r: Any) => n + sizeOf(r.matches), 0) <= 128,
  "RequestRedirect filter must not be used together with backendRefs": (self) =>
    sizeOf(self.backendRefs) > 0 ? filtersOf(self).every((f) => !has(f, "requestRedirect")) : true,
  "When using RequestRedirect filter with path.replacePrefixMatch, exactly one PathPrefix match must be specified": (
    self,
  ) =>
    filtersOf(self).filter(
      (f) =>
        f.requestRedirect?.path?.type === "ReplacePrefixMatch" && has(f.requestRedirect.path, "replacePrefixMatch"),
    ).length === 1
      ? sizeOf(self.matches) === 1 && self.matches[0].path?.type === "PathPrefix"
      : true,
  "When using URLRewrite filter with path.replacePrefixMatch, exactly one PathPrefix match must be specified": (
    self,
  ) =>
    filtersOf(self).filter(
      (f) => f.urlRewrite?.path?.type === "ReplacePrefixMatch" && has(f.urlRewrite.path, "replacePrefixMatch"),
    ).length === 1
      ? sizeOf(self.matches) === 1 && self.matches[0].path?.type === "PathPrefix"
      : true,
  "Within backendRefs, when using RequestRedirect filter with path.replacePrefixMatch, exactly one PathPrefix match must be specified":
    (self) =>
      (self.backendRefs ?? []).filter(
        (b: Any) =>
          filtersOf(b).filter(
            (f) =>
              f.requestRedirect?.path?.type === "ReplacePrefixMatch" &&
              has(f.requestRedirect.path, "replacePrefixMatch"),
          ).length === 1,
      ).length === 1
        ? sizeOf(self.matches) === 1 && self.matches[0].path?.type === "PathPrefix"
        : true,
  "Within backendRefs, When using URLRewrite filter with path.replacePrefixMatch, exactly one PathPrefix match must be specified":
    (self) =>
      (self.backendRefs ?? []).filter(
        (b: Any) =>
          filtersOf(b).filter(
            (f) => f.urlRewrite?.path?.type === "ReplacePrefixMatch" && has(f.urlRewrite.path, "replacePrefixMatch"),
          ).length === 1,
      ).length === 1
        ? sizeOf(self.matches) === 1 && self.matches[0].path?.type === "PathPrefix"
        : true,
  "Must have port for Service reference": (self) =>
    (self.group ?? "") === "" && (self.kind ?? "Service") === "Service" ? has(self, "port") : true,
  "May specify either httpRouteFilterRequestRedirect or httpRouteFilterRequestRewrite, but not both": (self) =>
    !(self.some((f: Any) => f.type === "RequestRedirect") && self.some((f: Any) => f.type === "URLRewrite")),
  "AllowHeaders cannot contain '*' alongside other methods": (self) => !(self.includes("*") && self.length > 1),
  "AllowMethods cannot contain '*' alongside other methods": (self) => !(self.includes("*") && self.length > 1),
  "AllowOrigins cannot contain '*' alongside other origins": (self) => !(self.includes("*") && self.length > 1),
  "Only one of percent or fraction may be specified in HTTPRequestMirrorFilter": (self) =>
    !(has(self, "percent") && has(self, "fraction")),
  "numerator must be less than or equal to denominator": (self) => self.numerator <= (self.denominator ?? 100),
  "backendRequest timeout cannot be longer than request timeout": (self) =>
    !(
      has(self, "request") &&
      has(self, "backendRequest") &&
      durationMs(self.request) !== 0 &&
      durationMs(self.backendRequest) > durationMs(self.request)
    ),
  "One or both of 'service' or 'method' must be specified": (self) =>
    has(self, "type") ? has(self, "service") || has(self, "method") : true,
  "service must only contain valid characters (matching ^(?i)\\.?[a-z_][a-z_0-9]*(\\.[a-z_][a-z_0-9]*)*$)": (self) =>
    (!has(self, "type") || self.type === "Exact") && has(self, "service")
      ? /^\.?[a-z_][a-z_0-9]*(\.[a-z_][a-z_0-9]*)*$/i.test(self.service)
      : true,
  "method must only contain valid characters (matching ^[A-Za-z_][A-Za-z_0-9]*$)": (self) =>
    (!has(self, "type") || self.type === "Exact") && has(self, "method")
      ? /^[A-Za-z_][A-Za-z_0-9]*$/.test(self.method)
      : true,
  "value must be an absolute path and start with '/' when type one of ['Exact', 'PathPrefix']": (self) =>
    isPathType(self) ? self.value.startsWith("/") : true,
  "must only contain valid characters (matching ^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$) for types ['Exact', 'PathPrefix']":
    (self) => (isPathType(self) ? /^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$/.test(self.value) : true),
  "type must be one of ['Exact', 'PathPrefix', 'RegularExpression']": (self) =>
    ["Exact", "PathPrefix", "RegularExpression"].includes(self.type),
  "sectionName must be specified when parentRefs includes 2 or more references to the same parent": (self) =>
    self.every((p1: Any) =>
      self.every((p2: Any) => !sameParent(p1, p2) || p1 === p2 || (!!p1.sectionName && !!p2.sectionName)),
    ),
  "sectionName must be unique when parentRefs includes 2 or more references to the same parent": (self) =>
    self.every(
      (p1: Any) =>
        self.filter((p2: Any) => sameParent(p1, p2) && (p1.sectionName ?? "") === (p2.sectionName ?? "")).length === 1,
    ),
};
function sameParent(a: Any, b: Any): boolean {
  return a.group === b.group && a.kind === b.kind && a.name === b.name && (a.namespace ?? "") === (b.namespace ?? "");
}
/** Generated from the path rules' uniform shape: "must not contain 'x'" / "must not end with 'x'". */
export function celFor(v: Cel): ((self: Any) => boolean) | undefined {
  const known = CEL_RULES[v.message];
  if (known) return known;
  let m = /^must not contain '(.+)' when type one of \['Exact', 'PathPrefix'\]$/.exec(v.message);
  if (m) return (self) => (isPathType(self) ? !self.value.includes(m![1]) : true);
  m = /^must not end with '(.+)' when type one of \['Exact', 'PathPrefix'\]$/.exec(v.message);
  if (m) return (self) => (isPathType(self) ? !self.value.endsWith(m![1]) : true);
  const union = /^filter\.(\w+) must (be nil if the filter\.type is not|be specified for) (\w+)( filter\.type)?$/.exec(
    v.message,
  );
  if (union) {
    const [, field, how, type] = union;
    return how.startsWith("be nil")
      ? (self) => !(has(self, field) && self.type !== type)
      : (self) => !(!has(self, field) && self.type === type);
  }
  m = /^(\w+) must be specified when type is set to '(\w+)'$/.exec(v.message);
  if (m) return (self) => (self.type === m![2] ? has(self, m![1]) : true);
  m = /^type must be '(\w+)' when (\w+) is set$/.exec(v.message);
  if (m) return (self) => (has(self, m![2]) ? self.type === m![1] : true);
  m = /^(\w+) filter cannot be repeated$/.exec(v.message);
  if (m) return (self) => self.filter((f: Any) => f.type === m![1]).length <= 1;
  return undefined;
}

/** Every way `value` breaks the schema (structure, limits, patterns, CEL); [] when CRD-valid. */
export function crdViolations(s: Schema, value: unknown, path = "spec"): string[] {
  const v = value as Any;
  const out: string[] = s.enum && !s.enum.includes(v) ? [`${path}: ${JSON.stringify(v)} not in enum`] : [];
  const own = TYPE_CHECKS[s.type ?? ""]?.(s, v, path);
  if (own === "wrong type") return [`${path}: not of type ${s.type}`];
  out.push(...(own ?? []));
  for (const rule of s["x-kubernetes-validations"] ?? []) {
    const fn = celFor(rule);
    if (!fn) throw new Error(`${path}: CEL rule not re-implemented here: ${rule.message} (${rule.rule})`);
    if (!fn(v)) out.push(`${path}: ${rule.message}`);
  }
  return out;
}

/** Per schema type: "wrong type", or what breaks the node's own limits (and its children's). */
const TYPE_CHECKS: Record<string, (s: Schema, v: Any, path: string) => string[] | "wrong type"> = {
  string: (s, v, path) => {
    if (typeof v !== "string") return "wrong type";
    const n = [...v].length; // the API server counts characters, not UTF-16 units
    return [
      ...(s.maxLength !== undefined && n > s.maxLength ? [`${path}: longer than ${s.maxLength}`] : []),
      ...(s.minLength !== undefined && n < s.minLength ? [`${path}: shorter than ${s.minLength}`] : []),
      ...(s.pattern && !new RegExp(s.pattern).test(v)
        ? [`${path}: ${JSON.stringify(v)} does not match ${s.pattern}`]
        : []),
    ];
  },
  integer: (s, v, path) => {
    if (!Number.isInteger(v)) return "wrong type";
    return [
      ...(s.minimum !== undefined && v < s.minimum ? [`${path}: below ${s.minimum}`] : []),
      ...(s.maximum !== undefined && v > s.maximum ? [`${path}: above ${s.maximum}`] : []),
      ...(s.format === "int32" && (v < INT32.min || v > INT32.max) ? [`${path}: not an int32`] : []),
    ];
  },
  boolean: (_s, v) => (typeof v === "boolean" ? [] : "wrong type"),
  array: (s, v, path) => {
    if (!Array.isArray(v)) return "wrong type";
    const out: string[] = [];
    if (s.maxItems !== undefined && v.length > s.maxItems) out.push(`${path}: more than ${s.maxItems} items`);
    if (s.minItems !== undefined && v.length < s.minItems) out.push(`${path}: fewer than ${s.minItems} items`);
    const listType = s["x-kubernetes-list-type"];
    const keys = s["x-kubernetes-list-map-keys"];
    const ids = v.map((x) => JSON.stringify(listType === "map" && keys ? keys.map((k) => x?.[k]) : x));
    if ((listType === "map" || listType === "set") && new Set(ids).size !== ids.length)
      out.push(`${path}: duplicate ${keys ? `keys ${keys}` : "items"}`);
    v.forEach((x, i) => out.push(...crdViolations(s.items!, x, `${path}[${i}]`)));
    return out;
  },
  object: (s, v, path) => {
    if (v === null || typeof v !== "object" || Array.isArray(v)) return "wrong type";
    const out = (s.required ?? []).filter((k) => v[k] === undefined).map((k) => `${path}.${k}: required`);
    for (const [k, x] of Object.entries(v)) {
      const p = s.properties?.[k];
      out.push(...(p ? crdViolations(p, x, `${path}.${k}`) : [`${path}.${k}: unknown field`]));
    }
    return out;
  },
};

/** The API server's defaulting: absent fields with a schema `default` get it (recursively). */
export function withDefaults(s: Schema, value: unknown): unknown {
  if (Array.isArray(value)) return s.items ? value.map((x) => withDefaults(s.items!, x)) : value;
  if (value === null || typeof value !== "object" || s.type !== "object") return value;
  const out: Obj = { ...(value as Obj) };
  for (const [k, p] of Object.entries(s.properties ?? {})) {
    if (out[k] === undefined && p.default !== undefined) out[k] = structuredClone(p.default);
    if (out[k] !== undefined) out[k] = withDefaults(p, out[k]);
  }
  return out;
}
