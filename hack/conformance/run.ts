/**
 * `npm run conformance`: the unmodified Gateway API v1.6.1 conformance suite against crossway in
 * the local cluster.
 *
 *   1. builds (once, cached) `go test -c sigs.k8s.io/gateway-api/conformance@v1.6.1`;
 *   2. brings up the local cluster and runs the module against it (dev mode);
 *   3. applies GatewayClass `crossway` and reads back the features it claims in
 *      status.supportedFeatures — exactly those are passed to the suite;
 *   4. runs the suite for the GATEWAY-HTTP and GATEWAY-GRPC profiles and writes the
 *      ConformanceReport to conformance/report.yaml, with the exact command beside it.
 *
 * Flags: `--run-test <ShortName>` (one test), `--skip-tests a,b`, `--report <path>`,
 * `--keep` (leave the cluster and module running afterwards).
 */
import { spawn, execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { parseArgs } from "node:util";
import { ensureCluster } from "../cluster/up";
import { CACHE, KUBECONFIG, REPO } from "../cluster/config";
import { startModule, stopModule } from "../dev-module";
import { kubectl, kubectlJson } from "../lib/kubectl";

const VERSION = "v1.6.1";
const GATEWAY_CLASS = "crossway";
const PROFILES = ["GATEWAY-HTTP", "GATEWAY-GRPC"];

const { values: args } = parseArgs({
  options: {
    "run-test": { type: "string" },
    "skip-tests": { type: "string" },
    report: { type: "string", default: join(REPO, "conformance/report.yaml") },
    keep: { type: "boolean", default: false },
    timeout: { type: "string", default: "90m" },
  },
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface GatewayClassStatus {
  status?: { conditions?: { type: string; status: string }[]; supportedFeatures?: { name: string }[] };
}

async function claimedFeatures(): Promise<string[]> {
  await kubectl(["apply", "-f", join(REPO, "examples/gatewayclass.yaml")]);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const gc = await kubectlJson<GatewayClassStatus>(["get", "gatewayclass", GATEWAY_CLASS, "-o", "json"]);
    const accepted = gc.status?.conditions?.some((c) => c.type === "Accepted" && c.status === "True");
    const features = (gc.status?.supportedFeatures ?? []).map((f) => f.name);
    if (accepted && features.length > 0) return features;
    if (Date.now() > deadline)
      throw new Error(`GatewayClass ${GATEWAY_CLASS} not Accepted with supportedFeatures after 60s`);
    await sleep(500);
  }
}

/** Leftovers of an interrupted run would be updated in place by the suite (racing our status writes). */
async function removeLeftovers() {
  const names = (await kubectl(["get", "namespaces", "-o", "name"]))
    .split("\n")
    .filter((n) => n.startsWith("namespace/gateway-conformance-"));
  if (names.length === 0) return;
  console.log(`conformance: deleting leftovers of an earlier run: ${names.join(" ")}`);
  await kubectl(["delete", "--wait=true", "--timeout=120s", ...names]);
}

async function main() {
  execFileSync("bash", [join(REPO, "hack/conformance/build.sh")], { stdio: "inherit" });
  const suite = join(CACHE, `conformance-${VERSION}/bin/conformance.test`);
  await ensureCluster();
  await startModule({ kubeconfig: KUBECONFIG });
  let code = 1;
  try {
    await removeLeftovers();
    const features = await claimedFeatures();
    const version = execFileSync("git", ["-C", REPO, "describe", "--always", "--dirty"]).toString().trim();
    const suiteArgs = [
      "-test.run",
      "^TestConformance$",
      "-test.v",
      "-test.timeout",
      args.timeout!,
      `--gateway-class=${GATEWAY_CLASS}`,
      `--conformance-profiles=${PROFILES.join(",")}`,
      `--supported-features=${features.join(",")}`,
      `--report-output=${args.report}`,
      "--organization=crossway",
      "--project=crossway",
      "--url=https://crossway.dev",
      `--version=${version}`,
      "--contact=crossway maintainers",
      ...(args["run-test"] ? [`--run-test=${args["run-test"]}`] : []),
      ...(args["skip-tests"] ? [`--skip-tests=${args["skip-tests"]}`] : []),
    ];
    mkdirSync(dirname(args.report!), { recursive: true });
    // The recorded command names the report relative to the repository, not this machine's path.
    const recorded = suiteArgs.map((a) =>
      a.replace(`--report-output=${args.report}`, `--report-output=${relative(REPO, args.report!)}`),
    );
    const command = `KUBECONFIG=.local/kubeconfig conformance.test ${recorded.map((a) => (/[\s,]/.test(a) ? `'${a}'` : a)).join(" ")}`;
    writeFileSync(
      `${args.report}.command`,
      `# produced by \`npm run conformance\` (hack/conformance/run.ts); conformance.test is\n# \`go test -c sigs.k8s.io/gateway-api/conformance\` at ${VERSION}, unmodified (hack/conformance/build.sh)\n${command}\n`,
    );
    console.log(`conformance: ${command}`);
    const started = Date.now();
    code = await new Promise<number>((resolve) => {
      const child = spawn(suite, suiteArgs, {
        stdio: "inherit",
        cwd: join(REPO, "hack/conformance"),
        env: { ...process.env, KUBECONFIG },
      });
      child.on("exit", (c) => resolve(c ?? 1));
    });
    console.log(`conformance: exit ${code} after ${Math.round((Date.now() - started) / 1000)}s; report ${args.report}`);
  } finally {
    if (!args.keep) await stopModule();
  }
  process.exit(code);
}

main().catch((err) => {
  console.error("conformance:", err instanceof Error ? err.message : JSON.stringify(err));
  process.exit(1);
});
