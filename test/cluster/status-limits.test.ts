/**
 * The status writer against the real API server of the local cluster: a route with 256
 * unresolvable backendRefs (a ~77k-character ResolvedRefs message, which the CRD rejects) gets its
 * status written, cut to the CRD's limit and marked. Uses its own GatewayClass with a
 * controllerName no running crossway owns, so nothing else acts on these objects.
 */
import { afterAll, beforeAll, expect, jest, test } from "@jest/globals";
import type { KubernetesObject } from "kubernetes-fluent-client";
import { pino } from "pino";
import { translate } from "../../capabilities/engine";
import { ObjectIndex, type IndexKind } from "../../capabilities/reconcilers/index";
import { liveKubeClient } from "../../capabilities/reconcilers/kube";
import { describeError } from "../../capabilities/reconcilers/log";
import { StatusWriter } from "../../capabilities/reconcilers/status-writer";
import { KUBECONFIG } from "../../hack/cluster/config.js";
import { ensureCluster } from "../../hack/cluster/up.js";
import { kubectl, kubectlJson } from "../../hack/lib/kubectl.js";

jest.setTimeout(120_000);

// long names, as tenants' often are: 256 problems of ~155 characters make a ~40k-character message
const NS = `status-limits-a-namespace-with-a-long-name-${process.pid}`;
const CLASS = `status-limits-${process.pid}`;
const CONTROLLER = `crossway.dev/status-limits-test-${process.pid}`;

type Condition = { type: string; status: string; reason: string; message: string };
type Route = KubernetesObject & { status?: { parents?: { conditions: Condition[] }[] } };

const points = (s: string) => Array.from(s).length;

beforeAll(async () => {
  await ensureCluster();
  process.env.KUBECONFIG = KUBECONFIG;
  await kubectl(["create", "namespace", NS]);
  const gwApi = "gateway.networking.k8s.io/v1";
  const objects = [
    { apiVersion: gwApi, kind: "GatewayClass", metadata: { name: CLASS }, spec: { controllerName: CONTROLLER } },
    {
      apiVersion: gwApi,
      kind: "Gateway",
      metadata: { name: "gw", namespace: NS },
      spec: { gatewayClassName: CLASS, listeners: [{ name: "http", port: 80, protocol: "HTTP" }] },
    },
    {
      apiVersion: gwApi,
      kind: "HTTPRoute",
      metadata: { name: "many-missing", namespace: NS },
      spec: {
        parentRefs: [{ name: "gw" }],
        // the CRD's maxima: 16 rules of 16 backendRefs, none of which exists
        rules: Array.from({ length: 16 }, (_, r) => ({
          matches: [{ path: { type: "PathPrefix", value: `/r${r}` } }],
          backendRefs: Array.from({ length: 16 }, (_, b) => ({
            name: `missing-backend-service-${String(r * 16 + b).padStart(3, "0")}-of-a-route-with-many-backends`,
            port: 8080,
          })),
        })),
      },
    },
  ];
  await kubectl(["apply", "-f", "-"], objects.map((o) => JSON.stringify(o)).join("\n"));
});

afterAll(async () => {
  await kubectl(["delete", "namespace", NS, "--wait=false", "--ignore-not-found"]).catch(() => undefined);
  await kubectl(["delete", "gatewayclass", CLASS, "--ignore-not-found"]).catch(() => undefined);
});

const get = <T>(kind: string, name: string, namespaced = true) =>
  kubectlJson<T>(["get", kind, name, ...(namespaced ? ["-n", NS] : []), "-o", "json"]);

async function ourIndex(): Promise<ObjectIndex> {
  const index = new ObjectIndex();
  const add = (kind: IndexKind, o: KubernetesObject) => index.upsert(kind, { ...o, kind });
  add("GatewayClass", await get("gatewayclass", CLASS, false));
  add("Namespace", await get("namespace", NS, false));
  add("Gateway", await get("gateway", "gw"));
  add("HTTPRoute", await get("httproute", "many-missing"));
  return index;
}

test("a route with 256 unresolvable backendRefs gets its status written, the message cut to 32768 characters and marked", async () => {
  const index = await ourIndex();
  const { statuses } = translate(index.snapshot(), { controllerName: CONTROLLER });
  const desired = statuses.find((s) => s.kind === "HTTPRoute" && s.name === "many-missing")!;
  const full = (desired.status.parents as { conditions: Condition[] }[])[0].conditions.find(
    (c) => c.type === "ResolvedRefs",
  )!.message;
  expect(points(full)).toBeGreaterThan(32768); // what the engine says is more than the CRD holds

  // sent as it is, the API server rejects it: this is the patch that failed on every reconcile
  const kube = liveKubeClient();
  const route = index.get("HTTPRoute", NS, "many-missing")!;
  const raw = await kube
    .replaceRouteStatus(
      "HTTPRoute",
      { namespace: NS, name: "many-missing", resourceVersion: route.metadata!.resourceVersion! },
      {
        parents: (desired.status.parents as object[]).map((p) => ({
          ...p,
          controllerName: CONTROLLER,
          conditions: (p as { conditions: Condition[] }).conditions.map((c) => ({
            ...c,
            lastTransitionTime: "2026-01-01T00:00:00Z",
          })),
        })),
      },
    )
    .then(
      () => undefined,
      (e: unknown) => describeError(e),
    );
  expect(raw).toMatchObject({ status: 422 });
  expect(raw!.error).toMatch(/message: Too long/);

  // through the writer it is accepted
  const summary = await new StatusWriter(kube, index, CONTROLLER).write(statuses);
  expect(summary).toMatchObject({ failed: 0 });
  const written = (await get<Route>("httproute", "many-missing")).status!.parents![0].conditions;
  const resolved = written.find((c) => c.type === "ResolvedRefs")!;
  expect(resolved).toMatchObject({ status: "False", reason: "BackendNotFound" });
  expect(points(resolved.message)).toBeLessThanOrEqual(32768);
  expect(resolved.message).toMatch(/… \(truncated: [\d,]+ more characters\)$/);
  expect(full.startsWith(resolved.message.slice(0, resolved.message.lastIndexOf("… (truncated: ")))).toBe(true);
});

test("a route status written from a stale view is refused as the writer expects a conflict to look, and retried promptly", async () => {
  const index = await ourIndex();
  const stale = index.get("HTTPRoute", NS, "many-missing")!;
  await kubectl(["annotate", "httproute", "many-missing", "-n", NS, "example.com/touched=yes"]); // moves the resourceVersion on
  const kube = liveKubeClient();
  const refused = await kube
    .replaceRouteStatus(
      "HTTPRoute",
      { namespace: NS, name: "many-missing", resourceVersion: stale.metadata!.resourceVersion! },
      { parents: [] },
    )
    .then(
      () => undefined,
      (e: unknown) => describeError(e),
    );
  expect(refused).toEqual({ status: 422, error: "the server rejected our request due to an error in our request" });
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: "info" }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  const writer = new StatusWriter(kube, index, CONTROLLER, { log, retry: { baseMs: 200, maxMs: 60_000 } });
  // a status different from what is there, so that a patch is due
  const { statuses } = translate(index.snapshot(), { controllerName: CONTROLLER });
  const changed = statuses.map((s) =>
    s.kind === "HTTPRoute"
      ? {
          ...s,
          status: {
            parents: (s.status.parents as { conditions: Condition[] }[]).map((p) => ({
              ...p,
              conditions: p.conditions.map((c) => ({ ...c, message: `${c.message.slice(0, 100)} (changed)` })),
            })),
          },
        }
      : s,
  );
  expect(await writer.write(changed)).toMatchObject({ failed: 1 });
  expect(lines.find((l) => String(l.msg).startsWith("status write conflicted"))).toMatchObject({
    kind: "HTTPRoute",
    name: "many-missing",
    status: 422,
    attempt: 1,
    retryInMs: 200,
  });
});
