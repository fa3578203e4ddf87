/**
 * The three seed documents, replayed for real: examples/ applied to the local cluster, the module
 * reconciling, HAProxy serving, echo-basic pods answering — and what the user would see asserted.
 */
import { afterAll, beforeAll, describe, expect, jest, test } from "@jest/globals";
import https from "node:https";
import { ensureCluster } from "../../hack/cluster/up.js";
import { KUBECONFIG } from "../../hack/cluster/config.js";
import { startModule, stopModule } from "../../hack/dev-module.js";
import { kubectl } from "../../hack/lib/kubectl.js";
import {
  applyFile,
  deleteNamespaces,
  eventually,
  freshNamespaces,
  gatewayAddress,
  get,
  waitRouteCondition,
  waitStatus,
} from "../../hack/lib/e2e.js";

jest.setTimeout(240_000);

let metricsUrl = "";

/** The module's /metrics (pepr's endpoint, on the dev module's own TLS port). */
const scrape = () =>
  new Promise<string>((resolve, reject) => {
    // the dev module's throwaway certificate; this is our own process on localhost
    https
      .get(metricsUrl, { rejectUnauthorized: false }, (res) => {
        let body = "";
        res.on("data", (c) => (body += c));
        res.on("end", () => resolve(body));
      })
      .on("error", reject);
  });

/** Events about one object, as `kubectl describe` finds them (core v1 view of events.k8s.io/v1 events). */
async function eventsAbout(ns: string, kind: string, name: string, reason: string) {
  const out = await kubectl([
    "get",
    "events",
    "-n",
    ns,
    "--field-selector",
    `involvedObject.kind=${kind},involvedObject.name=${name},reason=${reason}`,
    "-o",
    "json",
  ]);
  const items = (JSON.parse(out) as { items: Record<string, unknown>[] }).items;
  return items.length > 0 ? items : undefined;
}

const SEED_NAMESPACES = [
  "infra-ns",
  "careers",
  "product",
  "hr",
  "infra",
  "apples",
  "bananas",
  "test-source",
  "test-destination",
];

beforeAll(async () => {
  await ensureCluster();
  // A clean slate before the module starts: a previous run's namespaces may still be terminating.
  await kubectl(["delete", "gateway", "-n", "default", "kong", "--ignore-not-found"]);
  await freshNamespaces(SEED_NAMESPACES);
  const running = await startModule({ kubeconfig: KUBECONFIG, readyTimeoutMs: 90_000, lockTimeoutMs: 600_000 });
  metricsUrl = `${new URL(running.webhookUrl).origin}/metrics`;
  await applyFile("gatewayclass.yaml");
});

afterAll(async () => {
  await kubectl(["delete", "gateway", "-n", "default", "kong", "--ignore-not-found"]);
  await deleteNamespaces(...SEED_NAMESPACES);
  await stopModule();
});

describe("seed 000: shared Gateway at ACME, namespaces opt in by label", () => {
  let address: string;

  beforeAll(async () => {
    await applyFile("seed-000-acme.yaml");
    address = await gatewayAddress("infra-ns", "shared-gateway");
  });

  test("careers and product answer 200 from their own namespaces; hr answers 404", async () => {
    const careers = (await waitStatus(address, "/careers", 200)).reply;
    expect(careers.echo?.namespace).toBe("careers");
    const product = (await waitStatus(address, "/product", 200)).reply;
    expect(product.echo?.namespace).toBe("product");
    expect((await get(address, "/hr")).status).toBe(404);
  });

  test("hr's route says why: Accepted=False/NotAllowedByListeners", async () => {
    const accepted = await waitRouteCondition("hr", "hr-route", "Accepted", "False", "NotAllowedByListeners");
    expect(accepted.message).toContain("hr");
    await waitRouteCondition("careers", "careers-route", "Accepted", "True", "Accepted");
  });

  test("kubectl get events -n hr says it too: Warning NotAllowedByListeners on hr-route", async () => {
    const [event] = await eventually(
      "an event on hr-route",
      () => eventsAbout("hr", "HTTPRoute", "hr-route", "NotAllowedByListeners"),
      15_000,
    );
    expect(event).toMatchObject({ type: "Warning", reportingComponent: "crossway.dev/gateway-controller" });
    expect(event.message).toContain("Accepted=False: HTTPRoute hr/hr-route is not attached");
    expect(event.message).toContain('namespace "hr" is not allowed by listener');
    process.stderr.write(`seed-000: kubectl get events -n hr\n${await kubectl(["get", "events", "-n", "hr"])}\n`);
  });

  test("the module's /metrics carries crossway_* next to pepr_*", async () => {
    const text = await scrape();
    expect(text).toContain("pepr_validate");
    expect(text).toMatch(/^crossway_reconcile_duration_seconds_count\{outcome="ok"\} [1-9]/m);
    expect(text).toMatch(
      /^crossway_objects_by_condition\{kind="HTTPRoute",type="Accepted",status="False",reason="NotAllowedByListeners"\} [1-9]/m,
    );
    expect(text).toMatch(
      /^crossway_gateway_config_generation_published\{namespace="infra-ns",gateway="shared-gateway"\} [1-9]/m,
    );
    expect(text).toMatch(
      /^crossway_gateway_config_generation_served\{namespace="infra-ns",gateway="shared-gateway"\} [1-9]/m,
    );
    expect(text).toMatch(/^crossway_events_total\{type="Warning",outcome="written"\} [1-9]/m);
  });

  test("labelling hr opens /hr; removing the label closes it again", async () => {
    await kubectl(["label", "namespace", "hr", "shared-gateway-access=true"]);
    const opened = await waitStatus(address, "/hr", 200, 10_000);
    expect(opened.reply.echo?.namespace).toBe("hr");
    await kubectl(["label", "namespace", "hr", "shared-gateway-access-"]);
    const closed = await waitStatus(address, "/hr", 404, 10_000);
    process.stderr.write(`seed-000: label → /hr 200 in ${opened.ms} ms; unlabel → 404 in ${closed.ms} ms\n`);
    await waitRouteCondition("hr", "hr-route", "Accepted", "False", "NotAllowedByListeners");
  });
});

describe("seed 001: /fruits split 70/30 across namespaces, ReferenceGrants required", () => {
  let address: string;

  beforeAll(async () => {
    await applyFile("seed-001-fruits.yaml");
    address = await gatewayAddress("infra", "kong");
  });

  test("without ReferenceGrants the backends are RefNotPermitted and /fruits answers 500", async () => {
    await waitRouteCondition("infra", "fruits", "ResolvedRefs", "False", "RefNotPermitted");
    await waitStatus(address, "/fruits", 500);
  });

  test("with ReferenceGrants /fruits splits 70/30 between bananas and apples (±5% over 1,000 requests)", async () => {
    await applyFile("seed-001-grants.yaml");
    await waitRouteCondition("infra", "fruits", "ResolvedRefs", "True", "ResolvedRefs");
    // the grant that made it resolve says so on itself
    const [granted] = await eventually(
      "an event on ReferenceGrant apples/apples-infra",
      () => eventsAbout("apples", "ReferenceGrant", "apples-infra", "ResolvedRefs"),
      15_000,
    );
    expect(granted.type).toBe("Normal");
    expect(granted.message).toContain("allows HTTPRoute infra/fruits to reference Service apples/apple-echo");
    // Both teams' pods must be ready and programmed before we count: until then the split
    // rightly answers 503 for the share of a Service without ready endpoints.
    await kubectl(["wait", "--for=condition=Available", "--timeout=120s", "-n", "apples", "deployment/apple-echo"]);
    await kubectl(["wait", "--for=condition=Available", "--timeout=120s", "-n", "bananas", "deployment/banana-echo"]);
    await eventually(
      "both fruit backends answering /fruits",
      async () => {
        const seen = new Set<string>();
        for (let i = 0; i < 40; i++) {
          const r = await get(address, "/fruits");
          if (r.status !== 200) return undefined;
          seen.add(r.echo?.namespace ?? "none");
        }
        return seen.has("apples") && seen.has("bananas") ? true : undefined;
      },
      60_000,
    );
    const counts: Record<string, number> = {};
    const pods: Record<string, number> = {};
    // The issue asks for ±5% over 500 requests, which a fair 70/30 split still misses 1.5% of the
    // time (2.4 sd). Over 1,000 requests the same ±5% is 3.5 sd: a real skew fails, chance (~0.06%) not.
    const N = 1000;
    for (let i = 0; i < N; i++) {
      const r = await get(address, "/fruits");
      expect(r.status).toBe(200);
      const ns = r.echo?.namespace ?? "none";
      counts[ns] = (counts[ns] ?? 0) + 1;
      pods[r.echo?.pod ?? "none"] = (pods[r.echo?.pod ?? "none"] ?? 0) + 1;
    }
    process.stderr.write(
      `seed-001: /fruits split over ${N} requests: ${JSON.stringify(counts)} (by pod: ${JSON.stringify(pods)})\n`,
    );
    expect(Object.keys(counts).sort()).toEqual(["apples", "bananas"]);
    expect(Math.abs(counts.bananas! / N - 0.7)).toBeLessThanOrEqual(0.05);
  });

  test("team routes attach only once the listener allows their namespaces", async () => {
    await applyFile("seed-001-teams.yaml");
    await waitRouteCondition("apples", "apples", "Accepted", "False", "NotAllowedByListeners");
    expect((await get(address, "/apples")).status).toBe(404);
    await applyFile("seed-001-allow-teams.yaml");
    await waitRouteCondition("apples", "apples", "Accepted", "True", "Accepted");
    await waitRouteCondition("bananas", "bananas", "Accepted", "True", "Accepted");
    expect((await waitStatus(address, "/apples", 200)).reply.echo?.namespace).toBe("apples");
    expect((await waitStatus(address, "/bananas", 200)).reply.echo?.namespace).toBe("bananas");
    expect((await get(address, "/fruits")).status).toBe(200);
  });
});

describe("seed 002: route in test-source → Service in test-destination via Gateway default/kong", () => {
  test("404 while the listener allows only Same; 200 from test-destination once patched to from: All", async () => {
    await applyFile("seed-002-kong.yaml");
    const address = await gatewayAddress("default", "kong");
    await waitRouteCondition("test-source", "echo", "Accepted", "False", "NotAllowedByListeners");
    expect((await get(address, "/echo")).status).toBe(404);
    await kubectl([
      "patch",
      "--type=json",
      "gateways.gateway.networking.k8s.io",
      "kong",
      "-n",
      "default",
      '-p=[{"op":"replace","path":"/spec/listeners/0/allowedRoutes/namespaces/from","value":"All"}]',
    ]);
    await waitRouteCondition("test-source", "echo", "Accepted", "True", "Accepted");
    await waitRouteCondition("test-source", "echo", "ResolvedRefs", "True", "ResolvedRefs");
    const reply = (await waitStatus(address, "/echo", 200)).reply;
    expect(reply.echo?.namespace).toBe("test-destination");
  });
});
