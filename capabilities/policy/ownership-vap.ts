/**
 * RouteOwnershipPolicy `admission: Deny`, enforced by the API server itself: a
 * ValidatingAdmissionPolicy whose parameter is the RouteOwnershipIndex `crossway` that the
 * controller writes (engine/graph/ownership-index.ts). It refuses an HTTPRoute or GRPCRoute write
 * whose matches the policy in force would cut back, with the same sentences as the route's status
 * and the webhook (the templates below are the engine's own message functions), and it keeps doing
 * so while the module is down: with the policies as the controller last resolved them, and with
 * the namespace labels of the moment (selectors are evaluated by the API server).
 *
 * The judgement is graph/ownership.ts `judge`, written in CEL over the flattened index:
 * - a route attaches to an indexed listener as the engine attaches it (kinds, allowedRoutes
 *   namespaces, parentRef group/kind/namespace/name/sectionName/port), on the effective hostnames
 *   (route ∩ listener, hostname.ts `intersect`);
 * - per (hostname, match): the covering claim entries with the highest rank decide; a
 *   RegularExpression path where others claim prefixes is contested; nothing covering follows
 *   `unclaimed`.
 * Without the index object (no module has run yet) the policy allows everything.
 */
import { ownership as O } from "../engine/conditions";
import { OWNERSHIP_INDEX_NAME } from "../engine/graph/ownership-index";

export const OWNERSHIP_VAP = "crossway-route-ownership";

type Obj = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
} & Record<string, unknown>;

const labels = { "app.kubernetes.io/part-of": "crossway" };
const cel = (s: string) => `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;

/**
 * A message function of the engine as a CEL string expression: each argument is a CEL expression;
 * the engine's words are kept as literals between them.
 */
function template<A extends string[]>(fn: (...args: A) => string, ...exprs: A): string {
  const marks = exprs.map((_, i) => `@@arg${i}@@`) as A;
  return fn(...marks)
    .split(/@@arg(\d+)@@/)
    .map((part, i) => (i % 2 === 1 ? `(${exprs[Number(part)]})` : part === "" ? "" : cel(part)))
    .filter((p) => p !== "")
    .join(" + ");
}

/** Does label selector `s` (both fields always present in the index) select labels `l`? */
const selects = (s: string, l: string) =>
  `(${s}.matchLabels.all(k, k in ${l} && ${l}[k] == ${s}.matchLabels[k]) && ` +
  `${s}.matchExpressions.all(e, e.operator == 'In' ? (e.key in ${l} && ${l}[e.key] in e.values) : ` +
  `e.operator == 'NotIn' ? !(e.key in ${l} && ${l}[e.key] in e.values) : ` +
  `e.operator == 'Exists' ? (e.key in ${l}) : e.operator == 'DoesNotExist' ? !(e.key in ${l}) : false))`;

/** hostname.ts: does wildcard `p` cover host `h` (strictly more specific)? */
const covers = (p: string, h: string) =>
  `(${h}.endsWith(${p}.substring(1)) && ${h}.size() > ${p}.size() - 1 && ${h}.substring(0, ${h}.size() - ${p}.size() + 1) != '*')`;

/** hostname.ts `intersect` of listener hostname `l` ('' = any) and route hostname `r`; '' = none. */
const intersect = (l: string, r: string) =>
  `(${l} == '' ? ${r} : ${l} == ${r} ? ${r} : (${l}.startsWith('*.') && ${covers(l, r)}) ? ${r} : ` +
  `(${r}.startsWith('*.') && ${covers(r, l)}) ? ${l} : '')`;

/** ownership.ts `hostWithin`: is every host of `h` inside pattern `p`? */
const hostWithin = (h: string, p: string) =>
  `(${h} == ${p} || (${p}.startsWith('*.') && ${h} != '*' && ` +
  `(${h}.startsWith('*.') ? ${h}.substring(1).endsWith(${p}.substring(1)) : ${h}.endsWith(${p}.substring(1)))))`;

/** ownership.ts `pathWithin` (true only; a RegularExpression or absent path is inside only ''). */
const pathWithin = (m: string, prefix: string) =>
  `(${prefix} == '' || ((${m}.type == 'Exact' || ${m}.type == 'PathPrefix') && ` +
  `(${m}.value == ${prefix} || ${m}.value.startsWith(${prefix} + '/'))))`;

const owns = (c: string) =>
  `((${c}.names.size() > 0 && variables.ns in ${c}.names) || (has(${c}.selector) && ${selects(`${c}.selector`, "variables.nsLabels")}))`;

const rule = (i: string, r: string) => `'rule ' + string(${i}) + (has(${r}.name) ? ' ("' + ${r}.name + '")' : '')`;
const where = (i: string, r: string, j: string) => `${rule(i, r)} + ' match ' + string(${j})`;
/** A CEL map literal's values must share one type: dyn() each (the fields are read as strings). */
const entry = (w: string, type: string, value: string) =>
  `{'where': dyn(${w}), 'type': dyn(${type}), 'value': dyn(${value})}`;

/** Every match of the route as {where, type, value}: the path the engine matches on. */
const HTTP_MATCHES =
  "(has(object.spec.rules) ? object.spec.rules : []).transformList(i, r, " +
  `!has(r.matches) || r.matches.size() == 0 ? [${entry(`${rule("i", "r")} + ' match 0'`, "'PathPrefix'", "'/'")}] : ` +
  `r.matches.transformList(j, m, ${entry(
    where("i", "r", "j"),
    "has(m.path) && has(m.path.type) ? m.path.type : 'PathPrefix'",
    "has(m.path) && has(m.path.value) ? m.path.value : '/'",
  )})).flatten()`;

/** grpcroute.ts `methodPath`: Exact /s/m, PathPrefix /s, else a RegularExpression; none: no path. */
const GRPC_MATCHES =
  "(has(object.spec.rules) ? object.spec.rules : []).transformList(i, r, " +
  `!has(r.matches) || r.matches.size() == 0 ? [${entry(`${rule("i", "r")} + ' match 0'`, "'None'", "'/'")}] : ` +
  `r.matches.transformList(j, m, ${entry(
    where("i", "r", "j"),
    "!has(m.method) || (!has(m.method.service) && !has(m.method.method)) ? 'None' : " +
      "(has(m.method.type) && m.method.type == 'RegularExpression') || !has(m.method.service) ? 'RegularExpression' : " +
      "has(m.method.method) ? 'Exact' : 'PathPrefix'",
    "!has(m.method) ? '/' : '/' + (has(m.method.service) ? m.method.service : '[^/]+') + " +
      "(has(m.method.method) ? '/' + m.method.method : '')",
  )})).flatten()`;

const ATTACHED =
  "L.kinds.exists(k, k == request.kind.kind) && " +
  `(L.from == 'All' || (L.from == 'Same' && variables.ns == L.ownerNamespace) || (L.from == 'Selector' && has(L.selector) && ${selects("L.selector", "variables.nsLabels")})) && ` +
  "variables.refs.exists(p, (has(p.group) ? p.group : 'gateway.networking.k8s.io') == L.parent.group && " +
  "(has(p.kind) ? p.kind : 'Gateway') == L.parent.kind && (has(p.namespace) ? p.namespace : variables.ns) == L.parent.namespace && " +
  "p.name == L.parent.name && (!has(p.sectionName) || p.sectionName == L.sectionName) && (!has(p.port) || p.port == L.port))";

/** Effective hostnames (hostname.ts `effectiveHostnames`): each once. */
const HOSTS =
  "(variables.hosts.size() == 0 ? [L.hostname == '' ? '*' : L.hostname] : " +
  `[variables.hosts.map(r, ${intersect("L.hostname", "r")})].map(xs, ` +
  "xs.transformList(i, x, xs.exists(j, y, j < i && y == x) ? '' : x))[0].filter(x, x != ''))";

/** Claim entries covering (h, m) as {rank, own, desc}. */
const COVERING =
  "L.claims.map(c, c.entries.filter(e, (e.host == '' || " +
  `${hostWithin("h", "e.host")}) && ${pathWithin("m", "e.prefix")})` +
  `.map(e, {'rank': dyn(e.rank), 'own': dyn(${owns("c")}), 'desc': dyn(c.ownersDesc)})).flatten()`;

const CONTESTED =
  "L.claims.filter(c, !" +
  owns("c") +
  ` && c.entries.exists(e, e.prefix != '' && (e.host == '' || ${hostWithin("h", "e.host")}))).map(c, c.ownersDesc)`;

/** One (listener L, hostname h, match m): the problem sentence, or ''. */
const JUDGE =
  `[${CONTESTED}].map(contested, [${COVERING}].map(cov, ` +
  `m.type == 'RegularExpression' && contested.size() > 0 ? ${template(
    O.regexContested,
    "m.where",
    "h",
    "L.desc",
    "contested.join(' and ')",
    "L.policy",
  )} : ` +
  `cov.size() == 0 ? (L.denyUnclaimed ? ${template(O.unclaimed, "m.where", "h", "m.value", "L.desc", "L.policy")} : '') : ` +
  "cov.exists(e, !e.own && cov.all(f, f.rank < e.rank || (f.rank == e.rank && !f.own))) ? " +
  `${template(
    O.claim,
    "m.where",
    "h",
    "m.value",
    "L.desc",
    "cov.filter(e, cov.all(f, f.rank <= e.rank)).map(e, e.desc).join(' and ')",
    "L.policy",
  )} : '')[0])[0]`;

const PROBLEMS =
  `variables.listeners.map(L, ${HOSTS}.map(h, variables.matches.map(m, ${JUDGE}))).flatten().flatten()` +
  ".filter(p, p != '')";

const KINDS = [
  { resource: "httproutes", matches: HTTP_MATCHES },
  { resource: "grpcroutes", matches: GRPC_MATCHES },
];

export const ownershipPolicyName = (resource: string, base = OWNERSHIP_VAP) => `${base}-${resource}`;

/**
 * The policies (one per route kind, so each is type-checked against that kind's schema) and
 * their bindings; the parameter is the controller's RouteOwnershipIndex.
 */
export function ownershipAdmissionPolicy(opts: { name?: string; paramName?: string } = {}): Obj[] {
  return KINDS.flatMap(({ resource, matches }) => {
    const name = ownershipPolicyName(resource, opts.name);
    return [
      {
        apiVersion: "admissionregistration.k8s.io/v1",
        kind: "ValidatingAdmissionPolicy",
        metadata: { name, labels },
        spec: {
          // Ignore: a policy the API server cannot evaluate (its parameter's CRD not discovered yet
          // after an API server start, a CEL error) must not refuse every route write in the
          // cluster. The webhook still refuses while the module is up, and the data plane never
          // serves a refused match either way.
          failurePolicy: "Ignore",
          paramKind: { apiVersion: "crossway.dev/v1alpha1", kind: "RouteOwnershipIndex" },
          matchConstraints: {
            resourceRules: [
              {
                apiGroups: ["gateway.networking.k8s.io"],
                apiVersions: ["v1"],
                operations: ["CREATE", "UPDATE"],
                resources: [resource],
              },
            ],
          },
          // a metadata-only update (labels, finalizers) of a route admitted earlier is not judged
          matchConditions: [
            { name: "spec-written", expression: "request.operation == 'CREATE' || object.spec != oldObject.spec" },
          ],
          variables: [
            { name: "ns", expression: "request.namespace" },
            {
              name: "nsLabels",
              expression:
                "has(namespaceObject.metadata) && has(namespaceObject.metadata.labels) ? namespaceObject.metadata.labels : {}",
            },
            { name: "refs", expression: "has(object.spec.parentRefs) ? object.spec.parentRefs : []" },
            { name: "hosts", expression: "has(object.spec.hostnames) ? object.spec.hostnames : []" },
            {
              name: "listeners",
              expression: `has(params.spec) && has(params.spec.listeners) ? params.spec.listeners.filter(L, ${ATTACHED}) : []`,
            },
            { name: "matches", expression: `variables.listeners.size() == 0 ? [] : ${matches}` },
            { name: "problems", expression: PROBLEMS },
          ],
          validations: [
            {
              expression: "variables.problems.size() == 0",
              messageExpression:
                "request.kind.kind + ' ' + variables.ns + '/' + object.metadata.name + ' is refused by route ownership " +
                "(admission: Deny): ' + variables.problems.join('; ')",
              reason: "Forbidden",
            },
          ],
        },
      },
      {
        apiVersion: "admissionregistration.k8s.io/v1",
        kind: "ValidatingAdmissionPolicyBinding",
        metadata: { name, labels },
        spec: {
          policyName: name,
          validationActions: ["Deny"],
          paramRef: { name: opts.paramName ?? OWNERSHIP_INDEX_NAME, parameterNotFoundAction: "Allow" },
        },
      },
    ];
  });
}
