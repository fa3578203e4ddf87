/**
 * HTTPRoute CORS filter as rule-backend lines. The gateway answers a preflight (OPTIONS with
 * Origin and Access-Control-Request-Method) itself with 204; when the Origin matches
 * `allowOrigins` the preflight gets the Access-Control-Allow-* headers and every other response
 * gets Access-Control-Allow-Origin (+ Credentials, Expose-Headers). `http-after-response` also
 * runs on HAProxy's own answers, so the preflight's headers come from the same rules.
 *
 * The Origin is always echoed (never `*`): valid whether or not credentials are allowed.
 * A wildcard method/header list echoes what the preflight asked for (spec: required with
 * credentials, allowed without).
 */
import type { CorsIR } from "../engine/ir";
import { escapeRegex, isSafeHeaderName, quoteLiteralFormat, quoteWord } from "./quote";
import type { FilterLines } from "./filters";

const DEFAULT_PORT: Record<string, string> = { http: "80", https: "443" };

/** One allowOrigins entry as a regex alternative (matched case-insensitively, whole Origin). */
export function originRegex(origin: string): string | undefined {
  if (origin === "*") return ".+";
  const m = /^(https?):\/\/(\*|(?:\*\.)?[A-Za-z0-9.-]+)(?::([0-9]{1,5}))?$/.exec(origin);
  if (!m) return undefined;
  const [, scheme, host, port] = m;
  const hostRe =
    host === "*" ? "[^/:]+" : host.startsWith("*.") ? `[^/:]+\\.${escapeRegex(host.slice(2))}` : escapeRegex(host);
  const def = DEFAULT_PORT[scheme];
  const portRe = port === undefined || port === def ? `(?::${def})?` : `:${port}`;
  return `${scheme}://${hostRe}${portRe}`;
}

const ORIGIN_OK = "{ var(txn.cors_origin) -m found }";
const PREFLIGHT = "{ var(txn.cors_preflight) -m found }";

export function corsLines(c: CorsIR): FilterLines {
  const alts = c.allowOrigins.map((o) => ({ o, re: originRegex(o) }));
  const bad = alts.find((a) => a.re === undefined);
  if (bad) return { lines: [], error: `CORS origin ${JSON.stringify(bad.o)} cannot be rendered` };
  const badHeader = [...c.allowHeaders, ...c.exposeHeaders].find((h) => h !== "*" && !isSafeHeaderName(h));
  if (badHeader !== undefined)
    return { lines: [], error: `CORS header ${JSON.stringify(badHeader)} cannot be rendered` };
  const badMethod = c.allowMethods.find((m) => m !== "*" && !/^[A-Z]+$/.test(m));
  if (badMethod !== undefined)
    return { lines: [], error: `CORS method ${JSON.stringify(badMethod)} cannot be rendered` };

  const lines: string[] = [];
  if (alts.length > 0) {
    const re = `^(?:${alts.map((a) => a.re).join("|")})$`;
    lines.push(
      `http-request set-var(txn.cors_origin) req.hdr(origin) if { req.hdr(origin) -m reg -i -- ${quoteWord(re)} }`,
    );
  }
  lines.push(
    `http-request set-var(txn.cors_method) req.hdr(access-control-request-method)`,
    `http-request set-var(txn.cors_headers) req.fhdr(access-control-request-headers)`,
    `http-request set-var(txn.cors_preflight) bool(true) if METH_OPTIONS { req.hdr(origin) -m found } { var(txn.cors_method) -m found }`,
    // A preflight is the gateway's to answer, matching origin or not (the client then refuses).
    `http-request return status 204 if ${PREFLIGHT}`,
  );
  const after = (name: string, value: string, cond = "") =>
    `http-after-response set-header ${name} ${value} if ${ORIGIN_OK}${cond}`;
  lines.push(after("access-control-allow-origin", '"%[var(txn.cors_origin)]"'));
  if (c.allowCredentials) lines.push(after("access-control-allow-credentials", "true"));
  // `*` is only a wildcard without credentials; with them the client needs explicit names.
  const expose = c.exposeHeaders.filter((h) => h !== "*" || !c.allowCredentials);
  if (expose.length) lines.push(after("access-control-expose-headers", quoteLiteralFormat(expose.join(", "))));
  if (c.allowMethods.length === 1 && c.allowMethods[0] === "*")
    lines.push(after("access-control-allow-methods", '"%[var(txn.cors_method)]"', ` ${PREFLIGHT}`));
  else if (c.allowMethods.length)
    lines.push(after("access-control-allow-methods", quoteLiteralFormat(c.allowMethods.join(", ")), ` ${PREFLIGHT}`));
  if (c.allowHeaders.length === 1 && c.allowHeaders[0] === "*")
    lines.push(
      after(
        "access-control-allow-headers",
        '"%[var(txn.cors_headers)]"',
        ` ${PREFLIGHT} { var(txn.cors_headers) -m found }`,
      ),
    );
  else if (c.allowHeaders.length)
    lines.push(after("access-control-allow-headers", quoteLiteralFormat(c.allowHeaders.join(", ")), ` ${PREFLIGHT}`));
  lines.push(after("access-control-max-age", String(c.maxAgeSeconds), ` ${PREFLIGHT}`));
  return { lines };
}
