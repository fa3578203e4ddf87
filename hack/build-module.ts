/**
 * `npm run build`: `pepr build` (offline: it bundles with esbuild and renders YAML; the controller
 * image is only named, never pulled), then these fixes so that dist/ is reproducible, holds no
 * secret and is correct:
 *
 * 1. pepr generates webhook credentials on every build (TLS CA/cert/key and the api-path token) and
 *    writes them into the YAML, so every install would share one private key. They are taken out
 *    (hack/build-module-credentials.ts): the module YAML has no TLS or api-path Secret, its webhook has
 *    no caBundle and the placeholder path /validate/credentials-not-installed (`npm run credentials`,
 *    hack/credentials.ts, writes a per-install kustomize overlay; dist/kustomization.yaml is its base);
 *    the chart makes them at install (hack/chart/templates/: genCA, genSignedCert, randAlphaNum,
 *    kept on upgrade through lookup, renewed within 30 days of expiry). Nothing random is left in dist/.
 * 2. `buildTimestamp` annotations are pinned to "0" (rollouts follow the module hash instead).
 * 3. pepr 1.1.4 templates the Helm webhook by global string replacement: every "10" (the webhook
 *    timeout) inside the api path or caBundle becomes `{{ .Values.admission.webhookTimeout }}`; those
 *    mangled forms are replaced too (1.), and the build fails if any is left.
 * 4. What pepr cannot generate is added (capabilities/policy/admission-policies.ts, imported from
 *    the sources being built): the agents' ClusterRole and the ValidatingAdmissionPolicies that
 *    keep the namespace label policy holding while the module is down and narrow what the agents
 *    and the module's own ServiceAccount may write. Appended to the module YAML (label policy
 *    settings from package.json pepr.env) and written to the chart as templates/crossway-policies.yaml
 *    (settings from the chart's `admission.env`, ServiceAccount from `uuid`).
 * 5. crossway's own CRDs (crds/), in the module YAML and the chart's crds/.
 * 6. The watcher pod (the reconcile loop) gets the `haproxy-vet` sidecar, which checks configs for
 *    the controller with the data plane's own HAProxy image (capabilities/dataplane/vet-sidecar.ts),
 *    a shared emptyDir and CROSSWAY_VET_DIR; zarf.yaml lists that image.
 *
 * `npm run build -- --from-head` builds the committed sources instead of the working tree (what
 * dist/ must hold when it is committed while others have uncommitted edits).
 * `npm run build:check` builds the committed sources (git archive HEAD) in a temporary directory
 * (inside an empty network namespace when run as root, proving the build needs no network)
 * and compares the result with the committed dist/ byte for byte; it exits non-zero and lists the
 * files that differ.
 */
import { execFileSync } from "node:child_process";
import {
  cpSync,
  mkdirSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Scalar, parseDocument, stringify, type YAMLMap, type YAMLSeq } from "yaml";
import { stripCredentials } from "./build-module-credentials";

const REPO = resolve(fileURLToPath(new URL("..", import.meta.url)));
const MODULE_YAML = "pepr-module-crossway.yaml";

const files = (dir: string): string[] =>
  readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : [p];
  });

function postProcess(dir: string) {
  const dist = join(dir, "dist");
  const cfg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).pepr;
  // A build in a temporary folder reaches the repository's node_modules through a link, and esbuild
  // writes the real path into the source map (`../../../<checkout>/node_modules/…`): name it as
  // the map's own folder sees it, so the map is the same wherever the build ran and names no machine path.
  for (const f of files(dist).filter((x) => x.endsWith(".map"))) {
    const map = readFileSync(f, "utf8");
    const fixed = map.replace(/"(?:\.\.\/)+[^"]*?\/node_modules\//g, '"../node_modules/');
    if (fixed !== map) writeFileSync(f, fixed);
  }
  for (const f of files(dist)) {
    if (f.endsWith(".js") || f.endsWith(".map") || f.endsWith(".gz")) continue;
    const before = readFileSync(f, "utf8");
    const text = before.replace(/buildTimestamp: (['"])\d+\1/g, "buildTimestamp: $10$1");
    if (text !== before) writeFileSync(f, text);
  }
  stripCredentials(dir, cfg);
  // pepr writes the package description into Chart.yaml unquoted: ours has ": " in it, which makes
  // Chart.yaml invalid YAML and the chart unloadable (helm: "mapping values are not allowed")
  const chartYaml = join(dist, "crossway-chart", "Chart.yaml");
  const chart = readFileSync(chartYaml, "utf8");
  writeFileSync(
    chartYaml,
    chart.replace(/^description: ([^"'].*)$/m, (_m, d: string) => `description: ${JSON.stringify(d)}`),
  );
  for (const f of files(dist)) {
    const t = readFileSync(f, "utf8");
    if (f.includes("webhook") && /\{\{ \.Values\.admission\.webhookTimeout \}\}[0-9a-f]/.test(t)) {
      throw new Error(`${relative(dir, f)}: a webhook credential is still mangled by pepr's templating`);
    }
  }
}

const CHART_POLICIES = join("crossway-chart", "templates", "crossway-policies.yaml");

/**
 * 5. crossway's own CRDs (crds/: RouteOwnershipPolicy): appended to the module YAML, and put in the
 * chart's crds/ folder, which Helm installs before the templates (and never deletes on uninstall).
 */
function addCrds(dir: string) {
  const dist = join(dir, "dist");
  const chartCrds = join(dist, "crossway-chart", "crds");
  mkdirSync(chartCrds, { recursive: true });
  const moduleYaml = join(dist, MODULE_YAML);
  let text = readFileSync(moduleYaml, "utf8").replace(/\n*$/, "\n");
  for (const name of readdirSync(join(dir, "crds"))
    .filter((f) => f.endsWith(".yaml"))
    .sort()) {
    const crd = readFileSync(join(dir, "crds", name), "utf8");
    writeFileSync(join(chartCrds, name), crd);
    text += `---\n${crd.replace(/\n*$/, "\n")}`;
  }
  writeFileSync(moduleYaml, text);
}
const LABEL_SETTINGS = ["CROSSWAY_PROTECTED_LABELS", "CROSSWAY_LABEL_ADMINS", "CROSSWAY_LABEL_ADMIN_GROUPS"];

/** 4. above: the install-time policy objects, in the module YAML and in the Helm chart. */
async function addPolicies(dir: string) {
  const dist = join(dir, "dist");
  const policies = await import(pathToFileURL(join(dir, "capabilities", "policy", "admission-policies.ts")).href);
  const env: Record<string, string | undefined> =
    JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).pepr?.env ?? {};
  const objects: { kind: string; metadata: { name: string } }[] = policies.installObjects({
    protectedLabels: env.CROSSWAY_PROTECTED_LABELS ?? "shared-gateway-access",
    admins: env.CROSSWAY_LABEL_ADMINS ?? "",
    adminGroups: env.CROSSWAY_LABEL_ADMIN_GROUPS ?? "system:masters",
  });
  const doc = (o: object) => stringify(o, { lineWidth: 0 });
  const moduleYaml = join(dist, MODULE_YAML);
  const text = readFileSync(moduleYaml, "utf8");
  if (text.includes(`name: ${policies.AGENT_POLICY}\n`)) {
    // pepr build reports some failures (a type error anywhere in the project) and exits 0
    // without writing anything: the old module YAML, policies included, is still there.
    throw new Error(`${MODULE_YAML} was not rewritten by pepr build (see its errors above); dist/ is stale`);
  }
  writeFileSync(moduleYaml, `${text.replace(/\n*$/, "\n")}---\n${objects.map(doc).join("---\n")}`);
  // The chart: the same objects, with the chart's own settings — the label policy's from the
  // admission env values (so webhook and policy agree; an absent key means the module's default),
  // the module's ServiceAccount from `uuid`.
  const SA = `system:serviceaccount:${policies.MODULE_NAMESPACE}:${policies.MODULE_SERVICE_ACCOUNT}`;
  const marker = (key: string) => `@@${key}@@`;
  const chartObjects: object[] = policies.installObjects({
    protectedLabels: marker(LABEL_SETTINGS[0]),
    admins: marker(LABEL_SETTINGS[1]),
    adminGroups: marker(LABEL_SETTINGS[2]),
  });
  const defaults: Record<string, string> = {
    [LABEL_SETTINGS[0]]: "shared-gateway-access",
    [LABEL_SETTINGS[1]]: "",
    [LABEL_SETTINGS[2]]: "system:masters",
  };
  let chart = chartObjects
    .map((o) => doc(o).split(SA).join(`system:serviceaccount:${policies.MODULE_NAMESPACE}:{{ .Values.uuid }}`))
    .join("---\n");
  for (const key of LABEL_SETTINGS) {
    // the setting's CEL string literal is alone on its line of a block scalar: replace the line
    const helm =
      `{{ $v := ${JSON.stringify(defaults[key])} }}{{ range $.Values.admission.env }}` +
      `{{ if eq .name "${key}" }}{{ $v = .value }}{{ end }}{{ end }}{{ $v | toJson }}`;
    const line = new RegExp(`^(\\s*)'${marker(key)}'$`, "m");
    if (!line.test(chart)) throw new Error(`build: the label policy's ${key} literal is not alone on its line`);
    chart = chart.replace(line, (_m, indent: string) => `${indent}${helm}`);
  }
  writeFileSync(join(dist, CHART_POLICIES), chart);
}

/**
 * 6. above: pepr generates the watcher Deployment and offers no way to add a container, so the
 * sidecar, its emptyDir and the watcher's mount and env are added here, from the same module the
 * tests run (capabilities/dataplane/vet-sidecar.ts). In the module YAML the watcher Deployment is
 * re-rendered alone (other documents keep pepr's text); in the chart, lines are inserted at anchors
 * of pepr's template, and the build fails if an anchor is missing.
 */
async function addVetSidecar(dir: string) {
  const dist = join(dir, "dist");
  const vet = await import(pathToFileURL(join(dir, "capabilities", "dataplane", "vet-sidecar.ts")).href);
  const { HAPROXY_IMAGE } = await import(pathToFileURL(join(dir, "capabilities", "dataplane", "conventions.ts")).href);
  const uuid: string = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).pepr.uuid;
  const watcher = `pepr-${uuid}-watcher`;
  type Deployment = { kind?: string; metadata?: { name?: string } };

  // Edited as a YAML Document, so pepr's quoting and folding of everything else are kept.
  const moduleYaml = join(dist, MODULE_YAML);
  const docs = readFileSync(moduleYaml, "utf8").split(/^---\n/m);
  const at = docs.findIndex((t) => {
    const d = parseDocument(t).toJS() as Deployment | null;
    return d?.kind === "Deployment" && d.metadata?.name === watcher;
  });
  if (at < 0) throw new Error(`build: no Deployment ${watcher} in ${MODULE_YAML}`);
  const doc = parseDocument(docs[at]);
  const pod = ["spec", "template", "spec"];
  const containers = (doc.getIn([...pod, "containers"]) as YAMLSeq).items as YAMLMap[];
  const main = containers.findIndex((c) => c.get("name") === "watcher");
  if (main < 0) throw new Error(`build: ${watcher} has no container "watcher"`);
  doc.addIn([...pod, "containers", main, "env"], vet.vetWatcherEnv());
  doc.addIn([...pod, "containers", main, "volumeMounts"], vet.vetWatcherMount());
  const sidecar = doc.createNode(vet.vetSidecarContainer()) as YAMLMap;
  // the script as written (a literal block), not folded at 80 columns
  for (const arg of (sidecar.get("command", true) as unknown as YAMLSeq).items as Scalar[])
    if (String(arg.value).includes("\n")) arg.type = Scalar.BLOCK_LITERAL;
  doc.addIn([...pod, "containers"], sidecar);
  doc.addIn([...pod, "volumes"], vet.vetVolume());
  docs[at] = doc.toString();
  writeFileSync(moduleYaml, docs.join("---\n"));

  const chartFile = join(dist, "crossway-chart", "templates", "watcher-deployment.yaml");
  let chart = readFileSync(chartFile, "utf8");
  const indent = (text: string, n: number) =>
    text
      .replace(/\n$/, "")
      .split("\n")
      .map((l) => (l ? " ".repeat(n) + l : l))
      .join("\n") + "\n";
  const insert = (anchor: RegExp, what: string, after = true) => {
    if (!anchor.test(chart)) throw new Error(`build: ${relative(dir, chartFile)} no longer has ${anchor}`);
    chart = chart.replace(anchor, (m) => (after ? m + what : what + m));
  };
  insert(/^ {12}- name: PEPR_WATCH_MODE\n {14}value: "true"\n/m, indent(stringify([vet.vetWatcherEnv()]), 12));
  insert(
    /^ {12}- name: module\n {14}mountPath: \/app\/load\n {14}readOnly: true\n/m,
    indent(stringify([vet.vetWatcherMount()]), 12),
  );
  insert(/^ {6}volumes:\n/m, indent(stringify([vet.vetSidecarContainer()], { lineWidth: 0 }), 8), false);
  insert(/^ {6}volumes:\n/m, indent(stringify([vet.vetVolume()]), 8));
  writeFileSync(chartFile, chart);

  const zarf = join(dist, "zarf.yaml");
  const z = readFileSync(zarf, "utf8");
  const image = /^( *)- ghcr\.io\/defenseunicorns\/pepr\/controller:\S+\n/m;
  if (!image.test(z)) throw new Error("build: zarf.yaml lists no pepr controller image");
  writeFileSync(
    zarf,
    z.replace(image, (m, sp: string) => `${m}${sp}- ${HAPROXY_IMAGE}\n`),
  );
}

/** Root with util-linux: run the build in a fresh network namespace (no network at all). */
const canIsolate = () => {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync("unshare", ["-n", "--", "true"]);
    return true;
  } catch {
    return false;
  }
};

async function build(dir: string, offline = false) {
  const pepr = join(dir, "node_modules", ".bin", "pepr");
  const [cmd, args] = offline ? ["unshare", ["-n", "--", pepr, "build"]] : [pepr, ["build"]];
  execFileSync(cmd, args, { cwd: dir, stdio: ["ignore", "ignore", "inherit"] });
  if (offline) console.log("built inside an empty network namespace: no network was available to pepr build");
  postProcess(dir);
  await addPolicies(dir);
  addCrds(dir);
  await addVetSidecar(dir);
  console.log(`dist/ built in ${dir} (without webhook credentials: \`npm run credentials\` makes an install's own)`);
}

/** A pristine copy of the committed sources (HEAD) to build from, sharing node_modules. */
function headCopy(): string {
  const tmp = mkdtempSync(join(tmpdir(), "crossway-build-"));
  execFileSync("sh", ["-c", `git -C "${REPO}" archive HEAD | tar -x -C "${tmp}"`]);
  symlinkSync(join(REPO, "node_modules"), join(tmp, "node_modules"));
  return tmp;
}

/** Build HEAD's sources (not the working tree) into the repo's dist/, e.g. before committing it. */
async function buildFromHead() {
  const tmp = headCopy();
  try {
    rmSync(join(tmp, "dist"), { recursive: true, force: true });
    if (existsSync(join(REPO, "dist"))) cpSync(join(REPO, "dist"), join(tmp, "dist"), { recursive: true });
    await build(tmp);
    rmSync(join(REPO, "dist"), { recursive: true, force: true });
    cpSync(join(tmp, "dist"), join(REPO, "dist"), { recursive: true });
    console.log("dist/ now holds the build of HEAD");
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

async function check(): Promise<number> {
  const tmp = headCopy();
  try {
    if (!existsSync(join(tmp, "dist", MODULE_YAML))) throw new Error("no committed dist/ to compare with");
    const committed = join(tmp, "dist.committed");
    cpSync(join(tmp, "dist"), committed, { recursive: true });
    await build(tmp, canIsolate());
    const a = files(committed)
      .map((f) => relative(committed, f))
      .sort();
    const b = files(join(tmp, "dist"))
      .map((f) => relative(join(tmp, "dist"), f))
      .sort();
    const differ = [...new Set([...a, ...b])].filter(
      (f) =>
        !a.includes(f) ||
        !b.includes(f) ||
        !readFileSync(join(committed, f)).equals(readFileSync(join(tmp, "dist", f))),
    );
    if (differ.length === 0) {
      console.log(`reproducible: rebuilding HEAD gives a byte-identical dist/ (${b.length} files)`);
      return 0;
    }
    console.error(
      `dist/ differs from a rebuild of HEAD (stale: rebuild with \`npm run build -- --from-head\` and commit):\n  ${differ.join("\n  ")}`,
    );
    return 1;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

const main = async () => {
  if (process.argv.includes("--check")) process.exitCode = await check();
  else if (process.argv.includes("--from-head")) await buildFromHead();
  else await build(REPO);
};
main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
