/**
 * Route ownership on the local cluster (examples/seed-000-acme.yaml + seed-000-ownership.yaml):
 * without a policy product's /careers/jobs route takes careers' traffic (the spec's default); with
 * the platform's RouteOwnershipPolicy the product route shows the crossway ownership reason and
 * kubectl apply warns, /careers/jobs keeps reaching the careers pods, product's other rule keeps
 * serving, and deleting the policy restores the default within a second.
 */
import { afterAll, beforeAll, describe, expect, jest, test } from "@jest/globals";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import { ensureCluster } from "../../hack/cluster/up.js";
import { BIN, KUBECONFIG, REPO } from "../../hack/cluster/config.js";
import { join } from "node:path";
import { startModule, stopModule } from "../../hack/dev-module.js";
import { kubectl } from "../../hack/lib/kubectl.js";
import {
  applyFile,
  deleteNamespaces,
  eventually,
  freshNamespaces,
  gatewayAddress,
  get,
  routeCondition,
  waitRouteCondition,
} from "../../hack/lib/e2e.js";

jest.setTimeout(240_000);
const NAMESPACES = ["infra-ns", "careers", "product", "hr"];

/** kubectl apply, keeping stderr (where kubectl prints admission warnings). */
const applyWithWarnings = (yaml: string) =>
  new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
    const p = execFile(
      BIN.kubectl,
      ["--kubeconfig", KUBECONFIG, "apply", "-f", "-"],
      { timeout: 30_000 },
      (e, o, er) => (e ? reject(new Error(`${e.message}: ${er}`)) : resolve({ stdout: o, stderr: er })),
    );
    p.stdin!.end(yaml);
  });

const docs = parseAllDocuments(readFileSync(join(REPO, "examples", "seed-000-ownership.yaml"), "utf8")).map((d) =>
  d.toJS(),
);
const productRoute = JSON.stringify(docs.find((d) => d.kind === "HTTPRoute"));
const policy = JSON.stringify(docs.find((d) => d.kind === "RouteOwnershipPolicy"));

const answeredBy = async (address: string, path: string) =>
  (await get(address, path).catch(() => undefined))?.echo?.namespace;

beforeAll(async () => {
  await ensureCluster();
  await freshNamespaces(NAMESPACES);
  await startModule({ kubeconfig: KUBECONFIG, readyTimeoutMs: 90_000, lockTimeoutMs: 600_000 });
  await applyFile("gatewayclass.yaml");
  await applyFile("seed-000-acme.yaml");
});

afterAll(async () => {
  await kubectl(["delete", "routeownershippolicy", "-n", "infra-ns", "acme-paths", "--ignore-not-found"]).catch(
    () => undefined,
  );
  // the index outlives the module (that is its point): leave no refusals behind for other tests
  await kubectl(["delete", "routeownershipindex", "crossway", "--ignore-not-found"]).catch(() => undefined);
  await deleteNamespaces(...NAMESPACES);
  await stopModule();
});

describe("a RouteOwnershipPolicy stops product from taking careers' /careers/jobs", () => {
  let address: string;

  beforeAll(async () => {
    address = await gatewayAddress("infra-ns", "shared-gateway");
    await eventually("careers answers /careers", async () =>
      (await answeredBy(address, "/careers")) === "careers" ? true : undefined,
    );
  });

  test("without a policy, the longest prefix wins: product takes /careers/jobs (the spec's default)", async () => {
    await applyWithWarnings(productRoute);
    await eventually("product answers /careers/jobs", async () =>
      (await answeredBy(address, "/careers/jobs")) === "product" ? true : undefined,
    );
  });

  test("with the policy: careers keeps /careers/jobs, product's other rule serves, the status says why", async () => {
    await applyWithWarnings(policy);
    await eventually(
      "careers answers /careers/jobs again",
      async () => ((await answeredBy(address, "/careers/jobs")) === "careers" ? true : undefined),
      10_000,
    );
    expect(await answeredBy(address, "/product/catalog")).toBe("product");
    const partial = await waitRouteCondition(
      "product",
      "product-jobs",
      "PartiallyInvalid",
      "True",
      "ClaimedByAnotherNamespace",
    );
    expect(partial.message).toContain('path /careers/jobs on hostname "*"');
    expect(partial.message).toContain('claimed by namespace "careers" in RouteOwnershipPolicy infra-ns/acme-paths');
    expect((await routeCondition("product", "product-jobs", "Accepted"))?.status).toBe("True");
    const accepted = await eventually("the policy is Accepted", async () => {
      const p = JSON.parse(
        await kubectl(["get", "routeownershippolicy", "-n", "infra-ns", "acme-paths", "-o", "json"]),
      );
      const c = p.status?.ancestors?.[0]?.conditions?.find((x: { type: string }) => x.type === "Accepted");
      return c?.status === "True" ? c : undefined;
    });
    expect(accepted.message).toContain('listener "shared-http" of Gateway infra-ns/shared-gateway');
  });

  test("kubectl apply of the product route warns with the status' words", async () => {
    const { stderr } = await applyWithWarnings(productRoute.replace("/product/catalog", "/product/catalog2"));
    expect(stderr).toContain("Warning: crossway:");
    expect(stderr).toContain("ClaimedByAnotherNamespace");
    expect(stderr).toContain('claimed by namespace "careers"');
  });

  test("deleting the policy restores the spec's default within a second", async () => {
    const started = Date.now();
    await kubectl(["delete", "routeownershippolicy", "-n", "infra-ns", "acme-paths"]);
    await eventually(
      "product answers /careers/jobs",
      async () => ((await answeredBy(address, "/careers/jobs")) === "product" ? true : undefined),
      5_000,
      20,
    );
    const ms = Date.now() - started;
    // The figure is printed (the target: within a second); the test bounds it at 5 s.
    process.stderr.write(`ownership: policy deleted → default behaviour on the wire in ${ms} ms\n`);
  });

  test("admission: Deny refuses the write, and the API server keeps refusing it with the module down", async () => {
    const deny = JSON.stringify({ ...JSON.parse(policy), spec: { ...JSON.parse(policy).spec, admission: "Deny" } });
    await applyWithWarnings(deny);
    // the controller hands the policy to the API server (the RouteOwnershipIndex it writes)
    await eventually("the ownership index lists the policy", async () => {
      const index = JSON.parse(await kubectl(["get", "routeownershipindex", "crossway", "-o", "json"]));
      return JSON.stringify(index.spec?.listeners ?? []).includes("RouteOwnershipPolicy infra-ns/acme-paths")
        ? true
        : undefined;
    });
    const variant = (n: number) => productRoute.replace("/product/catalog", `/product/catalog${n}`);
    const up = await applyWithWarnings(variant(3)).then(
      () => "admitted",
      (e: Error) => e.message,
    );
    expect(up).toContain('claimed by namespace "careers" in RouteOwnershipPolicy infra-ns/acme-paths');
    await stopModule();
    const down = await applyWithWarnings(variant(4)).then(
      () => "admitted",
      (e: Error) => e.message,
    );
    expect(down).toContain("HTTPRoute product/product-jobs is refused by route ownership (admission: Deny)");
    expect(down).toContain(
      'rule 0 match 0 (path /careers/jobs on hostname "*") on listener "shared-http" of Gateway infra-ns/shared-gateway is claimed by namespace "careers" in RouteOwnershipPolicy infra-ns/acme-paths',
    );
  });
});
