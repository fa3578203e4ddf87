/**
 * Tenant isolation on the local cluster with real HAProxy and real pods (examples/tenant-isolation.yaml):
 * a hostile tenant's CRD-valid routes each hurt only themselves and say why; another tenant's new
 * route is served within seconds and the Gateway stays Programmed; a filtered rule answers 500;
 * an invalid listener's hostname never falls to the tenant-wide listener; a replacement
 * data-plane pod serves the last good config; and a controller killed mid-reconcile plus an API
 * server restart still converge to the right statuses.
 */
import { afterAll, beforeAll, describe, expect, jest, test } from "@jest/globals";
import http from "node:http";
import { ensureCluster } from "../../hack/cluster/up.js";
import { KUBECONFIG } from "../../hack/cluster/config.js";
import { apiserver } from "../../hack/cluster/components.js";
import { runningPid, stop } from "../../hack/cluster/proc.js";
import { startModule, stopModule } from "../../hack/dev-module.js";
import { kubectl, kubectlJson } from "../../hack/lib/kubectl.js";
import {
  applyFile,
  deleteNamespaces,
  eventually,
  freshNamespaces,
  gatewayAddress,
  get,
  routeCondition,
  waitRouteCondition,
  waitStatus,
} from "../../hack/lib/e2e.js";

jest.setTimeout(300_000);
const NAMESPACES = ["iso-infra", "iso-hostile", "iso-good"];
const HEAVY_HEADERS = Object.fromEntries(Array.from({ length: 7 }, (_, i) => [`x-team-${i}`, `t${i}`]));

function request(address: string, path: string, headers: Record<string, string>) {
  return new Promise<{ status: number; namespace?: string }>((resolve, reject) => {
    const req = http.get({ host: address, port: 80, path, headers, agent: false, timeout: 5_000 }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c));
      res.on("end", () => {
        let namespace: string | undefined;
        try {
          namespace = (JSON.parse(body) as { namespace?: string }).namespace;
        } catch {
          namespace = undefined;
        }
        resolve({ status: res.statusCode ?? 0, namespace });
      });
    });
    req.on("timeout", () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on("error", reject);
  });
}

const shopRoute = (path: string) => `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: shop, namespace: iso-good }
spec:
  parentRefs: [{ name: shared, namespace: iso-infra }]
  rules:
    - matches: [{ path: { type: PathPrefix, value: ${path} } }]
      backendRefs: [{ name: good, port: 8080 }]
`;

const programmed = async () => {
  const gw = await kubectlJson<{
    status?: { conditions?: { type: string; status: string; reason: string; message: string }[] };
  }>(["get", "gateway", "-n", "iso-infra", "shared"]);
  return gw.status?.conditions?.find((c) => c.type === "Programmed");
};

beforeAll(async () => {
  await ensureCluster();
  await freshNamespaces(NAMESPACES);
  await startModule({ kubeconfig: KUBECONFIG, readyTimeoutMs: 90_000, lockTimeoutMs: 600_000 });
  await applyFile("gatewayclass.yaml");
  await applyFile("tenant-isolation.yaml");
});

afterAll(async () => {
  await deleteNamespaces(...NAMESPACES);
  await stopModule();
});

describe("one tenant's hostile routes hurt only themselves", () => {
  let address: string;

  beforeAll(async () => {
    address = await gatewayAddress("iso-infra", "shared");
    await waitStatus(address, "/anything", 200, 90_000); // the hostile catch-all's pod is up
  });

  test("each route's status says what happened to it, in the spec's terms", async () => {
    const admin = await waitRouteCondition("iso-hostile", "admin", "Accepted", "False", "UnsupportedValue");
    expect(admin.message).toMatch(/ExtensionRef.*answer HTTP 500/);
    const forever = await waitRouteCondition("iso-hostile", "forever", "Accepted", "False", "UnsupportedValue");
    expect(forever.message).toMatch(/longer than the data plane's timers hold/);
    const regex = await waitRouteCondition("iso-hostile", "js-regex", "Accepted", "False", "UnsupportedValue");
    expect(regex.message).toMatch(/\\u escapes are not supported by PCRE2/);
    await waitRouteCondition("iso-hostile", "heavy", "Accepted", "True", "Accepted");
    // 256 unresolvable backendRefs: the status is written, its message cut to the CRD's limit and marked.
    const refs = await eventually("many-refs ResolvedRefs written", () =>
      routeCondition("iso-hostile", "many-refs", "ResolvedRefs"),
    );
    expect(refs.status).toBe("False");
    expect(refs.message!.length).toBeLessThanOrEqual(32768);
    expect(refs.message).toMatch(/truncated/);
  });

  test("on the wire: the heavy match routes exactly, the filtered rule answers 500, the VIP host 404", async () => {
    expect((await request(address, "/heavy/x?env=prod&v=7", HEAVY_HEADERS)).namespace).toBe("iso-hostile");
    const oneOff = await request(address, "/heavy/x?env=prod&v=7", { ...HEAVY_HEADERS, "x-team-3": "other" });
    expect(oneOff.status).toBe(200); // the catch-all takes it: a different rule, as the spec says
    expect((await get(address, "/admin/users")).status).toBe(500);
    expect((await get(address, "/forever")).status).toBe(500);
    expect((await get(address, "/", { host: "vip.iso.test" })).status).toBe(404);
    const p = await programmed();
    expect(p?.status).toBe("True");
  });

  test("another tenant's new route is served within seconds; the Gateway stays Programmed", async () => {
    const started = Date.now();
    await kubectl(["apply", "-f", "-"], shopRoute("/shop"));
    // Until the route lands, the hostile catch-all answers /shop: wait for iso-good's pod to answer.
    await eventually(
      "/shop answered from iso-good",
      async () => ((await get(address, "/shop")).echo?.namespace === "iso-good" ? true : undefined),
      10_000,
    );
    process.stderr.write(`isolation: iso-good's new route on the wire ${Date.now() - started} ms after apply\n`);
    // The new generation is served; the pods' report of it follows within moments (never Invalid).
    const p = await programmed();
    expect(p?.reason).not.toBe("Invalid");
    await eventually(
      "Gateway Programmed",
      async () => ((await programmed())?.status === "True" ? true : undefined),
      10_000,
    );
  });

  test("a replacement data-plane pod serves the last good config", async () => {
    await kubectl(["delete", "pod", "-n", "iso-infra", "-l", "crossway.dev/gateway=shared", "--wait=false"]);
    address = await eventually(
      "a new data-plane pod serves /shop",
      async () => {
        const a = await gatewayAddress("iso-infra", "shared", 5_000).catch(() => undefined);
        if (!a) return undefined;
        const r = await get(a, "/shop").catch(() => undefined);
        return r?.echo?.namespace === "iso-good" ? a : undefined;
      },
      120_000,
    );
    expect((await get(address, "/admin/users")).status).toBe(500);
    expect((await get(address, "/", { host: "vip.iso.test" })).status).toBe(404);
  });

  test("controller killed mid-reconcile and the API server restarted: statuses converge", async () => {
    // A burst of changes, and the module killed while it works through them.
    for (let i = 0; i < 5; i++) await kubectl(["apply", "-f", "-"], shopRoute(`/shop${i}`));
    await stopModule();
    const spec = apiserver();
    const pid = runningPid(spec.name, spec.marker);
    if (pid) await stop(spec.name, pid, spec.marker, 20_000);
    await ensureCluster();
    await startModule({ kubeconfig: KUBECONFIG, readyTimeoutMs: 90_000, lockTimeoutMs: 600_000 });
    await eventually(
      "/shop4 answered from iso-good",
      async () =>
        (await get(address, "/shop4").catch(() => undefined))?.echo?.namespace === "iso-good" ? true : undefined,
      60_000,
    );
    await eventually("shop's status observed its last generation", async () => {
      const route = await kubectlJson<{
        metadata: { generation: number };
        status?: { parents?: { conditions: { type: string; status: string; observedGeneration: number }[] }[] };
      }>(["get", "httproute", "-n", "iso-good", "shop"]);
      const accepted = route.status?.parents?.[0]?.conditions.find((c) => c.type === "Accepted");
      return accepted?.status === "True" && accepted.observedGeneration === route.metadata.generation
        ? true
        : undefined;
    });
    await waitRouteCondition("iso-hostile", "admin", "Accepted", "False", "UnsupportedValue");
    expect((await programmed())?.status).toBe("True");
  });
});
