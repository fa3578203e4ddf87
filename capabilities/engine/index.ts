/**
 * The pure engine: translate(snapshot, opts) → statuses + data-plane IR.
 * No I/O, no clock, no pepr: the same snapshot always gives byte-identical output.
 *
 * Pipeline (one-way): normalize (sort inputs) → lookup (indexes) → graph/ (resolve and attach)
 * → status/ (desired .status per object) and ir/ (per-Gateway routing IR).
 */
import type { ClusterSnapshot, TranslateOptions } from "./snapshot";
import type { TranslateResult } from "./result";
import { defaultValidator } from "./features";
import { cmp, nameOf, nsOf } from "./meta";
import { buildLookup } from "./graph/lookup";
import { buildGraph } from "./graph";
import { buildStatuses } from "./status";
import { buildIR } from "./ir/index";
import { ownershipIndex } from "./graph/ownership-index";
import { HEALTH_PORT } from "../dataplane/conventions";

export type { ClusterSnapshot, TranslateOptions } from "./snapshot";
export { routeKey } from "./snapshot";
export type { TranslateResult, ObjectStatus, ConditionOut, StatusKind } from "./result";
export type { DataplaneValidator } from "./features";
export { defaultValidator, SUPPORTED_FEATURES } from "./features";
export type { OwnershipIndexSpec } from "./graph/ownership-index";
export { OWNERSHIP_INDEX_NAME } from "./graph/ownership-index";
export { secretsToRead, type SecretRef, type SecretInputs } from "./secrets";

export function translate(snapshot: ClusterSnapshot, opts: TranslateOptions): TranslateResult {
  const s = normalize(snapshot);
  // An empty controllerName owns nothing (never fail open on a misconfigured shell).
  const controllerName = String(opts?.controllerName ?? "");
  if (controllerName === "") return { statuses: [], ir: [] };
  const validator = opts.validator ?? defaultValidator({ reservedPorts: [HEALTH_PORT] });
  const lookup = buildLookup(s, controllerName, validator, opts.excluded ?? {});
  const graph = buildGraph(s, lookup);
  const result: TranslateResult = { statuses: buildStatuses(graph, controllerName), ir: buildIR(graph) };
  const index = ownershipIndex(graph.gateways);
  if (index.listeners.length > 0) result.ownershipIndex = index;
  return result;
}

/** Copy every list sorted by namespace/name (missing lists become empty), so input order never matters. */
function normalize(s: Partial<ClusterSnapshot> | undefined): ClusterSnapshot {
  // decorate-sort-undecorate: one key per object instead of two lookups per comparison
  const sorted = <T extends object>(list: T[] | undefined): T[] =>
    (Array.isArray(list) ? list.filter((o) => o && typeof o === "object") : [])
      .map((o) => ({ k: `${nsOf(o)}\u0000${nameOf(o)}`, o }))
      .sort((a, b) => cmp(a.k, b.k))
      .map((x) => x.o);
  return {
    gatewayClasses: sorted(s?.gatewayClasses),
    gateways: sorted(s?.gateways),
    listenerSets: sorted(s?.listenerSets),
    httpRoutes: sorted(s?.httpRoutes),
    grpcRoutes: sorted(s?.grpcRoutes),
    referenceGrants: sorted(s?.referenceGrants),
    namespaces: sorted(s?.namespaces),
    services: sorted(s?.services),
    endpointSlices: sorted(s?.endpointSlices),
    secrets: sorted(s?.secrets),
    routeOwnershipPolicies: sorted(s?.routeOwnershipPolicies),
  };
}
