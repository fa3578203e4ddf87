/**
 * The bundled agent as a process against the real local API server and a real haproxy: it lists
 * and watches its config Secret with a service-account token limited by the data-plane Role,
 * applies each generation (runtime API, reload, rejection) and reports on its Pod's annotations.
 * Uses the shared local cluster (`npm run local:up`; started here if needed).
 */
import { afterAll, beforeAll, describe, expect, jest, test } from "@jest/globals";
import { spawn, type ChildProcess } from "node:child_process";
import { copyFileSync, existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ensureCluster } from "../../hack/cluster/up.js";
import { APISERVER_PORT, DIRS } from "../../hack/cluster/config.js";
import { kubectl } from "../../hack/lib/kubectl.js";
import { AGENT_JS } from "../../capabilities/dataplane/agent-bundle";
import { dataPlaneObjects } from "../../capabilities/dataplane/manifests";
import { agentClusterRole, agentPolicy } from "../../capabilities/policy/admission-policies";
import { encodeConfigFiles } from "../../capabilities/dataplane/secret-data";
import {
  ANN_CONFIG_GENERATION,
  ANN_REJECTED,
  ANN_SERVED_GENERATION,
  configSecretName,
  dataPlaneName,
} from "../../capabilities/dataplane/conventions";
import { renderGateway } from "../../capabilities/render/index";
import { gateway, listener, port, prefix, rule, svc, vhost } from "../render/ir-builders";
import { freePort, request, sleep, startEcho, startHaproxy, tempDir, type Echo, type Haproxy } from "../render/harness";

jest.setTimeout(180_000);

const NS = `agent-watch-${process.pid}`;
const GW = "w";
const POD = "agent-under-test";
let echoes: Echo[] = [];
let agent: ChildProcess | undefined;
let agentLog = "";
let haproxy: Haproxy | undefined;
let P = 0;
let runDir = "";

/** Stable route names (the builder numbers them): they are in the files (the access log's map), like the real ones. */
const named = (name: string) => ({ route: { kind: "HTTPRoute" as const, namespace: "default", name } });
const render = (e: Echo, extra = 0) =>
  renderGateway(
    gateway([
      port(P, [
        listener("http", undefined, [
          vhost("*", [
            ...Array.from({ length: extra }, (_, i) =>
              rule(prefix(`/x${i}`), [svc(`x${i}`, [{ ip: "127.0.0.1", port: e.port }])], [], named(`x${i}`)),
            ),
            rule(prefix("/"), [svc("main", [{ ip: "127.0.0.1", port: e.port }])], [], named("main")),
          ]),
        ]),
      ]),
    ]),
    { runDir, bindAddress: "127.0.0.1" },
  ).files;

async function publish(generation: number, files: Record<string, string>) {
  const secret = {
    apiVersion: "v1",
    kind: "Secret",
    type: "Opaque",
    metadata: {
      name: configSecretName(GW),
      namespace: NS,
      annotations: { [ANN_CONFIG_GENERATION]: String(generation) },
    },
    data: encodeConfigFiles(files),
  };
  await kubectl(["apply", "-f", "-"], JSON.stringify(secret));
}

async function podAnnotations(): Promise<Record<string, string>> {
  const pod = JSON.parse(await kubectl(["get", "pod", "-n", NS, POD, "-o", "json"])) as {
    metadata: { annotations?: Record<string, string> };
  };
  return pod.metadata.annotations ?? {};
}

async function waitAnnotation(
  key: string,
  want: (v: string | undefined) => boolean,
  timeoutMs = 20_000,
): Promise<Record<string, string>> {
  const deadline = Date.now() + timeoutMs;
  let last: Record<string, string> = {};
  while (Date.now() < deadline) {
    last = await podAnnotations();
    if (want(last[key])) return last;
    await sleep(200);
  }
  throw new Error(
    `annotation ${key} not as expected after ${timeoutMs}ms: ${JSON.stringify(last)}\nagent log:\n${agentLog}`,
  );
}

beforeAll(async () => {
  await ensureCluster();
  echoes = [await startEcho("e1"), await startEcho("e2")];
  P = await freePort();
  runDir = tempDir("crossway-watch-run-");
  await kubectl(["create", "namespace", NS]);
  // The agent's RBAC exactly as the data plane gets it (without the Gateway owner: none exists here),
  // under what the module installs once: the agents' ClusterRole and the own-pod policy.
  await kubectl(
    ["apply", "--server-side", "--force-conflicts", "-f", "-"],
    JSON.stringify({ apiVersion: "v1", kind: "List", items: [agentClusterRole(), ...agentPolicy()] }),
  );
  const rbac = dataPlaneObjects(
    { name: GW, namespace: NS, uid: "00000000-0000-0000-0000-000000000000" },
    [P],
    "// agent",
  )
    .filter((o) => ["ServiceAccount", "Role", "RoleBinding"].includes(o.kind))
    .map((o) => ({ ...o, metadata: { ...o.metadata, ownerReferences: undefined } }));
  await kubectl(["apply", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items: rbac }));
  // A Pod object for the agent to annotate, bound to no real node so nothing runs it.
  const pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: POD, namespace: NS },
    spec: {
      nodeName: "no-such-node",
      serviceAccountName: dataPlaneName(GW),
      containers: [{ name: "c", image: "crossway.test/none:0" }],
    },
  };
  await kubectl(["apply", "-f", "-"], JSON.stringify(pod));
  const saDir = tempDir("crossway-watch-sa-");
  writeFileSync(
    join(saDir, "token"),
    // bound to the pod, as the data-plane pod's projected token is (the agent policy requires it)
    (
      await kubectl([
        "create",
        "token",
        "-n",
        NS,
        dataPlaneName(GW),
        "--duration",
        "1h",
        "--bound-object-kind=Pod",
        `--bound-object-name=${POD}`,
      ])
    ).trim(),
  );
  copyFileSync(join(DIRS.pki, "ca.crt"), join(saDir, "ca.crt"));
  const script = join(tempDir("crossway-watch-agent-"), "agent.js");
  writeFileSync(script, AGENT_JS);
  agent = spawn(process.execPath, [script], {
    env: {
      PATH: process.env.PATH,
      KUBERNETES_SERVICE_HOST: "127.0.0.1",
      KUBERNETES_SERVICE_PORT: String(APISERVER_PORT),
      POD_NAME: POD,
      POD_NAMESPACE: NS,
      CONFIG_SECRET: configSecretName(GW),
      CROSSWAY_SA_DIR: saDir,
      CROSSWAY_RUN_DIR: runDir,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  agent.stdout!.on("data", (d) => (agentLog += d));
  agent.stderr!.on("data", (d) => (agentLog += d));
});

afterAll(async () => {
  agent?.kill("SIGTERM");
  await haproxy?.stop();
  for (const e of echoes) await e.close();
  await kubectl(["delete", "namespace", NS, "--wait=false", "--ignore-not-found"]).catch(() => undefined);
});

describe("agent against the API server", () => {
  test("serves the first generation and reports it on its Pod", async () => {
    await publish(1, render(echoes[0]));
    for (let i = 0; i < 100 && !existsSync(join(runDir, "haproxy.cfg")); i++) await sleep(100);
    haproxy = await startHaproxy(runDir, P); // what the haproxy container does once the file exists
    await waitAnnotation(ANN_SERVED_GENERATION, (v) => v === "1");
    expect((await request(P, "/")).echo?.backend).toBe("e1");
  });

  test("an endpoint change is applied without a reload; a route change with one", async () => {
    await publish(2, render(echoes[1]));
    await waitAnnotation(ANN_SERVED_GENERATION, (v) => v === "2");
    expect((await request(P, "/")).echo?.backend).toBe("e2");
    await publish(3, render(echoes[1], 3));
    await waitAnnotation(ANN_SERVED_GENERATION, (v) => v === "3");
    expect((await request(P, "/x2/y")).echo?.backend).toBe("e2");
    const transitions = agentLog
      .split("\n")
      .filter((l) => l.includes('"msg":"config '))
      .map((l) => (JSON.parse(l) as { msg: string }).msg);
    expect(transitions).toEqual(["config initial", "config runtime", "config reloaded"]);
  });

  test("a rejected generation is reported, the last good one keeps serving, the next good one clears it", async () => {
    await publish(4, { ...render(echoes[0]), "haproxy.cfg": "global\n  no-such-keyword\n" });
    const ann = await waitAnnotation(ANN_REJECTED, (v) => v?.startsWith("generation 4:") ?? false);
    expect(ann[ANN_REJECTED]).toMatch(/no-such-keyword/);
    expect(ann[ANN_SERVED_GENERATION]).toBe("3");
    expect((await request(P, "/x2/y")).status).toBe(200);
    await publish(5, render(echoes[0]));
    const after = await waitAnnotation(ANN_SERVED_GENERATION, (v) => v === "5");
    expect(after[ANN_REJECTED]).toBeUndefined();
    expect((await request(P, "/")).echo?.backend).toBe("e1");
  });

  test("a Secret it cannot read is reported, not fatal", async () => {
    await kubectl([
      "annotate",
      "secret",
      "-n",
      NS,
      configSecretName(GW),
      `${ANN_CONFIG_GENERATION}=oops`,
      "--overwrite",
    ]);
    await waitAnnotation(ANN_REJECTED, (v) => v?.includes("not a number") ?? false);
    expect(agent?.exitCode).toBeNull();
    expect((await request(P, "/")).echo?.backend).toBe("e1");
  });
});
