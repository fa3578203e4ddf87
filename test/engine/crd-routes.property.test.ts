/**
 * Tenant isolation, property-tested from the CRDs themselves (issue 9, item 7): every HTTPRoute and
 * GRPCRoute the API server would accept either ends up in a config HAProxy accepts, or exactly the
 * offending route is left out, with a status that says so.
 *
 * Routes are generated (./crd-arbitraries.ts) from the vendored v1.6.1 CRD schemas, read by
 * ./crd-schema.ts (vendor/gateway-api/v1.6.1/standard-install.yaml, plus the experimental
 * channel's rule `retry`): every field of `spec.rules` and `spec.hostnames` comes from its
 * openAPIV3Schema node (enum, maxItems, maxLength/minLength, minimum/maximum, the schema's
 * patterns, x-kubernetes list types), with extremes weighted in: 16 rules, 64 matches per rule up
 * to the 128-per-route CEL cap, 16 header and 16 query matches, 16 filters of every type incl.
 * ExtensionRef and CORS, 16 backendRefs, maximum string lengths, durations up to "99999h", int32
 * extremes, large retry attempts. RegularExpression values come from a pool mixing plain,
 * PCRE-only and JavaScript-only constructs and HAProxy config metacharacters. Half the routes are
 * "tame" (values the engine means to accept: large rules that really get rendered), half "wild"
 * (anything the CRD allows). The CEL rules are honoured by construction or repaired with their
 * intent, and every generated spec is then checked against the schema and all its CEL rules
 * (re-implemented in ./crd-schema.ts; an unknown CEL rule fails the test), so a generator bug
 * cannot pass a CRD-invalid route off as a finding. The API server's defaulting is applied from
 * the schema's `default`s, as the engine sees stored objects.
 *
 * Each case puts 2-7 such routes from 2-3 tenant namespaces (each with Services and ready
 * EndpointSlices, no ReferenceGrants) on one Gateway of our class (listeners allow All
 * namespaces), translates them as the controller does and vets the rendering with the real
 * `haproxy -c` through the controller's own ConfigVetter. It proves, per case:
 *  (a) nothing refused → the config HAProxy checked is the one published, it passes `haproxy -c`,
 *      and no line has more than MAX_LINE_WORDS words;
 *  (b) routes refused → translating again with them `excluded` gives a config `haproxy -c`
 *      accepts (within the Secret budget, no line over the word limit), only the refused routes
 *      are missing from the IR (every other route's rules and status are unchanged), and each
 *      refused route is Accepted=False, UnsupportedValue, "the data plane refused …";
 *  (c) the status is the truth about the IR: a route Accepted=True (with or without
 *      PartiallyInvalid) has every rule the engine does not drop in the IR, exactly as that rule
 *      translates on its own; a rule that "answers HTTP 500" is in the IR with no backends and no
 *      filters; a rule that on its own is not served is not in the IR;
 *  (d) with the controller's validator, the renderer never has to leave out what the engine
 *      accepted (no render warnings), and
 *  (e) HAProxy refuses nothing that validator let through (over-budget aside),
 * The gaps this test once found (REGRESSIONS below) each keep a case of their own.
 * It runs twice: with the validator the controller uses, and with a lax one (any regex, any
 * timeout), so that HAProxy itself refuses routes and the exclusion path (b) runs every time.
 * Coverage counters, with thresholds that scale with the number of runs (checked from 10 cases
 * on), make sure the cases really reach the extremes, both outcomes and every filter type,
 * generated and rendered.
 *
 * PROPERTY_RUNS (default 40; about 30-40 s on the shared 2-core machine, haproxy -c dominates),
 * PROPERTY_SEED (fixed by default; printed by fast-check on failure, with the path),
 * PROPERTY_PATH (replay one case), PROPERTY_SHRINK=1 (shrink a failure; slow),
 * PROPERTY_SURVEY=1 (log every failing case and refusal instead of stopping at the first),
 * PROPERTY_DEBUG=1 (coverage and timings). A failing case is also written out as YAML.
 */
import { describe, expect, it } from "@jest/globals";
import fc from "fast-check";
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { pino } from "pino";
import { defaultValidator, routeKey, translate } from "../../capabilities/engine";
import { LIMITS } from "../../capabilities/engine/features";
import type { ClusterSnapshot, DataplaneValidator, TranslateOptions, TranslateResult } from "../../capabilities/engine";
import type { GatewayIR, RouteRuleIR } from "../../capabilities/engine/ir";
import { renderGateway } from "../../capabilities/render/index";
import { MAX_LINE_WORDS, wordCount } from "../../capabilities/render/quote";
import {
  CONFIG_BUDGET_BYTES,
  ConfigVetter,
  findHaproxy,
  haproxyChecker,
  type ConfigCheck,
} from "../../capabilities/reconcilers/config-vet";
import { encodeConfigFiles } from "../../capabilities/dataplane/secret-data";
import { CONTROLLER_NAME } from "../../capabilities/dataplane/conventions";
import { emptySnapshot } from "./fixtures";
import {
  GRPC_SPEC,
  HTTP_SPEC,
  crdViolations,
  durationMs,
  nodeAt,
  withDefaults,
  type Any,
  type Cel,
  type Obj,
  type Schema,
  celFor,
} from "./crd-schema";
import { SERVICES, caseArb, type Case, type GenRoute } from "./crd-arbitraries";

/** Cases with the controller's validator (a third as many again with a lax one); about 30-40 s on 2 cores. */
const RUNS = Number(process.env.PROPERTY_RUNS ?? 40);
const SEED = Number(process.env.PROPERTY_SEED ?? 20261123);
/** Replays one case: the `path` fast-check printed with the seed. */
const PATH = process.env.PROPERTY_PATH;
/** Shrinking re-runs haproxy -c many times; opt in with PROPERTY_SHRINK=1. */
const SHRINK = process.env.PROPERTY_SHRINK === "1";
/** PROPERTY_SURVEY=1: log every failing case (and every refusal) and go on, to see all bug classes at once. */
const SURVEY = process.env.PROPERTY_SURVEY === "1";
/** PROPERTY_DEBUG=1: print coverage and timings. */
const DEBUG = process.env.PROPERTY_DEBUG === "1";
const surveyed: string[] = [];
let saved = 0;
/** Objects as YAML in a temporary file (a failing case, a refused route), for a reproduction. */
function save(what: string, v: unknown): string {
  const file = join(tmpdir(), `crd-routes-${process.pid}-${saved++}-${what}.yaml`);
  writeFileSync(file, stringify(v, { aliasDuplicateObjects: false, lineWidth: 0 }));
  return file;
}

const HAPROXY = findHaproxy({});
if (!HAPROXY) throw new Error("this test needs the haproxy binary (hack/setup.sh installs it)");
const quiet = pino({ level: "silent" });

// ---------------------------------------------------------------------------------------------
// A case's cluster: one Gateway of our class, tenants with Services and ready endpoints
// ---------------------------------------------------------------------------------------------

const keyOf = (r: GenRoute) => routeKey(r.kind, r.namespace, r.name);
const created = (i: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString().replace(".000", "");

function routeObject(r: GenRoute, creationTimestamp: string): Obj {
  const root = r.kind === "HTTPRoute" ? HTTP_SPEC : GRPC_SPEC;
  return {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: r.kind,
    metadata: { name: r.name, namespace: r.namespace, generation: 1, creationTimestamp },
    spec: withDefaults(root, { parentRefs: [{ name: "gw", namespace: "infra" }], ...r.spec }),
  };
}

/** The case's cluster; `routes` (default: the case's own) are created in list order. */
function snapshotOf(c: Case, routes: GenRoute[] = c.routes): ClusterSnapshot {
  const s = emptySnapshot();
  s.gatewayClasses.push({
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "GatewayClass",
    metadata: { name: "crossway" },
    spec: { controllerName: CONTROLLER_NAME },
  } as never);
  const allow = (kind: string) => ({ namespaces: { from: "All" }, kinds: [{ kind }] });
  s.gateways.push({
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "Gateway",
    metadata: { name: "gw", namespace: "infra", generation: 1 },
    spec: {
      gatewayClassName: "crossway",
      listeners: [
        { name: "http", port: 80, protocol: "HTTP", allowedRoutes: allow("HTTPRoute") },
        { name: "grpc", port: 8080, protocol: "HTTP", allowedRoutes: allow("GRPCRoute") },
      ],
    },
  } as never);
  s.namespaces.push(
    ...(["infra", ...c.tenants].map((name) => ({
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name },
    })) as never[]),
  );
  c.tenants.forEach((ns, t) =>
    SERVICES.forEach((svc, k) => {
      s.services.push({
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: svc.name, namespace: ns },
        spec: { ports: svc.ports },
      } as never);
      s.endpointSlices.push({
        apiVersion: "discovery.k8s.io/v1",
        kind: "EndpointSlice",
        metadata: { name: `${svc.name}-1`, namespace: ns, labels: { "kubernetes.io/service-name": svc.name } },
        addressType: "IPv4",
        ports: svc.ports.map((p) => ({
          port: 9000 + p.port,
          ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}),
        })),
        endpoints: [1, 2].map((e) => ({ addresses: [`10.${t}.${k}.${e}`], conditions: { ready: true } })),
      } as never);
    }),
  );
  const list = { HTTPRoute: s.httpRoutes, GRPCRoute: s.grpcRoutes };
  routes.forEach((r, i) => list[r.kind].push(routeObject(r, created(i)) as never));
  return s;
}

// ---------------------------------------------------------------------------------------------
// Reading the engine's output
// ---------------------------------------------------------------------------------------------

interface Cond {
  type: string;
  status: string;
  reason: string;
  message: string;
}
function routeConditions(res: TranslateResult, r: GenRoute): Cond[] {
  const st = res.statuses.find((x) => x.kind === r.kind && x.namespace === r.namespace && x.name === r.name);
  const parents = (st?.status as { parents?: { conditions: Cond[] }[] } | undefined)?.parents ?? [];
  expect(parents).toHaveLength(1); // one parentRef, to our Gateway
  return parents[0].conditions;
}
const cond = (cs: Cond[], type: string) => cs.find((c) => c.type === type);

/** Every IR rule of a route, with where it sits (port, listener, vhost). */
function irRulesOf(ir: GatewayIR[], key: string): { where: string; rule: RouteRuleIR }[] {
  const out: { where: string; rule: RouteRuleIR }[] = [];
  for (const g of ir)
    for (const p of g.ports)
      for (const l of p.listeners)
        for (const vh of l.virtualHosts)
          for (const rule of vh.rules)
            if (routeKey(rule.route.kind, rule.route.namespace, rule.route.name) === key)
              out.push({ where: `${p.port} ${l.id} ${vh.hostname}`, rule });
  return out;
}
/** A rule's IR without what depends on its index (ids), for comparing with its translation alone. */
const ruleShape = (x: { where: string; rule: RouteRuleIR }) =>
  `${x.where} m${x.rule.matchIndex} ${JSON.stringify(x.rule, (k, v) => (k === "id" || k === "ruleIndex" ? undefined : v))}`;

type RuleFate = "served" | "failClosed" | "dropped";
interface Oracle {
  fates: RuleFate[];
  /** Per rule: its IR entries when translated alone (shape strings). */
  shapes: string[][];
}

/** How each rule of a route translates on its own (the route with only that rule, alone on the Gateway). */
function oracle(c: Case, r: GenRoute, opts: TranslateOptions): Oracle {
  const fates: RuleFate[] = [];
  const shapes: string[][] = [];
  const rules: Any[] = r.spec.rules ?? []; // always generated (an empty list stays empty: no defaulting)
  for (let i = 0; i < rules.length; i++) {
    const alone: GenRoute = { ...r, spec: { ...r.spec, rules: [rules[i]] } };
    const res = translate(snapshotOf(c, [alone]), opts);
    const accepted = cond(routeConditions(res, alone), "Accepted")!;
    const entries = irRulesOf(res.ir, keyOf(alone));
    shapes.push(entries.map(ruleShape).sort());
    if (accepted.status === "True") fates.push("served");
    else {
      expect(accepted.reason).toBe("UnsupportedValue");
      fates.push(entries.length > 0 ? "failClosed" : "dropped");
    }
  }
  return { fates, shapes };
}

/** (c): the route's status and its rules in the IR agree with how each rule translates alone. */
function checkRouteAgainstOracle(res: TranslateResult, r: GenRoute, o: Oracle): void {
  const cs = routeConditions(res, r);
  const accepted = cond(cs, "Accepted")!;
  const partially = cond(cs, "PartiallyInvalid");
  const served = o.fates.filter((f) => f === "served").length;
  const entries = irRulesOf(res.ir, keyOf(r));
  if (o.fates.length === 0) {
    expect(entries).toEqual([]); // `rules: []`: nothing to serve
    return;
  }
  if (served > 0) {
    expect(accepted.status).toBe("True");
    if (served < o.fates.length) expect(partially).toMatchObject({ status: "True", reason: "UnsupportedValue" });
    else expect(partially).toBeUndefined();
  } else {
    expect(accepted).toMatchObject({ status: "False", reason: "UnsupportedValue" });
  }
  o.fates.forEach((fate, i) => {
    const mine = entries.filter((e) => e.rule.ruleIndex === i);
    if (fate === "dropped") {
      expect(mine).toEqual([]);
      return;
    }
    expect(mine.map(ruleShape).sort()).toEqual(o.shapes[i]);
    expect(mine.length).toBeGreaterThan(0);
    if (fate === "failClosed") {
      if (served === 0) expect(accepted.message).toContain("answer HTTP 500");
      for (const e of mine) expect(e.rule).toMatchObject({ backends: [], filters: [] });
    }
  });
  expect(entries.every((e) => e.rule.ruleIndex < o.fates.length)).toBe(true);
}

// ---------------------------------------------------------------------------------------------
// Coverage: what the generated cases reached (so the test cannot pass on trivial routes)
// ---------------------------------------------------------------------------------------------

class Coverage {
  readonly counts = new Map<string, number>();
  #case = new Set<string>();
  hit(name: string): void {
    this.#case.add(name);
  }
  endCase(): void {
    for (const n of this.#case) this.counts.set(n, (this.counts.get(n) ?? 0) + 1);
    this.counts.set("cases", (this.counts.get("cases") ?? 0) + 1);
    this.#case = new Set();
  }
  get(name: string): number {
    return this.counts.get(name) ?? 0;
  }
}

/** What a case's routes contain (extremes, match and filter types). */
function observeSpec(cov: Coverage, r: GenRoute): void {
  const root = r.kind === "HTTPRoute" ? HTTP_SPEC : GRPC_SPEC;
  const max = (path: string) => nodeAt(root, path).maxItems!;
  const rules: Any[] = r.spec.rules ?? [];
  cov.hit(r.kind);
  if (rules.length === max("rules")) cov.hit("max rules");
  if ((r.spec.hostnames ?? []).length === max("hostnames")) cov.hit("max hostnames");
  for (const rule of rules) {
    const matches: Any[] = rule.matches ?? [];
    if (matches.length === max("rules[].matches")) cov.hit("max matches per rule");
    if (matches.length >= 32) cov.hit("32+ matches per rule");
    for (const m of matches) observeMatch(cov, r.kind, m);
    const filters: Any[] = rule.filters ?? [];
    if (filters.length === max("rules[].filters")) cov.hit("max filters");
    for (const f of filters) cov.hit(`filter ${f.type}`);
    const backends: Any[] = rule.backendRefs ?? [];
    if (backends.length === max("rules[].backendRefs")) cov.hit("max backendRefs");
    if (backends.some((b) => (b.filters ?? []).length > 0)) cov.hit("backendRef filters");
    if (rule.retry) cov.hit("retry");
    if (rule.retry?.attempts > LIMITS.retryAttempts) cov.hit("retry attempts over crossway's limit");
    for (const t of [rule.timeouts?.request, rule.timeouts?.backendRequest])
      if (typeof t === "string" && durationMs(t) > LIMITS.timeoutMs) cov.hit("timeout beyond 2^31-1 ms");
  }
}

function observeMatch(cov: Coverage, kind: GenRoute["kind"], m: Any): void {
  const root = kind === "HTTPRoute" ? HTTP_SPEC : GRPC_SPEC;
  const headers = nodeAt(root, "rules[].matches[].headers");
  if ((m.headers ?? []).length === headers.maxItems) cov.hit("max header matches");
  if ((m.headers ?? []).some((h: Any) => h.value.length === headers.items!.properties!.value.maxLength))
    cov.hit("max header value length");
  if (
    [m.path, ...(m.headers ?? []), ...(m.queryParams ?? []), m.method].some((x: Any) => x?.type === "RegularExpression")
  )
    cov.hit("RegularExpression match");
  if (kind !== "HTTPRoute") return;
  if ((m.queryParams ?? []).length === nodeAt(root, "rules[].matches[].queryParams").maxItems)
    cov.hit("max query matches");
  if (m.path?.type) cov.hit(`path ${m.path.type}`);
  if (m.path?.value?.length === nodeAt(root, "rules[].matches[].path").properties!.value.maxLength)
    cov.hit("max path length");
  if (typeof m.method === "string") cov.hit("method match");
}

/** What the published IR holds: extremes that were actually rendered, not only generated. */
function observeIR(cov: Coverage, ir: GatewayIR[]): void {
  for (const g of ir)
    for (const p of g.ports)
      for (const l of p.listeners)
        for (const vh of l.virtualHosts)
          for (const r of vh.rules) {
            const m = r.match;
            if (m.headers.length === 16) cov.hit("rendered: 16 header matches");
            if (m.queryParams.length === 16) cov.hit("rendered: 16 query matches");
            if (m.headers.length + m.queryParams.length >= 16 && m.method)
              cov.hit("rendered: method + 16 header/query matches");
            if ([m.path, ...m.headers, ...m.queryParams].some((x) => x?.type === "RegularExpression"))
              cov.hit("rendered: RegularExpression");
            if (r.filters.length === 16) cov.hit("rendered: 16 filters");
            if (r.backends.length === 16) cov.hit("rendered: 16 backendRefs");
            for (const f of r.filters) cov.hit(`rendered: ${f.type}`);
            if (r.timeouts) cov.hit("rendered: timeouts");
            if (r.retry) cov.hit("rendered: retry");
            if (r.backends.length === 0 && r.filters.length === 0) cov.hit("rendered: a rule answering 500");
          }
}

// ---------------------------------------------------------------------------------------------
// The property
// ---------------------------------------------------------------------------------------------

const timing = { checks: 0, checkMs: 0, oracleMs: 0, bytes: 0 };
const haproxyCheck = haproxyChecker(HAPROXY);
const realCheck: ConfigCheck = async (files) => {
  const t = performance.now();
  try {
    return await haproxyCheck(files);
  } finally {
    timing.checks++;
    timing.checkMs += performance.now() - t;
    timing.bytes += files["haproxy.cfg"].length;
  }
};
const same = (a: Record<string, string>, b: Record<string, string>) =>
  JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());
const budgetBytes = (files: Record<string, string>) =>
  Object.entries(encodeConfigFiles(files)).reduce((n, [k, v]) => n + k.length + v.length, 0);

function expectWordLimit(cfg: string): void {
  const over = cfg.split("\n").filter((l) => wordCount(l) > MAX_LINE_WORDS);
  expect(over.map((l) => l.slice(0, 200))).toEqual([]);
}

interface Mode {
  name: string;
  validator?: DataplaneValidator;
  /**
   * The controller's own validator: (d) the renderer never leaves out what the engine accepted,
   * and (e) HAProxy refuses nothing the validator let through (over-budget aside).
   */
  strict: boolean;
}

/**
 * Places where the controller's validator once let through what the data plane cannot take,
 * found by this property: each keeps a case below (the engine refuses it, or HAProxy takes it).
 */
const REGRESSIONS: { title: string; rule: Obj; haproxy?: RegExp; render?: RegExp }[] = [
  {
    title: 'an Exact header or query value "}" closes HAProxy\'s anonymous ACL early ("no such ACL")',
    rule: { matches: [{ headers: [{ name: "x-a", value: "}" }], queryParams: [{ name: "q", value: "}" }] }] },
    haproxy: /no such ACL : '\}'/,
  },
  {
    title:
      "a lookbehind whose alternatives or escapes have different lengths ((?<=(a|bc)), (?<=\\R)) is refused by PCRE2",
    rule: {
      matches: [
        { path: { type: "RegularExpression", value: "/(?<=(a|bc))d" } },
        { headers: [{ type: "RegularExpression", name: "x-a", value: "(?<=\\R)x" }] },
      ],
    },
    haproxy: /lookbehind assertion is not fixed length/,
  },
  {
    title: "an unknown POSIX class name ([[:foo:]]) is refused by PCRE2",
    rule: { matches: [{ path: { type: "RegularExpression", value: "/[[:foo:]]" } }] },
    haproxy: /unknown POSIX class name/,
  },
  {
    title: "a \\g back-reference to a group that does not exist (\\g1, \\g{-1}) is refused by PCRE2",
    rule: { matches: [{ path: { type: "RegularExpression", value: "/a\\g{-1}" } }] },
    haproxy: /reference to non-existent subpattern/,
  },
  {
    title: "an escape JavaScript reads as a plain letter is refused by PCRE2 (\\P, \\Y)",
    rule: {
      matches: [
        { path: { type: "RegularExpression", value: "/\\P" } },
        { headers: [{ type: "RegularExpression", name: "x-a", value: "a\\Y" }] },
      ],
    },
    haproxy: /malformed \\P or \\p sequence|unrecognized character follows \\/,
  },
  {
    title: "a pattern PCRE2 compiles too large ((ab){65535}) is refused",
    rule: { matches: [{ path: { type: "RegularExpression", value: "/(ab){65535}" } }] },
    haproxy: /regular expression is too large/,
  },
  {
    title: "a query param name with CRD-valid token characters ($ % ' ^ ` |) is accepted but matches nothing",
    rule: {
      matches: [
        {
          queryParams: [
            { name: "a$b", value: "1" },
            { name: "c'd", value: "2" },
          ],
        },
      ],
    },
    render: /: query param match ".*" cannot be rendered; it matches nothing$/,
  },
  {
    title: "an Exact query value with a control character is accepted but matches nothing",
    rule: { matches: [{ queryParams: [{ name: "q", value: "a\tb" }] }] },
    render: /: query param match ".*" cannot be rendered; it matches nothing$/,
  },
];
const overBudget = (why: string) => why.includes("over the budget");

async function runCase(c: Case, mode: Mode, cov: Coverage): Promise<void> {
  const opts: TranslateOptions = {
    controllerName: CONTROLLER_NAME,
    ...(mode.validator ? { validator: mode.validator } : {}),
  };
  for (const r of c.routes) {
    // validated after defaulting, as the API server does (CEL rules see the defaulted object)
    const root = r.kind === "HTTPRoute" ? HTTP_SPEC : GRPC_SPEC;
    const violations = crdViolations(
      root,
      withDefaults(root, { parentRefs: [{ name: "gw", namespace: "infra" }], ...r.spec }),
    );
    expect(violations).toEqual([]); // the generator only makes routes the API server accepts
    observeSpec(cov, r);
  }
  const snapshot = snapshotOf(c);
  const first = translate(snapshot, opts);
  expect(first.ir).toHaveLength(1);

  const calls: { files: Record<string, string>; why: string | undefined }[] = [];
  const check: ConfigCheck = async (files) => {
    const why = await realCheck(files);
    calls.push({ files, why });
    return why;
  };
  const createdOf = new Map(c.routes.map((r, i) => [keyOf(r), created(i)]));
  const vetter = new ConfigVetter((ir) => renderGateway(ir), {
    check,
    created: (k) => createdOf.get(k) ?? "",
    log: quiet,
  });
  const verdict = await vetter.vet(first.ir);
  expect([...verdict.gateways]).toEqual([]); // the Gateway's own parts are always fine

  // (c) on the first translation: status and IR agree, rule by rule.
  const t0 = performance.now();
  const oracles = new Map(c.routes.map((r) => [keyOf(r), oracle(c, r, opts)]));
  timing.oracleMs += performance.now() - t0;
  for (const r of c.routes) {
    const o = oracles.get(keyOf(r))!;
    checkRouteAgainstOracle(first, r, o);
    if (o.fates.includes("dropped") || o.fates.includes("failClosed")) cov.hit("engine UnsupportedValue");
    if (o.fates.includes("failClosed")) cov.hit("rule answers 500");
    if (o.fates.every((f) => f !== "served")) cov.hit("route Accepted=False");
    if (o.fates.includes("served") && o.fates.some((f) => f !== "served")) cov.hit("route PartiallyInvalid");
    if (o.fates.includes("served")) cov.hit("route served");
  }

  if (verdict.refused.size === 0) {
    // (a) the config HAProxy checked is the one published, and it passed.
    cov.hit("all accepted");
    const published = vetter.rendered(first.ir[0]);
    const checked = calls.find((x) => same(x.files, published.files));
    const why = checked ? checked.why : await realCheck(published.files);
    expect(why).toBeUndefined();
    expectWordLimit(published.files["haproxy.cfg"]);
    if (mode.strict) expect(published.warnings ?? []).toEqual([]); // (d)
    observeIR(cov, first.ir);
    return;
  }

  // (b) the refused routes are left out, and only they.
  cov.hit("refused by HAProxy");
  if (SURVEY)
    for (const [k, why] of verdict.refused)
      surveyed.push(
        `refused ${k}: ${why}\n(route in ${save(
          "refused",
          c.routes.find((r) => keyOf(r) === k),
        )})`,
      );
  for (const why of verdict.refused.values()) if (overBudget(why)) cov.hit("refused over budget");
  // (e) with the controller's validator, HAProxy refuses only what is over the budget (or a known gap)
  if (mode.strict) expect([...verdict.refused.values()].filter((why) => !overBudget(why))).toEqual([]);
  const excluded = Object.fromEntries(verdict.refused);
  const second = translate(snapshot, { ...opts, excluded });
  expect(second.ir).toHaveLength(1);
  const out = renderGateway(second.ir[0]);
  expect(await realCheck(out.files)).toBeUndefined();
  expectWordLimit(out.files["haproxy.cfg"]);
  expect(budgetBytes(out.files)).toBeLessThanOrEqual(CONFIG_BUDGET_BYTES);
  if (mode.strict) expect(out.warnings ?? []).toEqual([]); // (d)
  observeIR(cov, second.ir);
  for (const r of c.routes) {
    const key = keyOf(r);
    if (verdict.refused.has(key)) {
      expect(irRulesOf(second.ir, key)).toEqual([]);
      expect(cond(routeConditions(second, r), "Accepted")).toMatchObject({
        status: "False",
        reason: "UnsupportedValue",
      });
      expect(cond(routeConditions(second, r), "Accepted")!.message).toContain("data plane refused");
    } else {
      expect(irRulesOf(second.ir, key).map(ruleShape).sort()).toEqual(irRulesOf(first.ir, key).map(ruleShape).sort());
      expect(routeConditions(second, r)).toEqual(routeConditions(first, r));
    }
  }
}

function report(mode: Mode, cov: Coverage, ms: number): void {
  if (!DEBUG) return;
  console.log(
    `${mode.name}: ${Math.round(ms)} ms ${JSON.stringify(timing)}\n${[...cov.counts].map(([k, v]) => `  ${k}: ${v}`).join("\n")}`,
  );
}

/** Fewer cases than this say nothing about coverage (PROPERTY_RUNS=3 for a quick look, a replayed path). */
const COVERAGE_MIN_CASES = 10;

/** At least `fraction` of the cases had `name` (floored). */
function expectCoverage(cov: Coverage, runs: number, wanted: Record<string, number>): void {
  if (runs < COVERAGE_MIN_CASES) return;
  const missing = Object.entries(wanted)
    .filter(([name, fraction]) => cov.get(name) < Math.floor(runs * fraction))
    .map(([name, fraction]) => `${name}: ${cov.get(name)} of ${runs} cases, wanted ≥ ${Math.floor(runs * fraction)}`);
  expect(missing).toEqual([]);
}

const lax: DataplaneValidator = { ...defaultValidator(), regex: () => undefined, timeout: () => undefined };
const MODES: { mode: Mode; runs: number; coverage: Record<string, number> }[] = [
  {
    mode: { name: "the controller's validator", strict: true },
    runs: RUNS,
    // fractions of the cases, about half of what seed 20261123 reaches at 40 runs (floored: small runs ask less)
    coverage: {
      HTTPRoute: 0.9,
      GRPCRoute: 0.3,
      "RegularExpression match": 0.5,
      "path Exact": 0.35,
      "path PathPrefix": 0.35,
      "path RegularExpression": 0.35,
      "method match": 0.4,
      "filter RequestHeaderModifier": 0.3,
      "filter ResponseHeaderModifier": 0.3,
      "filter RequestMirror": 0.3,
      "filter RequestRedirect": 0.2,
      "filter URLRewrite": 0.2,
      "filter ExtensionRef": 0.15,
      "filter CORS": 0.3,
      "backendRef filters": 0.4,
      "max rules": 0.05,
      "max hostnames": 0.05,
      "max matches per rule": 0.05,
      "32+ matches per rule": 0.1,
      "max header matches": 0.15,
      "max query matches": 0.15,
      "max filters": 0.1,
      "max backendRefs": 0.15,
      "max path length": 0.15,
      "max header value length": 0.15,
      "timeout beyond 2^31-1 ms": 0.2,
      "engine UnsupportedValue": 0.4,
      "rule answers 500": 0.3,
      "route Accepted=False": 0.35,
      "route PartiallyInvalid": 0.2,
      "route served": 0.6,
      "all accepted": 0.3,
      "rendered: RegularExpression": 0.4,
      "rendered: 16 header matches": 0.025,
      "rendered: 16 query matches": 0.05,
      "rendered: method + 16 header/query matches": 0.05,
      "rendered: 16 filters": 0.025,
      "rendered: 16 backendRefs": 0.05,
      "rendered: CORS": 0.2,
      "rendered: RequestMirror": 0.15,
      "rendered: RequestRedirect": 0.15,
      "rendered: URLRewrite": 0.15,
      "rendered: RequestHeaderModifier": 0.3,
      "rendered: ResponseHeaderModifier": 0.3,
      "rendered: timeouts": 0.5,
      retry: 0.3,
      "retry attempts over crossway's limit": 0.05,
      "rendered: retry": 0.2,
      "rendered: a rule answering 500": 0.4,
    },
  },
  {
    mode: { name: "a lax validator (any regex, any timeout)", validator: lax, strict: false },
    runs: Math.max(1, Math.ceil(RUNS / 3)),
    coverage: { "refused by HAProxy": 0.4, "route served": 0.5, "rendered: RegularExpression": 0.4 },
  },
];

describe("CRD-valid routes from the vendored schemas, through the engine, renderer and haproxy -c", () => {
  it("the generator reads its limits from the schema", () => {
    expect(nodeAt(HTTP_SPEC, "rules").maxItems).toBe(16);
    expect(nodeAt(HTTP_SPEC, "rules[].matches").maxItems).toBe(64);
    expect(nodeAt(HTTP_SPEC, "rules[].matches[].headers").maxItems).toBe(16);
    expect(nodeAt(HTTP_SPEC, "rules[].matches[].queryParams").maxItems).toBe(16);
    expect(nodeAt(HTTP_SPEC, "rules[].filters").maxItems).toBe(16);
    expect(nodeAt(HTTP_SPEC, "rules[].backendRefs").maxItems).toBe(16);
    expect(nodeAt(HTTP_SPEC, "rules[].filters[].type").enum).toEqual(
      expect.arrayContaining(["ExtensionRef", "CORS", "RequestMirror", "URLRewrite", "RequestRedirect"]),
    );
    // every CEL rule of both CRDs is re-implemented (crdViolations throws on an unknown one)
    expect(() => crdViolations(HTTP_SPEC, { rules: [] })).not.toThrow();
    const cels: Cel[] = [];
    const walk = (s: Schema) => {
      cels.push(...(s["x-kubernetes-validations"] ?? []));
      Object.values(s.properties ?? {}).forEach(walk);
      if (s.items) walk(s.items);
    };
    walk(HTTP_SPEC);
    walk(GRPC_SPEC);
    expect(cels.filter((c) => !celFor(c)).map((c) => c.message)).toEqual([]);
  });

  describe("known gaps in the controller's validator (reported; each fails today)", () => {
    for (const gap of REGRESSIONS) {
      it(`the engine refuses, or HAProxy takes: ${gap.title}`, async () => {
        const c: Case = { tenants: ["team-a"], routes: [] };
        const route: GenRoute = {
          kind: "HTTPRoute",
          namespace: "team-a",
          name: "gap",
          flavor: "tame",
          spec: { rules: [{ ...gap.rule, backendRefs: [{ name: "web", port: 80 }] }] },
        };
        expect(
          crdViolations(HTTP_SPEC, withDefaults(HTTP_SPEC, { parentRefs: [{ name: "gw" }], ...route.spec })),
        ).toEqual([]);
        const res = translate(snapshotOf(c, [route]), { controllerName: CONTROLLER_NAME });
        const out = renderGateway(res.ir[0]);
        expect(out.warnings).toEqual([]);
        expect(await realCheck(out.files)).toBeUndefined();
      });
    }
  });

  for (const { mode, runs, coverage } of MODES) {
    it(`with ${mode.name}: HAProxy accepts the config, or exactly the offending routes are left out with a reason`, async () => {
      const cov = new Coverage();
      const started = performance.now();
      Object.assign(timing, { checks: 0, checkMs: 0, oracleMs: 0, bytes: 0 });
      await fc.assert(
        fc.asyncProperty(caseArb, async (c) => {
          try {
            await runCase(c, mode, cov);
          } catch (e) {
            const err = e as Error;
            const where = `the failing case (its routes as YAML) is in ${save("case", c)}`;
            if (!SURVEY) throw Object.assign(err, { message: `${err.message}\n\n${where}` });
            surveyed.push(`${err.message.split("\n").slice(0, 12).join("\n")}\n${where}`);
          } finally {
            cov.endCase();
          }
        }),
        { numRuns: runs, seed: SEED, endOnFailure: !SHRINK, ...(PATH ? { path: PATH } : {}) },
      );
      report(mode, cov, performance.now() - started);
      if (SURVEY) console.log(`${surveyed.length} failing cases:\n${surveyed.splice(0).join("\n---\n")}`);
      expectCoverage(cov, cov.get("cases") >= runs ? runs : cov.get("cases"), coverage);
    }, 900_000);
  }
});
