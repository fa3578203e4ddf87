/**
 * GatewayInfrastructurePropagation: the labels and annotations every generated data-plane object
 * (and the data-plane pods) carries. The Gateway's `spec.infrastructure.labels/annotations` come
 * first, then the Gateway API's gateway-name label, then our own keys, so a Gateway can never
 * override the labels our selectors and lookups rely on. Keys are sorted: same input, same output.
 */
import { LABEL_GATEWAY_NAME } from "./conventions";

/** The part of a Gateway's `spec.infrastructure` that is propagated. */
export interface Infrastructure {
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

const sorted = (m: Record<string, string>) =>
  Object.fromEntries(Object.entries(m).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

/** Only string values: the CRD guarantees it, but a hand-written object must not break the render. */
const strings = (m: unknown): Record<string, string> =>
  m && typeof m === "object"
    ? (Object.fromEntries(
        Object.entries(m as Record<string, unknown>).filter(([, v]) => typeof v === "string"),
      ) as Record<string, string>)
    : {};

export function propagatedLabels(gatewayName: string, infra: Infrastructure | undefined, own: Record<string, string>) {
  return sorted({ ...strings(infra?.labels), [LABEL_GATEWAY_NAME]: gatewayName, ...own });
}

export function propagatedAnnotations(infra: Infrastructure | undefined, own: Record<string, string> = {}) {
  return sorted({ ...strings(infra?.annotations), ...own });
}
