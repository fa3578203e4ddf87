/**
 * Step 1 of hack/build-module.ts: take the webhook credentials `pepr build` generated out of dist/.
 *
 * pepr writes a fresh TLS CA, serving certificate and private key, and a random API token (the
 * secret path segment of the webhook URL) into the module YAML and the Helm chart on every build.
 * Committed, every install would share one private key and token, and the build would not be
 * reproducible. So:
 * - module YAML: no `<uuid>-tls` or `<uuid>-api-path` Secret; the webhooks have no caBundle and the
 *   path `/<type>/credentials-not-installed`. `npm run credentials` (hack/credentials.ts) writes the
 *   per-install overlay that adds them, on the base dist/kustomization.yaml written here.
 * - chart: templates/tls-secret.yaml, api-path-secret.yaml and _webhook-credentials.tpl come from
 *   hack/chart/templates/ (made at install, kept on upgrade, renewed near expiry); the webhook's
 *   caBundle and path and the Deployments' certificate fingerprint use them; values.yaml loses
 *   pepr's `secrets.apiPath` and gains `webhookCredentials`.
 * The build fails if any of pepr's generated values, or any PEM block, is left anywhere in dist/.
 */
import { copyFileSync, existsSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { parse, parseAllDocuments, stringify } from "yaml";

export const TOKEN_PLACEHOLDER = "credentials-not-installed";
const MODULE_YAML = "pepr-module-crossway.yaml";
const CHART = "crossway-chart";
const FINGERPRINT_ANNOTATION = "crossway.dev/webhook-certificate";

export interface PeprConfig {
  uuid: string;
  onError?: string;
  webhookTimeout?: number;
}

type Doc = {
  kind?: string;
  metadata?: { name?: string };
  data?: Record<string, string>;
  webhooks?: { clientConfig?: { caBundle?: string; service?: { path?: string } } }[];
};

const isWebhookConfig = (d: Doc | null) =>
  d?.kind === "ValidatingWebhookConfiguration" || d?.kind === "MutatingWebhookConfiguration";

/** What `pepr build` generated, as it wrote it into the module YAML. */
function peprCredentials(moduleYaml: string, name: string) {
  const docs = parseAllDocuments(moduleYaml).map((d) => d.toJS() as Doc | null);
  const secret = (n: string) => docs.find((d) => d?.kind === "Secret" && d.metadata?.name === n)?.data;
  const apiPath = secret(`${name}-api-path`)?.value;
  const tls = secret(`${name}-tls`);
  const caBundle = docs.find(isWebhookConfig)?.webhooks?.[0]?.clientConfig?.caBundle;
  if (!apiPath || !tls?.["tls.crt"] || !tls["tls.key"] || !caBundle) {
    throw new Error(
      `${MODULE_YAML} holds no webhook credentials from pepr build: it was not rewritten (see pepr's errors above) or pepr's output changed`,
    );
  }
  return {
    apiPath: Buffer.from(apiPath, "base64").toString(),
    tlsCrt: tls["tls.crt"],
    tlsKey: tls["tls.key"],
    caBundle,
  };
}

/** What pepr's Helm templating does to a string inside the webhook YAML (build-module.ts, 3.). */
function templated(v: string, cfg: PeprConfig): string {
  return v
    .split(`pepr-${cfg.uuid}`)
    .join("{{ .Values.uuid }}")
    .split(cfg.onError === "reject" ? "Fail" : "Ignore")
    .join("{{ .Values.admission.failurePolicy }}")
    .split(String(cfg.webhookTimeout ?? 10))
    .join("{{ .Values.admission.webhookTimeout }}");
}

/** Module YAML: the documents as pepr wrote them, less the Secrets and the webhooks' credentials. */
function stripModuleYaml(text: string, name: string, token: string): string {
  const drop = new Set([`${name}-tls`, `${name}-api-path`]);
  const kept: string[] = [];
  for (const chunk of text.replace(/\n*$/, "").split(/\n---\n/)) {
    const doc = parse(chunk) as Doc | null;
    if (doc?.kind === "Secret" && drop.has(doc.metadata?.name ?? "")) continue;
    if (!isWebhookConfig(doc)) {
      kept.push(chunk);
      continue;
    }
    for (const w of doc!.webhooks ?? []) {
      delete w.clientConfig?.caBundle;
      if (w.clientConfig?.service?.path)
        w.clientConfig.service.path = w.clientConfig.service.path.replace(token, TOKEN_PLACEHOLDER);
    }
    kept.push(stringify(doc, { lineWidth: 0, singleQuote: true }).replace(/\n$/, ""));
  }
  return `${kept.join("\n---\n")}\n`;
}

const KUSTOMIZATION = `# The module without webhook credentials: the base of the overlay \`npm run credentials\` writes
# (hack/credentials.ts), which adds this install's own TLS Secret, API-token Secret and caBundle.
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ${MODULE_YAML}
`;

const VALUES = `webhookCredentials:
  # The webhook's serving certificate, its CA and the API token are made at install and kept on
  # upgrade; an upgrade makes a new certificate when fewer than renewDaysBefore days are left.
  validityDays: 365
  renewDaysBefore: 30
`;

function chartValues(chart: string) {
  const file = join(chart, "values.yaml");
  const text = readFileSync(file, "utf8");
  const stripped = text.replace(/^secrets:\n {2}apiPath: .*\n/m, "");
  if (stripped === text) throw new Error(`${file}: pepr's secrets.apiPath value is not where the build expects it`);
  writeFileSync(file, `${stripped.replace(/\n*$/, "\n")}${VALUES}`);

  const schemaFile = join(chart, "values.schema.json");
  const raw = readFileSync(schemaFile, "utf8");
  const schema = JSON.parse(raw);
  const values = schema.definitions.Values;
  delete values.properties.secrets;
  values.required = values.required.filter((k: string) => k !== "secrets");
  delete schema.definitions.Secrets;
  values.properties.webhookCredentials = { $ref: "#/definitions/WebhookCredentials" };
  schema.definitions.WebhookCredentials = {
    type: "object",
    additionalProperties: false,
    properties: {
      validityDays: { type: "integer", minimum: 1, maximum: 3650 },
      renewDaysBefore: { type: "integer", minimum: 1 },
    },
    required: ["validityDays", "renewDaysBefore"],
    title: "WebhookCredentials",
  };
  writeFileSync(schemaFile, JSON.stringify(schema, null, 2) + (raw.endsWith("\n") ? "\n" : ""));
}

const INCLUDE = '{{- $credentials := include "crossway.webhookCredentials" . | fromJson }}\n';

function chartTemplates(dir: string, chart: string, fresh: ReturnType<typeof peprCredentials>, cfg: PeprConfig) {
  const templates = join(chart, "templates");
  const ours = join(dir, "hack", "chart", "templates");
  for (const f of readdirSync(ours)) copyFileSync(join(ours, f), join(templates, f));
  const replace = (text: string, from: string, to: string) =>
    text.split(from).join(to).split(templated(from, cfg)).join(to);
  for (const f of ["validation-webhook.yaml", "mutation-webhook.yaml"].map((n) => join(templates, n))) {
    if (!existsSync(f)) continue;
    let text = readFileSync(f, "utf8");
    text = replace(text, fresh.caBundle, "{{ $credentials.caBundle }}");
    text = replace(text, fresh.apiPath, "{{ $credentials.apiToken }}");
    writeFileSync(f, INCLUDE + text);
  }
  for (const f of ["admission-deployment.yaml", "watcher-deployment.yaml"].map((n) => join(templates, n))) {
    const text = readFileSync(f, "utf8");
    const annotated = text.replace(
      /^( *)buildTimestamp: .*\n/m,
      (line, indent: string) =>
        `${line}${indent}${FINGERPRINT_ANNOTATION}: {{ (include "crossway.webhookCredentials" . | fromJson).fingerprint | quote }}\n`,
    );
    if (annotated === text)
      throw new Error(`${f}: no buildTimestamp annotation to put the certificate fingerprint beside`);
    writeFileSync(f, annotated);
  }
}

const files = (dir: string): string[] =>
  readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : [p];
  });

export function stripCredentials(dir: string, cfg: PeprConfig) {
  const dist = join(dir, "dist");
  const name = `pepr-${cfg.uuid}`;
  const moduleFile = join(dist, MODULE_YAML);
  const moduleYaml = readFileSync(moduleFile, "utf8");
  const fresh = peprCredentials(moduleYaml, name);
  writeFileSync(moduleFile, stripModuleYaml(moduleYaml, name, fresh.apiPath));
  writeFileSync(join(dist, "kustomization.yaml"), KUSTOMIZATION);
  const chart = join(dist, CHART);
  chartTemplates(dir, chart, fresh, cfg);
  chartValues(chart);

  const secrets = [
    fresh.apiPath,
    Buffer.from(fresh.apiPath).toString("base64"),
    fresh.tlsKey,
    fresh.tlsCrt,
    fresh.caBundle,
  ];
  const pem = /-----BEGIN|LS0tLS1CRUdJTi|0tLS0tQkVHSU4|tLS0tLUJFR0lO/; // "-----BEGIN", plain or base64
  for (const f of files(dist)) {
    const text = readFileSync(f, "utf8");
    const left =
      secrets.flatMap((s) => [s, templated(s, cfg)]).some((s) => text.includes(s)) ||
      (!/\.(js|map)$/.test(f) && pem.test(text)); // the bundle may well hold PEM-parsing code
    if (left) throw new Error(`${relative(dir, f)}: still holds a webhook credential pepr build generated`);
  }
}
