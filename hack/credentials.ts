/**
 * Per-install webhook credentials for the plain-YAML install.
 *
 * dist/pepr-module-crossway.yaml ships without the webhook's credentials, so no private key or
 * token is ever committed and no two installs share them. This writes a kustomize overlay (a
 * directory for a GitOps repo, or to `kubectl apply -k` once) that adds them to dist/:
 *
 *   kustomization.yaml          the module (dist/, or --base) plus what follows
 *   webhook-credentials.yaml    Secret <uuid>-tls (tls.crt, tls.key, and ca.crt, the CA that signed
 *                               it) and Secret <uuid>-api-path (value: the API token); the secret part
 *   patch-<kind>-<name>.yaml    per webhook configuration: caBundle and the token in the webhook path
 *                               (pepr's controller only answers /validate/<token>, /mutate/<token>)
 *   patch-deployments.yaml      a pod-template annotation with the certificate's fingerprint, so a
 *                               new certificate rolls both controller Deployments (pepr reads the key at start)
 *
 * The serving certificate is for the webhook Service (`<uuid>.pepr-system.svc`, the name the API
 * server checks; pepr's own convention) and its short forms, valid `--days` (365), signed by a CA
 * made for it whose private key is thrown away at once. The token is 32 random bytes, hex (pepr's
 * own format).
 *
 * Rotation: rerun with the same --out before the date this prints. The certificate and CA are new;
 * the token is kept (--new-token makes a new one); the caBundle holds the new CA and the previous
 * one, so API server calls keep verifying while the Deployments roll to the new certificate.
 *
 * `npm run credentials -- --out DIR [--base DIR|URL] [--module FILE] [--days N] [--new-token]`
 */
import { X509Certificate, createHash, generateKeyPairSync, randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import forge from "node-forge";
import { parseAllDocuments, stringify } from "yaml";

const REPO = resolve(fileURLToPath(new URL("..", import.meta.url)));
export const CREDENTIALS_FILE = "webhook-credentials.yaml";
const DEPLOYMENTS_PATCH = "patch-deployments.yaml";
/** On the TLS Secret: when its certificate expires (the Helm chart reads the same annotation). */
export const EXPIRES_ANNOTATION = "crossway.dev/certificate-expires";
/** On the controllers' pod templates: a new certificate changes it, so the pods restart. */
export const FINGERPRINT_ANNOTATION = "crossway.dev/webhook-certificate";

/** What the credentials must match, read from the module YAML itself so they cannot drift from it. */
export interface ModuleNames {
  namespace: string;
  service: string;
  tlsSecret: string;
  apiPathSecret: string;
  /** each webhook configuration, with the path prefix of each of its webhooks ("/validate/") */
  webhookConfigs: { kind: string; name: string; prefixes: string[] }[];
  /** the Deployments that mount the TLS Secret */
  deployments: string[];
}

type Obj = {
  kind?: string;
  metadata?: { name?: string };
  webhooks?: { clientConfig?: { service?: { name?: string; namespace?: string; path?: string } } }[];
  spec?: { template?: { spec?: { volumes?: { name?: string; secret?: { secretName?: string } }[] } } };
};

export function moduleNames(moduleYaml: string): ModuleNames {
  const docs = parseAllDocuments(moduleYaml).map((d) => d.toJS() as Obj | null);
  const webhookConfigs = docs.filter(
    (d): d is Obj => d?.kind === "ValidatingWebhookConfiguration" || d?.kind === "MutatingWebhookConfiguration",
  );
  const service = webhookConfigs[0]?.webhooks?.[0]?.clientConfig?.service;
  if (!service?.name || !service.namespace) {
    throw new Error("the module YAML has no webhook configuration calling a Service: is it a pepr module's YAML?");
  }
  const deployments = docs.filter((d): d is Obj => d?.kind === "Deployment");
  const secretOf = (volume: string) =>
    deployments.flatMap((d) => d.spec?.template?.spec?.volumes ?? []).find((v) => v.name === volume)?.secret
      ?.secretName;
  const tlsSecret = secretOf("tls-certs");
  const apiPathSecret = secretOf("api-path");
  if (!tlsSecret || !apiPathSecret) {
    throw new Error("the module YAML has no Deployment mounting pepr's tls-certs and api-path Secrets");
  }
  return {
    namespace: service.namespace,
    service: service.name,
    tlsSecret,
    apiPathSecret,
    webhookConfigs: webhookConfigs.map((w) => ({
      kind: w.kind!,
      name: w.metadata!.name!,
      prefixes: (w.webhooks ?? []).map((h) => (h.clientConfig?.service?.path ?? "/validate/x").replace(/[^/]*$/, "")),
    })),
    deployments: deployments
      .filter((d) => d.spec?.template?.spec?.volumes?.some((v) => v.secret?.secretName === tlsSecret))
      .map((d) => d.metadata!.name!),
  };
}

/** The names the API server may use for the webhook Service; it checks `<service>.<namespace>.svc`. */
export const serviceDnsNames = (n: Pick<ModuleNames, "service" | "namespace">) => [
  n.service,
  `${n.service}.${n.namespace}`,
  `${n.service}.${n.namespace}.svc`,
  `${n.service}.${n.namespace}.svc.cluster.local`,
];

export interface Credentials {
  caPem: string;
  certPem: string;
  keyPem: string;
  apiToken: string;
  notAfter: Date;
}

const rsaPair = () =>
  generateKeyPairSync("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
  });

function certificate(opts: {
  subject: string;
  issuer: string;
  publicKeyPem: string;
  signingKeyPem: string;
  notBefore: Date;
  notAfter: Date;
  extensions: object[];
}): string {
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(opts.publicKeyPem);
  const serial = randomBytes(16);
  serial[0] &= 0x7f; // a positive serial number
  cert.serialNumber = serial.toString("hex");
  cert.validity.notBefore = opts.notBefore;
  cert.validity.notAfter = opts.notAfter;
  cert.setSubject([{ name: "commonName", value: opts.subject }]);
  cert.setIssuer([{ name: "commonName", value: opts.issuer }]);
  cert.setExtensions(opts.extensions);
  cert.sign(forge.pki.privateKeyFromPem(opts.signingKeyPem), forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
}

export function generateCredentials(
  names: Pick<ModuleNames, "service" | "namespace">,
  opts: { days?: number; now?: Date; apiToken?: string } = {},
): Credentials {
  const days = opts.days ?? 365;
  const now = opts.now ?? new Date();
  // a little slack for clocks behind this machine's
  const notBefore = new Date(Math.floor(now.getTime() / 1000) * 1000 - 5 * 60_000);
  const notAfter = new Date(Math.floor(now.getTime() / 1000) * 1000 + days * 86_400_000);
  const dnsNames = serviceDnsNames(names);
  const ca = rsaPair();
  // a name of its own: verifiers (OpenSSL) pick a CA by subject, and a renewal trusts two at once
  const caName = `${names.service} webhook CA ${randomBytes(4).toString("hex")}`;
  const caPem = certificate({
    subject: caName,
    issuer: caName,
    publicKeyPem: ca.publicKey,
    signingKeyPem: ca.privateKey,
    notBefore,
    notAfter,
    extensions: [
      { name: "basicConstraints", cA: true, pathLenConstraint: 0, critical: true },
      { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true },
      { name: "subjectKeyIdentifier" },
    ],
  });
  const leaf = rsaPair();
  const certPem = certificate({
    subject: dnsNames[2],
    issuer: caName,
    publicKeyPem: leaf.publicKey,
    signingKeyPem: ca.privateKey, // and then the CA key is gone: nothing else can be signed by this CA
    notBefore,
    notAfter,
    extensions: [
      { name: "basicConstraints", cA: false, critical: true },
      { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
      { name: "extKeyUsage", serverAuth: true },
      { name: "subjectAltName", altNames: dnsNames.map((value) => ({ type: 2, value })) },
    ],
  });
  return {
    caPem,
    certPem,
    keyPem: leaf.privateKey,
    apiToken: opts.apiToken ?? randomBytes(32).toString("hex"),
    notAfter,
  };
}

const b64 = (s: string) => Buffer.from(s).toString("base64");
const isoSeconds = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, "Z");
export const fingerprint = (certPem: string) => createHash("sha256").update(certPem).digest("hex").slice(0, 16);

/** The credentials a previous run left in the overlay directory, if any. */
export function previousCredentials(dir: string, names: ModuleNames): { caPem?: string; apiToken?: string } {
  const file = join(dir, CREDENTIALS_FILE);
  if (!existsSync(file)) return {};
  const secrets = parseAllDocuments(readFileSync(file, "utf8")).map(
    (d) => d.toJS() as { kind?: string; metadata?: { name?: string }; data?: Record<string, string> } | null,
  );
  const data = (name: string) => secrets.find((s) => s?.kind === "Secret" && s.metadata?.name === name)?.data ?? {};
  const decode = (v: string | undefined) => (v ? Buffer.from(v, "base64").toString() : undefined);
  return { caPem: decode(data(names.tlsSecret)["ca.crt"]), apiToken: decode(data(names.apiPathSecret).value) };
}

/** The overlay's files: name → content. `previousCaPem` stays trusted beside the new CA (rotation). */
export function overlayFiles(
  names: ModuleNames,
  creds: Credentials,
  opts: { base: string; previousCaPem?: string; now?: Date },
): Record<string, string> {
  const now = opts.now ?? new Date();
  const keepPrevious =
    opts.previousCaPem &&
    opts.previousCaPem !== creds.caPem &&
    new Date(new X509Certificate(opts.previousCaPem).validTo) > now;
  const caBundle = b64(keepPrevious ? creds.caPem + opts.previousCaPem : creds.caPem);
  const header =
    `# This install's webhook credentials, made by \`npm run credentials\` (hack/credentials.ts) on ${isoSeconds(now)}.\n` +
    `# The certificate expires ${isoSeconds(creds.notAfter)}: rerun the command with this directory as --out before then.\n`;
  const secrets = [
    {
      apiVersion: "v1",
      kind: "Secret",
      metadata: {
        name: names.tlsSecret,
        namespace: names.namespace,
        annotations: { [EXPIRES_ANNOTATION]: isoSeconds(creds.notAfter) },
      },
      type: "kubernetes.io/tls",
      data: { "tls.crt": b64(creds.certPem), "tls.key": b64(creds.keyPem), "ca.crt": b64(creds.caPem) },
    },
    {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: names.apiPathSecret, namespace: names.namespace },
      type: "Opaque",
      data: { value: b64(creds.apiToken) },
    },
  ];
  const files: Record<string, string> = {
    [CREDENTIALS_FILE]: header + secrets.map((s) => stringify(s, { lineWidth: 0 })).join("---\n"),
  };
  const patches: object[] = [];
  for (const w of names.webhookConfigs) {
    const file = `patch-${w.kind.toLowerCase()}-${w.name}.yaml`;
    const ops = w.prefixes.flatMap((prefix, i) => [
      { op: "add", path: `/webhooks/${i}/clientConfig/caBundle`, value: caBundle },
      { op: "replace", path: `/webhooks/${i}/clientConfig/service/path`, value: `${prefix}${creds.apiToken}` },
    ]);
    files[file] = stringify(ops, { lineWidth: 0 });
    patches.push({
      path: file,
      target: { group: "admissionregistration.k8s.io", version: "v1", kind: w.kind, name: w.name },
    });
  }
  files[DEPLOYMENTS_PATCH] = stringify(
    [
      {
        op: "add",
        path: `/spec/template/metadata/annotations/${FINGERPRINT_ANNOTATION.replace("/", "~1")}`,
        value: fingerprint(creds.certPem),
      },
    ],
    { lineWidth: 0 },
  );
  for (const d of names.deployments) {
    patches.push({
      path: DEPLOYMENTS_PATCH,
      target: { group: "apps", version: "v1", kind: "Deployment", namespace: names.namespace, name: d },
    });
  }
  files["kustomization.yaml"] =
    header +
    stringify(
      {
        apiVersion: "kustomize.config.k8s.io/v1beta1",
        kind: "Kustomization",
        resources: [opts.base, CREDENTIALS_FILE],
        patches,
      },
      { lineWidth: 0 },
    );
  return files;
}

function main() {
  const { values } = parseArgs({
    options: {
      out: { type: "string" },
      base: { type: "string" },
      module: { type: "string", default: join(REPO, "dist", "pepr-module-crossway.yaml") },
      days: { type: "string", default: "365" },
      "new-token": { type: "boolean", default: false },
    },
  });
  if (!values.out) throw new Error("usage: npm run credentials -- --out DIR [--base DIR|URL] [--days N] [--new-token]");
  const days = Number(values.days);
  if (!Number.isInteger(days) || days < 1 || days > 3650)
    throw new Error(`--days ${values.days}: a whole number of days, 1 to 3650`);
  const out = resolve(values.out);
  const moduleFile = resolve(values.module!);
  const names = moduleNames(readFileSync(moduleFile, "utf8"));
  let base = values.base;
  if (!base) {
    const dist = dirname(moduleFile);
    if (!existsSync(join(dist, "kustomization.yaml"))) {
      throw new Error(`${dist} has no kustomization.yaml (a dist/ older than the credentials overlay): pass --base`);
    }
    base = relative(out, dist) || ".";
  }
  const previous = previousCredentials(out, names);
  const creds = generateCredentials(names, {
    days,
    apiToken: values["new-token"] ? undefined : previous.apiToken,
  });
  mkdirSync(out, { recursive: true });
  const files = overlayFiles(names, creds, { base, previousCaPem: previous.caPem });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(out, name), text);
  // the private key, and the token (in the Secret and in the webhook paths)
  for (const name of Object.keys(files).filter((f) => f === CREDENTIALS_FILE || f.includes("webhookconfiguration")))
    chmodSync(join(out, name), 0o600);
  console.log(
    [
      `${previous.caPem ? "renewed" : "wrote"} the webhook credentials overlay in ${out} (base: ${base})`,
      `  certificate for ${serviceDnsNames(names).join(", ")}`,
      `  expires ${isoSeconds(creds.notAfter)}: rerun this command before then`,
      `  API token ${previous.apiToken && !values["new-token"] ? "kept" : "new"}`,
      `  ${CREDENTIALS_FILE} holds the private key and token: keep it out of any shared repository unencrypted`,
      `apply: kubectl apply --server-side -k ${values.out}`,
    ].join("\n"),
  );
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    main();
  } catch (e) {
    console.error(`credentials: ${(e as Error).message}`);
    process.exitCode = 1;
  }
}
