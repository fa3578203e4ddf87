/**
 * Golden fixtures: a `.in.yaml` is a multi-document YAML of Kubernetes objects. Two special
 * documents make shared inputs and options explicit (nothing is injected behind the test's back):
 *   kind: TestInclude   files: [base.yaml]          → merge those files' objects first
 *   kind: TestOptions   reservedPorts: [8404]       → options for defaultValidator()
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseAllDocuments, stringify } from "yaml";
import type { ClusterSnapshot, TranslateOptions } from "../../capabilities/engine";
import { defaultValidator } from "../../capabilities/engine";
import { CONTROLLER_NAME } from "../../capabilities/dataplane/conventions";

/** Which snapshot list a Kubernetes kind goes into. */
export const LIST_FOR_KIND: Record<string, keyof ClusterSnapshot> = {
  GatewayClass: "gatewayClasses",
  Gateway: "gateways",
  ListenerSet: "listenerSets",
  HTTPRoute: "httpRoutes",
  GRPCRoute: "grpcRoutes",
  ReferenceGrant: "referenceGrants",
  Namespace: "namespaces",
  Service: "services",
  EndpointSlice: "endpointSlices",
  Secret: "secrets",
  RouteOwnershipPolicy: "routeOwnershipPolicies",
};

export const emptySnapshot = (): ClusterSnapshot => ({
  gatewayClasses: [],
  gateways: [],
  listenerSets: [],
  httpRoutes: [],
  grpcRoutes: [],
  referenceGrants: [],
  namespaces: [],
  services: [],
  endpointSlices: [],
  secrets: [],
  routeOwnershipPolicies: [],
});

function readDocs(file: string): Record<string, unknown>[] {
  const docs = parseAllDocuments(readFileSync(file, "utf8"));
  const out: Record<string, unknown>[] = [];
  for (const d of docs) {
    if (d.errors.length > 0) throw new Error(`${file}: ${d.errors[0].message}`);
    const v = d.toJS();
    if (v && typeof v === "object") out.push(v as Record<string, unknown>);
  }
  return out;
}

export interface Fixture {
  snapshot: ClusterSnapshot;
  options: TranslateOptions;
}

export function loadFixture(file: string): Fixture {
  const snapshot = emptySnapshot();
  const options: TranslateOptions = { controllerName: CONTROLLER_NAME };
  const add = (docs: Record<string, unknown>[], from: string) => {
    for (const doc of docs) {
      const kind = String(doc.kind ?? "");
      if (kind === "TestInclude") {
        for (const f of (doc.files as string[]) ?? []) add(readDocs(join(dirname(from), f)), join(dirname(from), f));
      } else if (kind === "TestOptions") {
        options.validator = defaultValidator({ reservedPorts: (doc.reservedPorts as number[]) ?? [] });
        if (typeof doc.controllerName === "string") options.controllerName = doc.controllerName;
      } else {
        const list = LIST_FOR_KIND[kind];
        if (!list) throw new Error(`${from}: unknown kind "${kind}"`);
        (snapshot[list] as unknown[]).push(doc);
      }
    }
  };
  add(readDocs(file), file);
  return { snapshot, options };
}

/** The golden rendering: plain YAML, no anchors, no line folding. */
export const render = (v: unknown): string => stringify(v, { aliasDuplicateObjects: false, lineWidth: 0 });
