/**
 * Indexes over the snapshot's plain objects, built once per translate() so every later
 * lookup is O(1) (or O(objects in one namespace)): no scans over all routes or grants.
 */
import type { V1EndpointSlice, V1Secret, V1Service } from "@kubernetes/client-node";
import type { ClusterSnapshot } from "../snapshot";
import type { DataplaneValidator } from "../features";
import { key, keyOf, metaOf, nameOf, nsOf, pushTo } from "../meta";
import { indexGrants, type GrantIndex } from "./referencegrant";

export interface Lookup {
  controllerName: string;
  validator: DataplaneValidator;
  /** Namespace name → labels (with the API server's kubernetes.io/metadata.name). */
  namespaceLabels: Map<string, Record<string, string>>;
  services: Map<string, V1Service>;
  /** `<ns>/<service>` → its EndpointSlices. */
  slices: Map<string, V1EndpointSlice[]>;
  secrets: Map<string, V1Secret>;
  grants: GrantIndex;
  /** TranslateOptions.excluded: routes the data plane refused, with why. */
  excluded: Record<string, string>;
}

export const SERVICE_NAME_LABEL = "kubernetes.io/service-name";

export function buildLookup(
  s: ClusterSnapshot,
  controllerName: string,
  validator: DataplaneValidator,
  excluded: Record<string, string> = {},
): Lookup {
  const namespaceLabels = new Map<string, Record<string, string>>();
  for (const n of s.namespaces) {
    const name = nameOf(n);
    namespaceLabels.set(name, { ...(metaOf(n).labels ?? {}), "kubernetes.io/metadata.name": name });
  }
  const services = new Map<string, V1Service>();
  for (const svc of s.services) services.set(keyOf(svc), svc);
  const slices = new Map<string, V1EndpointSlice[]>();
  for (const es of s.endpointSlices) {
    const svc = metaOf(es).labels?.[SERVICE_NAME_LABEL];
    if (svc) pushTo(slices, key(nsOf(es), svc), es);
  }
  const secrets = new Map<string, V1Secret>();
  for (const sec of s.secrets) secrets.set(keyOf(sec), sec);
  return {
    controllerName,
    validator,
    namespaceLabels,
    services,
    slices,
    secrets,
    grants: indexGrants(s.referenceGrants),
    excluded,
  };
}
