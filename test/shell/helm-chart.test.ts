/**
 * The Helm chart in dist/ as Helm itself reads it (helm built from helm.sh/helm/v4 by
 * hack/build/binaries.sh, the same binary `.local/bin/helm` runs): `helm lint` passes, and
 * `helm template` installs what the plain module YAML installs, plus the webhook credentials it makes
 * at install: a serving certificate the webhook's caBundle verifies, for the webhook Service's name,
 * and the API token the webhook path carries.
 */
import { describe, expect, test } from "@jest/globals";
import { execFile } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { parseAllDocuments } from "yaml";
import { BIN, REPO } from "../../hack/cluster/config.js";

const run = promisify(execFile);
const CHART = join(REPO, "dist", "crossway-chart");
type Obj = { kind: string; metadata: { name: string; namespace?: string }; [k: string]: unknown };
const docs = (text: string) =>
  parseAllDocuments(text)
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => !!o);
const template = async (...args: string[]) =>
  docs(
    (
      await run(BIN.helm, ["template", "crossway", CHART, "-n", "pepr-system", "--include-crds", ...args], {
        maxBuffer: 64 * 1024 * 1024,
      })
    ).stdout,
  );

describe("the Helm chart, read by helm", () => {
  test("helm lint passes", async () => {
    const { stdout } = await run(BIN.helm, ["lint", CHART]);
    expect(stdout).toContain("1 chart(s) linted, 0 chart(s) failed");
  });

  test("helm template installs what the module YAML installs, and the webhook's own credentials", async () => {
    const chart = await template();
    const plain = docs(readFileSync(join(REPO, "dist", "pepr-module-crossway.yaml"), "utf8"));
    const names = (os: Obj[]) => new Set(os.map((o) => `${o.kind}/${o.metadata.name}`));
    const fromChart = names(chart);
    expect([...names(plain)].filter((n) => !fromChart.has(n))).toEqual([]);
    expect([...fromChart].filter((n) => !names(plain).has(n)).sort()).toEqual([
      "Secret/pepr-crossway-api-path",
      "Secret/pepr-crossway-tls",
    ]);
    // the crossway policies and CRDs come with it
    for (const n of [
      "CustomResourceDefinition/routeownershippolicies.crossway.dev",
      "CustomResourceDefinition/routeownershipindexes.crossway.dev",
      "ValidatingAdmissionPolicy/crossway-route-ownership-httproutes",
      "ValidatingAdmissionPolicy/crossway-namespace-labels",
    ])
      expect(fromChart).toContain(n);

    const secret = (name: string) =>
      chart.find((o) => o.kind === "Secret" && o.metadata.name === name) as Obj & { data: Record<string, string> };
    const b64 = (s: string) => Buffer.from(s, "base64").toString();
    const tls = secret("pepr-crossway-tls").data;
    const token = b64(secret("pepr-crossway-api-path").data.value);
    const webhook = chart.find((o) => o.kind === "ValidatingWebhookConfiguration") as Obj & {
      webhooks: { clientConfig: { caBundle: string; service: { name: string; namespace: string; path: string } } }[];
    };
    for (const w of webhook.webhooks) {
      const ca = new X509Certificate(b64(w.clientConfig.caBundle));
      const cert = new X509Certificate(b64(tls["tls.crt"]));
      expect(cert.verify(ca.publicKey)).toBe(true);
      const { name, namespace, path } = w.clientConfig.service;
      expect(cert.checkHost(`${name}.${namespace}.svc`)).toBe(`${name}.${namespace}.svc`);
      expect(path).toBe(`/validate/${token}`);
    }
    expect(token).toMatch(/^[a-z0-9]{32,}$/);
  });

  test("each render without a cluster makes new credentials (so GitOps tools use the overlay instead)", async () => {
    const token = async () =>
      (await template()).find((o) => o.kind === "Secret" && o.metadata.name === "pepr-crossway-api-path") as Obj & {
        data: { value: string };
      };
    expect((await token()).data.value).not.toBe((await token()).data.value);
  });
});
