/**
 * HTTPRoute CORS filter → CorsIR. Values are checked against the Gateway API v1.6.1 schema
 * (origin pattern, method enum, header-name tokens, `*` only on its own), so a cluster without
 * CRD validation cannot slip a value into the data plane that breaks its config.
 */
import type { CorsIR } from "../ir";
import { valueProblem as V } from "../conditions";
import { asArray } from "../meta";
import type { Findings } from "./filters";
import type { Lookup } from "./lookup";

export interface CorsSpec {
  allowOrigins?: string[];
  allowMethods?: string[];
  allowHeaders?: string[];
  exposeHeaders?: string[];
  allowCredentials?: boolean;
  maxAge?: number;
}

/** The CRD's CORSOrigin pattern. */
const ORIGIN = /^(\*|https?:\/\/((\*\.)?([a-zA-Z0-9-]+\.)*[a-zA-Z0-9-]+|\*)(:[0-9]{1,5})?)$/;
const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "*"]);

export const DEFAULT_CORS_MAX_AGE = 5;

export function convertCors(spec: CorsSpec, where: string, lookup: Lookup, found: Findings): CorsIR {
  const list = (field: keyof CorsSpec, check: (v: string) => string | undefined, wildcardAlone: boolean) => {
    const values = [...new Set(asArray(spec[field] as string[] | undefined).map((v) => String(v)))];
    for (const v of values) {
      const why = check(v);
      if (why) found.problems.push(V.cors(where, field, v, why));
    }
    if (wildcardAlone && values.includes("*") && values.length > 1)
      found.problems.push(V.cors(where, field, "*", "must not be listed alongside other values"));
    return values;
  };
  const origin = (v: string) => {
    if (!ORIGIN.test(v)) return 'is not "*" or <http|https>://<host>[:<port>]';
    const port = /:([0-9]+)$/.exec(v.replace(/^https?:\/\//, ""));
    return port && (Number(port[1]) < 1 || Number(port[1]) > 65535) ? "has a port outside 1-65535" : undefined;
  };
  const method = (v: string) => (METHODS.has(v) ? undefined : "is not an HTTP method of RFC 9110 or *");
  const header = (v: string) => {
    const p = v === "*" ? undefined : lookup.validator.headerName(v);
    return p ? `is not accepted (${p})` : undefined;
  };
  const maxAge = spec.maxAge === undefined || spec.maxAge === null ? DEFAULT_CORS_MAX_AGE : Number(spec.maxAge);
  if (!Number.isInteger(maxAge) || maxAge < 1 || maxAge > 2147483647)
    found.problems.push(V.cors(where, "maxAge", String(spec.maxAge), "is not a whole number of seconds ≥ 1"));
  return {
    allowOrigins: list("allowOrigins", origin, true),
    allowMethods: list("allowMethods", method, true),
    allowHeaders: list("allowHeaders", header, true).map((h) => h.toLowerCase()),
    exposeHeaders: list("exposeHeaders", header, false).map((h) => h.toLowerCase()),
    allowCredentials: spec.allowCredentials === true,
    maxAgeSeconds: Number.isInteger(maxAge) ? maxAge : DEFAULT_CORS_MAX_AGE,
  };
}
