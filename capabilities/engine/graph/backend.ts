/**
 * backendRefs → BackendIR. A ref that does not resolve stays in the IR as `kind: "invalid"` with
 * its weight (the data plane answers 500 for exactly that share). A cross-namespace Service never
 * resolves without a ReferenceGrant in its namespace, so it never gets endpoints without one.
 */
import type { V1EndpointSlice, V1ServicePort } from "@kubernetes/client-node";
import type { BackendIR, EndpointIR, FilterIR } from "../ir";
import { Reason, backendProblem as P, describe, type BackendReason } from "../conditions";
import { SUPPORTED_APP_PROTOCOLS } from "../features";
import { CORE_GROUP, GATEWAY_GROUP, asArray, cmp, key, objects } from "../meta";
import { referenceAllowed } from "./referencegrant";
import type { Lookup } from "./lookup";
import type { RouteKind } from "./types";

export interface BackendRefLike {
  group?: string;
  kind?: string;
  name: string;
  namespace?: string;
  port?: number;
  weight?: number;
}

export interface BackendContext {
  routeKind: RouteKind;
  routeNs: string;
  /** e.g. `rule 0` or `rule 0 RequestMirror`, for messages. */
  where: string;
  /** Unique within the route, e.g. `r0_b1`, for ids that must not collide. */
  slot: string;
  routeName: string;
}

export interface BackendProblem {
  reason: BackendReason;
  message: string;
}

export interface ResolvedBackend {
  backend: BackendIR;
  problem?: BackendProblem;
}

export function resolveBackend(
  ref: BackendRefLike,
  filters: FilterIR[],
  ctx: BackendContext,
  lookup: Lookup,
): ResolvedBackend {
  const weight = Number.isFinite(Number(ref?.weight)) ? Math.max(0, Math.trunc(Number(ref?.weight ?? 1))) : 1;

  const group = ref?.group ?? CORE_GROUP;
  const kind = ref?.kind ?? "Service";
  const name = String(ref?.name ?? "");
  if (group !== CORE_GROUP || kind !== "Service") {
    return invalidBackend(ctx, weight, Reason.InvalidKind, P.invalidKind(ctx.where, group, kind, name));
  }
  const namespace = ref.namespace ?? ctx.routeNs;
  const port = ref.port === undefined || ref.port === null ? undefined : Number(ref.port);
  const permitted = referenceAllowed(
    lookup.grants,
    { group: GATEWAY_GROUP, kind: ctx.routeKind, namespace: ctx.routeNs },
    { group: CORE_GROUP, kind: "Service", namespace, name },
  );
  if (!permitted)
    return invalidBackend(
      ctx,
      weight,
      Reason.RefNotPermitted,
      P.refNotPermitted(ctx.where, describe.backend(namespace, name, port), namespace, ctx.routeKind, ctx.routeNs),
    );
  const svc = lookup.services.get(key(namespace, name));
  if (!svc)
    return invalidBackend(
      ctx,
      weight,
      Reason.BackendNotFound,
      P.serviceNotFound(ctx.where, describe.backend(namespace, name, port)),
    );
  if (svc.spec?.type === "ExternalName") {
    return invalidBackend(
      ctx,
      weight,
      Reason.BackendNotFound,
      P.externalName(ctx.where, describe.backend(namespace, name, port)),
    );
  }
  if (port === undefined)
    return invalidBackend(
      ctx,
      weight,
      Reason.BackendNotFound,
      P.portMissing(ctx.where, describe.backend(namespace, name, port)),
    );
  const svcPort = objects(svc.spec?.ports).find((p) => p?.port === port);
  if (!svcPort)
    return invalidBackend(
      ctx,
      weight,
      Reason.BackendNotFound,
      P.portNotFound(ctx.where, describe.backend(namespace, name, port), port),
    );

  let appProtocol: string | undefined;
  if (svcPort.appProtocol) {
    appProtocol = SUPPORTED_APP_PROTOCOLS[svcPort.appProtocol];
    if (!appProtocol)
      return invalidBackend(
        ctx,
        weight,
        Reason.UnsupportedProtocol,
        P.unsupportedProtocol(ctx.where, describe.backend(namespace, name, port), svcPort.appProtocol),
      );
  } else if (ctx.routeKind === "GRPCRoute") appProtocol = "h2c";

  const id =
    filters.length === 0
      ? `${namespace}_${name}_${port}`
      : `${namespace}_${name}_${port}_${ctx.routeKind.toLowerCase()}_${ctx.routeNs}_${ctx.routeName}_${ctx.slot}`;
  const backend: BackendIR = {
    kind: "service",
    id,
    service: { namespace, name },
    port,
    weight,
    endpoints: cachedEndpoints(lookup, namespace, name, svcPort),
    filters,
  };
  if (appProtocol) backend.appProtocol = appProtocol;
  return { backend };
}

function invalidBackend(ctx: BackendContext, weight: number, reason: BackendReason, message: string): ResolvedBackend {
  return {
    backend: {
      kind: "invalid",
      id: `invalid_${ctx.routeKind.toLowerCase()}_${ctx.routeNs}_${ctx.routeName}_${ctx.slot}`,
      weight,
      reason,
    },
    problem: { reason, message },
  };
}

/** Endpoints per Service port, computed once per translate() (many routes share a Service). */
const endpointCache = new WeakMap<Lookup, Map<string, EndpointIR[]>>();

function cachedEndpoints(lookup: Lookup, namespace: string, name: string, svcPort: V1ServicePort): EndpointIR[] {
  let cache = endpointCache.get(lookup);
  if (!cache) endpointCache.set(lookup, (cache = new Map()));
  const k = `${namespace}/${name}/${svcPort.port}`;
  let eps = cache.get(k);
  if (!eps) cache.set(k, (eps = endpointsFor(lookup.slices.get(key(namespace, name)) ?? [], svcPort)));
  return eps;
}

/** Ready endpoints of the Service port: slices' port with the same name; ready unless explicitly false. */
function endpointsFor(slices: V1EndpointSlice[], svcPort: V1ServicePort): EndpointIR[] {
  const seen = new Set<string>();
  const out: EndpointIR[] = [];
  const portName = svcPort.name ?? "";
  for (const es of slices) {
    if (es?.addressType === "FQDN") continue; // names, not addresses: never routed to
    const p = objects(es?.ports).find((sp) => (sp?.name ?? "") === portName);
    if (!p || typeof p.port !== "number") continue;
    for (const ep of objects(es.endpoints)) {
      if (ep?.conditions?.ready === false) continue;
      for (const ip of asArray(ep?.addresses)) {
        const k = `${ip}:${p.port}`;
        if (seen.has(k)) continue;
        seen.add(k);
        out.push({ ip, port: p.port });
      }
    }
  }
  return out.sort((a, b) => cmp(a.ip, b.ip) || a.port - b.port);
}
