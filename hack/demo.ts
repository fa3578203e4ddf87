/**
 * `npm start`: the seed-000 walkthrough (Cilium's shared-Gateway tutorial) on a fresh machine.
 * Sets the machine up (cached), brings up the local cluster, runs the crossway module against it,
 * applies examples/seed-000-acme.yaml and prints what a user would see with curl — then shows the
 * hr team being let in by a namespace label. The module keeps running until Ctrl-C
 * (or exits at once with --exit); `npm run local:down` stops the cluster.
 */
import { execFileSync } from "node:child_process";
import { parseArgs } from "node:util";
import { join } from "node:path";
import { ensureCluster, summary } from "./cluster/up";
import { KUBECONFIG, REPO } from "./cluster/config";
import { startModule, stopModule } from "./dev-module";
import { kubectl } from "./lib/kubectl";
import { applyFile, gatewayAddress, get, routeCondition, waitStatus } from "./lib/e2e";

const { values: args } = parseArgs({ options: { exit: { type: "boolean", default: false } } });
const say = (s = "") => process.stdout.write(`${s}\n`);

async function curl(address: string, path: string) {
  const r = await get(address, path);
  const from = r.echo?.namespace ? `  (answered by pod ${r.echo.pod} in namespace ${r.echo.namespace})` : "";
  say(`$ curl -s -o /dev/null -w '%{http_code}' http://${address}${path}\n${r.status}${from}`);
}

async function routeStatus(ns: string, name: string) {
  const c = await routeCondition(ns, name, "Accepted");
  say(`  HTTPRoute ${ns}/${name}: Accepted=${c?.status} reason=${c?.reason}${c?.message ? ` — ${c.message}` : ""}`);
}

async function main() {
  execFileSync("bash", [join(REPO, "hack/setup.sh")], { stdio: "inherit" });
  const cluster = await ensureCluster();
  say(summary(cluster));
  const mod = await startModule({ kubeconfig: KUBECONFIG, readyTimeoutMs: 120_000 });
  say(`crossway module running (pid ${mod.pid}), logs in ${mod.logFile}\n`);

  say("$ kubectl apply -f examples/gatewayclass.yaml -f examples/seed-000-acme.yaml");
  await applyFile("gatewayclass.yaml");
  process.stdout.write(await kubectl(["apply", "-f", join(REPO, "examples/seed-000-acme.yaml")]));
  const address = await gatewayAddress("infra-ns", "shared-gateway", 180_000);
  say(`\nGateway infra-ns/shared-gateway is Programmed at ${address}\n`);
  await waitStatus(address, "/careers", 200, 120_000);
  await waitStatus(address, "/product", 200, 120_000);
  for (const p of ["/careers", "/product", "/hr"]) await curl(address, p);
  say("\nWhy does /hr answer 404? The route's status says:");
  for (const ns of ["careers", "product", "hr"]) await routeStatus(ns, `${ns}-route`);

  say("\n$ kubectl label namespace hr shared-gateway-access=true");
  await kubectl(["label", "namespace", "hr", "shared-gateway-access=true", "--overwrite"]);
  const opened = await waitStatus(address, "/hr", 200, 30_000);
  await curl(address, "/hr");
  say(`  (/hr answered 200 ${opened.ms} ms after the label was set)`);
  say("\n$ kubectl label namespace hr shared-gateway-access-");
  await kubectl(["label", "namespace", "hr", "shared-gateway-access-"]);
  const closed = await waitStatus(address, "/hr", 404, 30_000);
  await curl(address, "/hr");
  say(`  (/hr answered 404 again ${closed.ms} ms after the label was removed)\n`);

  say(`Try it yourself: export KUBECONFIG=${KUBECONFIG}; PATH=${join(REPO, ".local/bin")}:$PATH`);
  say(`  curl http://${address}/careers`);
  if (args.exit || !process.stdin.isTTY) {
    await stopModule();
    say("module stopped (the data plane keeps serving); `npm run local:down` stops the cluster.");
    process.exit(0);
  }
  say("The module keeps running; Ctrl-C stops it (the cluster stays up until `npm run local:down`).");
  const stop = () => void stopModule().then(() => process.exit(0));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

main().catch(async (err) => {
  console.error("demo failed:", err instanceof Error ? err.message : JSON.stringify(err));
  await stopModule().catch(() => undefined);
  process.exit(1);
});
