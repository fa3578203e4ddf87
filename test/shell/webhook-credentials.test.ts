/**
 * No install shares webhook credentials: dist/ (what is committed and what users apply) holds no
 * private key and no API token, and `npm run credentials` (hack/credentials.ts) makes an install's
 * own: a serving certificate for the webhook Service that verifies against the caBundle it patches
 * into the webhook, a real TLS handshake under that name included, and a rotation that keeps the
 * previous CA trusted while the pods roll.
 */
import { describe, expect, jest, test } from "@jest/globals";
import { X509Certificate, createPrivateKey } from "node:crypto";
import { execFile, execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, request } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { parse, parseAllDocuments } from "yaml";
import { moduleNames, serviceDnsNames } from "../../hack/credentials";

jest.setTimeout(60_000); // each run of the script is a node process with tsx
const run = promisify(execFile);
const REPO = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const DIST = join(REPO, "dist");
const MODULE = join(DIST, "pepr-module-crossway.yaml");

const walk = (dir: string): string[] =>
  readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? walk(join(dir, n)) : [join(dir, n)]));

describe("dist/ holds no webhook credentials", () => {
  // what is committed, and what a rebuild would add to it
  const distFiles = [
    ...new Set([
      ...execFileSync("git", ["ls-files", "dist"], { cwd: REPO, encoding: "utf8" })
        .split("\n")
        .filter(Boolean)
        .map((f) => join(REPO, f)),
      ...walk(DIST),
    ]),
  ].filter((f) => existsSync(f));

  test("no PEM block, plain or base64: no private key, no certificate", () => {
    // the bundle validates users' keys with /-----BEGIN ([A-Z]+ )?PRIVATE KEY-----/: a block has a body
    const pemBlock = /-----BEGIN [A-Z ]+-----\r?\n[A-Za-z0-9+/=\r\n]{40}/;
    const base64Pem = /LS0tLS1CRUdJTi|0tLS0tQkVHSU4|tLS0tLUJFR0lO/; // "-----BEGIN" at each alignment
    const found = distFiles.filter((f) => {
      const text = readFileSync(f, "utf8");
      return pemBlock.test(text) || base64Pem.test(text);
    });
    expect(found).toEqual([]);
    expect(distFiles.length).toBeGreaterThan(10);
  });

  test("no API token: the module's webhook has a placeholder path, no caBundle, and no Secret holds either", () => {
    const docs = parseAllDocuments(readFileSync(MODULE, "utf8")).map((d) => d.toJS());
    const names = moduleNames(readFileSync(MODULE, "utf8"));
    expect(docs.filter((d) => d?.kind === "Secret").map((d) => d.metadata.name)).not.toEqual(
      expect.arrayContaining([names.tlsSecret]),
    );
    expect(docs.some((d) => d?.kind === "Secret" && d.metadata.name === names.apiPathSecret)).toBe(false);
    const clientConfigs = docs
      .filter((d) => /WebhookConfiguration$/.test(d?.kind ?? ""))
      .flatMap((d) => d.webhooks.map((w: { clientConfig: object }) => w.clientConfig));
    expect(clientConfigs.length).toBeGreaterThan(0);
    for (const c of clientConfigs) {
      expect(c).not.toHaveProperty("caBundle");
      expect(c.service.path).toMatch(/^\/(validate|mutate)\/credentials-not-installed$/);
    }
    // pepr's token is 64 hex digits; the only such string left anywhere is the module's code hash
    const hash = (parse(readFileSync(join(DIST, "crossway-chart", "values.yaml"), "utf8")) as { hash: string }).hash;
    const hexes = new Set(distFiles.flatMap((f) => readFileSync(f, "utf8").match(/\b[0-9a-f]{64}\b/g) ?? []));
    expect([...hexes]).toEqual([hash]);
  });

  test("the chart makes them at install: both Secrets and the webhook's caBundle and path come from its credentials template", () => {
    const t = (n: string) => readFileSync(join(DIST, "crossway-chart", "templates", n), "utf8");
    expect(t("_webhook-credentials.tpl")).toContain('define "crossway.webhookCredentials"');
    for (const f of ["tls-secret.yaml", "api-path-secret.yaml", "validation-webhook.yaml"])
      expect(t(f)).toContain('include "crossway.webhookCredentials"');
    expect(t("validation-webhook.yaml")).toMatch(/caBundle: >-\n\s+\{\{ \$credentials\.caBundle \}\}\n/);
    expect(t("validation-webhook.yaml")).toMatch(/path: >-\n\s+\/validate\/\{\{ \$credentials\.apiToken \}\}\n/);
    for (const f of ["admission-deployment.yaml", "watcher-deployment.yaml"])
      expect(t(f)).toContain("crossway.dev/webhook-certificate: {{ (include");
    expect(readFileSync(join(DIST, "crossway-chart", "values.yaml"), "utf8")).not.toMatch(/^secrets:/m);
  });
});

interface Overlay {
  dir: string;
  cert: string;
  key: string;
  ca: string;
  token: string;
  caBundle: string;
  path: string;
  expires: string;
  kustomization: { resources: string[]; patches: { path: string; target: { kind: string; name: string } }[] };
  fingerprint: string;
}

const credentials = (dir: string, ...args: string[]) =>
  run(process.execPath, ["--import", "tsx", join(REPO, "hack", "credentials.ts"), "--out", dir, ...args], {
    cwd: REPO,
  });

function readOverlay(dir: string): Overlay {
  const secrets = parseAllDocuments(readFileSync(join(dir, "webhook-credentials.yaml"), "utf8")).map((d) => d.toJS());
  const tls = secrets.find((s) => s.metadata.name === "pepr-crossway-tls");
  const api = secrets.find((s) => s.metadata.name === "pepr-crossway-api-path");
  const d = (v: string) => Buffer.from(v, "base64").toString();
  const ops = parse(readFileSync(join(dir, "patch-validatingwebhookconfiguration-pepr-crossway.yaml"), "utf8"));
  const op = (p: string) => ops.find((o: { path: string }) => o.path === p).value;
  return {
    dir,
    cert: d(tls.data["tls.crt"]),
    key: d(tls.data["tls.key"]),
    ca: d(tls.data["ca.crt"]),
    token: d(api.data.value),
    caBundle: d(op("/webhooks/0/clientConfig/caBundle")),
    path: op("/webhooks/0/clientConfig/service/path"),
    expires: tls.metadata.annotations["crossway.dev/certificate-expires"],
    kustomization: parse(readFileSync(join(dir, "kustomization.yaml"), "utf8")),
    fingerprint: parse(readFileSync(join(dir, "patch-deployments.yaml"), "utf8"))[0].value,
  };
}

/** Serve HTTPS with `cert`/`key` and connect as the API server would: trusting only `caBundle`, to `servername`. */
async function handshake(o: { cert: string; key: string }, caBundle: string, servername: string): Promise<string> {
  const server = createServer({ cert: o.cert, key: o.key }, (_req, res) => res.end("ok"));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  try {
    return await new Promise<string>((done) => {
      const req = request({ host: "127.0.0.1", port, path: "/", ca: caBundle, servername }, (res) => {
        res.resume();
        done(`status ${res.statusCode}`);
      });
      req.on("error", (e: NodeJS.ErrnoException) => done(e.code ?? e.message));
      req.end();
    });
  } finally {
    server.close();
  }
}

describe("npm run credentials: an install's own webhook credentials", () => {
  const SERVICE = "pepr-crossway.pepr-system.svc";

  test("a serving certificate for the webhook Service, verifying against the caBundle, and a token in the webhook path", async () => {
    const dir = mkdtempSync(join(tmpdir(), "crossway-credentials-"));
    try {
      await credentials(dir, "--base", "https://example.com/crossway//dist?ref=v0.1.0");
      const o = readOverlay(dir);
      const cert = new X509Certificate(o.cert);
      const ca = new X509Certificate(o.ca);
      // the names the API server may dial; it checks <service>.<namespace>.svc
      expect(cert.subjectAltName?.split(", ")).toEqual(
        serviceDnsNames(moduleNames(readFileSync(MODULE, "utf8"))).map((n) => `DNS:${n}`),
      );
      expect(cert.checkHost(SERVICE)).toBe(SERVICE);
      expect(cert.ca).toBe(false);
      expect(ca.ca).toBe(true);
      expect(cert.checkIssued(ca) && cert.verify(ca.publicKey)).toBe(true);
      expect(cert.checkPrivateKey(createPrivateKey(o.key))).toBe(true);
      expect(o.caBundle).toBe(o.ca); // a first install trusts its one CA
      // an independent verifier: openssl, for TLS server use
      const caFile = join(dir, "bundle.pem");
      const certFile = join(dir, "tls.pem");
      writeFileSync(caFile, o.caBundle);
      writeFileSync(certFile, o.cert);
      const { stdout } = await run("openssl", ["verify", "-purpose", "sslserver", "-CAfile", caFile, certFile]);
      expect(stdout.trim()).toBe(`${certFile}: OK`);
      // valid a year from now, and the Secret says when
      const days = (new Date(cert.validTo).getTime() - Date.now()) / 86_400_000;
      expect(days).toBeGreaterThan(364);
      expect(days).toBeLessThan(366);
      expect(new Date(o.expires).getTime()).toBe(new Date(cert.validTo).getTime());
      // the token pepr's controller compares with the webhook path's last segment
      expect(o.token).toMatch(/^[0-9a-f]{64}$/);
      expect(o.path).toBe(`/validate/${o.token}`);
      // the overlay: the base given, the Secrets, and the patches for the webhook and both Deployments
      expect(o.kustomization.resources).toEqual([
        "https://example.com/crossway//dist?ref=v0.1.0",
        "webhook-credentials.yaml",
      ]);
      expect(o.kustomization.patches.map((p) => `${p.target.kind}/${p.target.name}`).sort()).toEqual([
        "Deployment/pepr-crossway",
        "Deployment/pepr-crossway-watcher",
        "ValidatingWebhookConfiguration/pepr-crossway",
      ]);
      expect(o.fingerprint).toMatch(/^[0-9a-f]{16}$/);
      expect(statSync(join(dir, "webhook-credentials.yaml")).mode & 0o077).toBe(0);
      // a real handshake under the Service's name, and none under another
      expect(await handshake(o, o.caBundle, SERVICE)).toBe("status 200");
      expect(await handshake(o, o.caBundle, "other.pepr-system.svc")).toBe("ERR_TLS_CERT_ALTNAME_INVALID");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("each install gets its own; rerunning renews the certificate, keeps the token and trusts both CAs while pods roll", async () => {
    const [a, b] = [
      mkdtempSync(join(tmpdir(), "crossway-credentials-")),
      mkdtempSync(join(tmpdir(), "crossway-credentials-")),
    ];
    try {
      await Promise.all([credentials(a, "--base", "../dist"), credentials(b, "--base", "../dist")]);
      const [first, other] = [readOverlay(a), readOverlay(b)];
      expect(other.key).not.toBe(first.key);
      expect(other.token).not.toBe(first.token);
      expect(await handshake(first, other.caBundle, SERVICE)).not.toBe("status 200"); // another install's CA

      const { stdout } = await credentials(a, "--base", "../dist", "--days", "90");
      expect(stdout).toContain("renewed");
      const renewed = readOverlay(a);
      expect(renewed.cert).not.toBe(first.cert);
      expect(renewed.fingerprint).not.toBe(first.fingerprint); // so both Deployments roll
      expect(renewed.token).toBe(first.token);
      expect(renewed.path).toBe(first.path);
      const days = (new Date(new X509Certificate(renewed.cert).validTo).getTime() - Date.now()) / 86_400_000;
      expect(Math.round(days)).toBe(90);
      // old pods (old certificate) and new pods both verify against the new caBundle
      expect(await handshake(first, renewed.caBundle, SERVICE)).toBe("status 200");
      expect(await handshake(renewed, renewed.caBundle, SERVICE)).toBe("status 200");
      expect(renewed.caBundle.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);

      await credentials(a, "--base", "../dist", "--new-token");
      expect(readOverlay(a).token).not.toBe(first.token);
    } finally {
      rmSync(a, { recursive: true, force: true });
      rmSync(b, { recursive: true, force: true });
    }
  });

  test("bad input gets a specific message", async () => {
    const dir = mkdtempSync(join(tmpdir(), "crossway-credentials-"));
    try {
      const failure = (args: string[]) =>
        credentials(dir, ...args).then(
          () => "succeeded",
          (e: { code: number; stderr: string }) => `${e.code}: ${e.stderr.trim()}`,
        );
      expect(await failure(["--days", "0"])).toBe("1: credentials: --days 0: a whole number of days, 1 to 3650");
      const notPepr = join(dir, "other.yaml");
      writeFileSync(notPepr, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n");
      expect(await failure(["--module", notPepr])).toBe(
        "1: credentials: the module YAML has no webhook configuration calling a Service: is it a pepr module's YAML?",
      );
      expect(await failure(["--module", join(dir, "missing.yaml")])).toMatch(/^1: credentials: ENOENT/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
