/**
 * The local node agent runs pods as real processes: echo-basic pods answer HTTP at their own pod
 * IPs with their own name and namespace, a ConfigMap edit reaches a running pod's file, a killed
 * process is restarted, a LoadBalancer Service gets a reachable ingress IP that follows its
 * endpoints, an agent restart adopts running pods, and local:down (which runs the agent's
 * --cleanup) leaves no process, netns, link or mount behind. Uses the shared cluster.
 */
import { afterAll, beforeAll, describe, expect, jest, test } from "@jest/globals";
import { execFile, execFileSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { BIN, DIRS, KUBECONFIG } from "../../hack/cluster/config.js";
import { leftovers, stopCluster } from "../../hack/cluster/down.js";
import { alive } from "../../hack/cluster/lock.js";
import { ensureCluster } from "../../hack/cluster/up.js";
import { writeAtomic } from "../../hack/node/atomic-writer.js";
import { expand } from "../../hack/node/env.js";
import { containerArgv, echoBasicBinary, mapImage } from "../../hack/node/images.js";
import { Ipam } from "../../hack/node/ipam.js";
import { Informer } from "../../hack/node/informer.js";
import { ContentType, Kube } from "../../hack/node/kube.js";
import { log } from "../../hack/node/log.js";
import { PodManager } from "../../hack/node/pod-manager.js";
import { signalGroup } from "../../hack/node/process.js";
import { chooseIngress, readyAddresses } from "../../hack/node/services.js";
import { StateDir } from "../../hack/node/state.js";
import { TokenCache } from "../../hack/node/tokens.js";
import { Pod } from "../../hack/node/types.js";
import { eventually as poll } from "../../hack/lib/eventually.js";

/** This suite's polls default to 60 s every 250 ms. */
const eventually = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000, intervalMs = 250) =>
  poll(what, probe, timeoutMs, intervalMs);

jest.setTimeout(180_000);

const NS = `node-test-${process.pid}`;
const ECHO_IMAGE = "gcr.io/k8s-staging-gateway-api/echo-basic:v20240412-v1.0.0-394-g40c666fd";
const NODE_IMAGE = "node:20.19.5-bookworm-slim";

/** A data-plane-shaped pod spec: haproxy waiting for its config beside a node "agent", sharing an emptyDir. */
const dataPlaneLikeSpec = () => ({
  volumes: [{ name: "run", emptyDir: {} }],
  containers: [
    {
      name: "haproxy",
      image: "haproxy:3.2",
      command: [
        "/bin/sh",
        "-c",
        "until [ -f /run/crossway/haproxy.cfg ]; do sleep 0.2; done; exec haproxy -W -db -f /run/crossway/haproxy.cfg",
      ],
      volumeMounts: [{ name: "run", mountPath: "/run/crossway" }],
    },
    {
      name: "agent",
      image: NODE_IMAGE,
      args: ["-e", "setInterval(() => {}, 1000)"],
      volumeMounts: [{ name: "run", mountPath: "/run/crossway" }],
    },
  ],
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface PodJson {
  metadata: { name: string; uid: string; deletionTimestamp?: string };
  spec: { nodeName?: string };
  status: {
    phase?: string;
    podIP?: string;
    podIPs?: { ip: string }[];
    hostIP?: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: {
      name: string;
      ready: boolean;
      started: boolean;
      restartCount: number;
      state: { running?: object; waiting?: { reason?: string }; terminated?: { exitCode: number } };
      lastState: { terminated?: { exitCode: number; reason?: string; message?: string } };
    }[];
  };
}

/** The built kubectl against the local cluster; rejects with kubectl's stderr. Polled a lot, so stdin is only opened for input. */
function kubectl(args: string[], stdin?: string, timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      BIN.kubectl,
      ["--kubeconfig", KUBECONFIG, ...args],
      { timeout: timeoutMs, maxBuffer: 64 << 20 },
      (err, stdout, stderr) =>
        err
          ? reject(new Error(`kubectl ${args.join(" ")}: ${String(stderr).trim() || err.message}`))
          : resolve(String(stdout)),
    );
    child.stdin?.on("error", () => undefined); // kubectl may exit before reading what it does not need
    child.stdin?.end(stdin);
  });
}
const kubectlJson = async <T>(args: string[]): Promise<T> => JSON.parse(await kubectl([...args, "-o", "json"])) as T;

/** GET over plain HTTP (only ever to pod IPs on our bridge), bounded by a timeout. */
function get(url: string, timeoutMs = 3000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: timeoutMs, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("timeout", () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on("error", reject);
  });
}

const apply = (obj: object) => kubectl(["apply", "-f", "-"], JSON.stringify(obj));
const pods = async (selector: string) =>
  (await kubectlJson<{ items: PodJson[] }>(["get", "pods", "-n", NS, "-l", selector])).items;
const pod = (name: string) => kubectlJson<PodJson>(["get", "pod", name, "-n", NS]);
const isReady = (p: PodJson) => p.status.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
const netnsOf = (uid: string) => `crossway-${uid.replace(/-/g, "").slice(0, 12)}`;
const netnsPids = (ns: string): number[] => {
  try {
    return execFileSync("ip", ["netns", "pids", ns], { encoding: "utf8" }).split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
};
/** GET from inside a pod's network namespace (as that pod would), with this host's node; the body. */
const getFromNetns = (ns: string, url: string): string =>
  execFileSync(
    "ip",
    [
      "netns",
      "exec",
      ns,
      process.execPath,
      "-e",
      `const u = process.argv[1]; require(u.startsWith("https") ? "https" : "http")
        .get(u, { rejectUnauthorized: false, timeout: 5000 }, (r) => r.pipe(process.stdout))
        .on("error", (e) => { console.error(e.message); process.exit(1); });`,
      url,
    ],
    { encoding: "utf8", timeout: 10_000 },
  );
const netnsList = () => execFileSync("ip", ["netns", "list"], { encoding: "utf8" });

const lbIngress = async (service: string) =>
  (
    await kubectlJson<{ status: { loadBalancer?: { ingress?: { ip: string }[] } } }>([
      "get",
      "service",
      service,
      "-n",
      NS,
    ])
  ).status.loadBalancer?.ingress?.[0]?.ip;

const readyPods = (selector: string, n: number) =>
  eventually(`${n} Ready pods ${selector}`, async () => {
    const ps = (await pods(selector)).filter((p) => !p.metadata.deletionTimestamp);
    return ps.length === n && ps.every((p) => isReady(p) && p.status.podIP) ? ps : undefined;
  });

const echoDeployment = {
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "echo", namespace: NS },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: "echo" } },
    template: {
      metadata: { labels: { app: "echo" } },
      spec: {
        containers: [
          {
            name: "echo",
            image: ECHO_IMAGE,
            ports: [{ name: "http", containerPort: 3000 }],
            env: [
              { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
              { name: "NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
            ],
            readinessProbe: { httpGet: { path: "/", port: "http" }, periodSeconds: 1 },
          },
        ],
      },
    },
  },
};

/** A node container serving a ConfigMap file, its service-account namespace and who it is to the API server. */
const readerScript = `
const http = require("http"), https = require("https"), fs = require("fs");
const sa = "/var/run/secrets/kubernetes.io/serviceaccount";
http.createServer((req, res) => {
  if (req.url === "/msg") return res.end(fs.readFileSync("/etc/web/msg", "utf8"));
  if (req.url === "/whoami") {
    const r = https.request({
      host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT, method: "POST",
      path: "/apis/authentication.k8s.io/v1/selfsubjectreviews", ca: fs.readFileSync(sa + "/ca.crt"),
      headers: { Authorization: "Bearer " + fs.readFileSync(sa + "/token", "utf8"), "Content-Type": "application/json" },
    }, (up) => { let b = ""; up.on("data", (c) => (b += c)); up.on("end", () => res.end(b)); });
    r.on("error", (e) => { res.statusCode = 502; res.end(String(e)); });
    return r.end(JSON.stringify({ apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" }));
  }
  res.end(fs.readFileSync(sa + "/namespace", "utf8"));
}).listen(8080);
`;

let echoPods: PodJson[] = [];

describe("host mapping of pods (no cluster)", () => {
  test("images map to host commands with the image's entrypoint semantics", () => {
    const echo = mapImage("gcr.io/k8s-staging-gateway-api/echo-basic:v20240412-v1.0.0-394-g40c666fd")!;
    expect(echo.kind).toBe("echo-basic");
    expect(containerArgv(echo, undefined, undefined)).toEqual([echoBasicBinary()]);
    expect(mapImage("registry.example:5000/team/echo-basic@sha256:abc")?.kind).toBe("echo-basic");
    const haproxy = mapImage("haproxy:2.6.22")!;
    expect(containerArgv(haproxy, undefined, undefined)).toEqual([
      "/usr/sbin/haproxy",
      "-W",
      "-db",
      "-f",
      "/usr/local/etc/haproxy/haproxy.cfg",
    ]);
    expect(containerArgv(haproxy, undefined, ["-f", "/run/crossway/haproxy.cfg"])).toEqual([
      "/usr/sbin/haproxy",
      "-W",
      "-db",
      "-f",
      "/run/crossway/haproxy.cfg",
    ]);
    expect(containerArgv(haproxy, ["haproxy", "-c", "-f", "/x.cfg"], undefined)).toEqual([
      "/usr/sbin/haproxy",
      "-c",
      "-f",
      "/x.cfg",
    ]);
    expect(containerArgv(haproxy, ["sh", "-c", "echo hi"], undefined)).toEqual(["sh", "-c", "echo hi"]);
    expect(mapImage("docker.io/library/haproxy:3.0")?.kind).toBe("haproxy");
    const node = mapImage("node:20.19.5-bookworm-slim")!;
    expect(containerArgv(node, undefined, undefined)).toEqual([process.execPath]);
    expect(containerArgv(node, undefined, ["/opt/agent/agent.js"])).toEqual([process.execPath, "/opt/agent/agent.js"]);
    expect(containerArgv(node, ["node", "agent.js"], ["--flag"])).toEqual([process.execPath, "agent.js", "--flag"]);
    expect(containerArgv(node, undefined, ["sh", "-c", "true"])).toEqual(["sh", "-c", "true"]);
    expect(mapImage("registry.k8s.io/pause:3.10")).toBeUndefined();
    expect(mapImage("example.com/haproxy:2.6")).toBeUndefined();
  });

  test("$(VAR) references expand like kubelet's", () => {
    expect(expand("$(A)-$(B)-$$(A)-$(MISSING)", { A: "1", B: "2" })).toBe("1-2-$(A)-$(MISSING)");
  });

  test("volume files are swapped atomically through ..data and stale keys disappear", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "crossway-vol-"));
    try {
      const f = (s: string) => ({ data: Buffer.from(s), mode: 0o644 });
      expect(
        writeAtomic(
          dir,
          new Map([
            ["a", f("1")],
            ["sub/b", f("2")],
          ]),
        ),
      ).toBe(true);
      const first = fs.readlinkSync(path.join(dir, "..data"));
      expect(fs.readFileSync(path.join(dir, "a"), "utf8")).toBe("1");
      expect(fs.readFileSync(path.join(dir, "sub/b"), "utf8")).toBe("2");
      expect(
        writeAtomic(
          dir,
          new Map([
            ["a", f("1")],
            ["sub/b", f("2")],
          ]),
        ),
      ).toBe(false);
      expect(writeAtomic(dir, new Map([["a", f("3")]]))).toBe(true);
      expect(fs.readlinkSync(path.join(dir, "..data"))).not.toBe(first);
      expect(fs.readFileSync(path.join(dir, "a"), "utf8")).toBe("3");
      expect(fs.existsSync(path.join(dir, "sub"))).toBe(false);
      expect(fs.readdirSync(dir).sort()).toEqual(["..data", fs.readlinkSync(path.join(dir, "..data")), "a"].sort());
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("pod IPs are handed out round robin, persisted, and never given to two pods", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "crossway-ipam-"));
    try {
      const ipam = new Ipam(dir);
      const a = ipam.allocate("a");
      const b = ipam.allocate("b");
      expect([a, b]).toEqual(["10.244.1.0", "10.244.1.1"]);
      expect(ipam.allocate("a")).toBe(a);
      ipam.release("a");
      expect(ipam.allocate("c")).toBe("10.244.1.2"); // a released IP is not reused at once
      const again = new Ipam(dir); // a restarted agent
      expect(again.allocate("b")).toBe(b);
      expect(again.allocate("d")).toBe("10.244.1.3");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("the load balancer IP stays on a ready endpoint and moves only when it stops being ready", () => {
    const slice = (eps: [string, boolean][]) => ({
      metadata: { name: "s" },
      endpoints: eps.map(([ip, ready]) => ({ addresses: [ip], conditions: { ready } })),
    });
    const ready = readyAddresses([
      slice([
        ["10.244.1.9", true],
        ["10.244.1.3", false],
      ]),
      slice([["10.244.1.5", true]]),
    ]);
    expect(ready).toEqual(["10.244.1.5", "10.244.1.9"]);
    expect(chooseIngress("10.244.1.9", ready)).toBe("10.244.1.9");
    expect(chooseIngress("10.244.1.3", ready)).toBe("10.244.1.5");
    expect(chooseIngress(undefined, [])).toBeUndefined();
  });
});

describe("pods on the local cluster's node", () => {
  beforeAll(async () => {
    const info = await ensureCluster();
    if (!info.node) throw new Error("the local cluster came up without its node agent");
    await kubectl(["create", "namespace", NS]);
    await apply(echoDeployment);
    await apply({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "echo", namespace: NS },
      spec: { selector: { app: "echo" }, ports: [{ port: 3000, targetPort: "http" }] },
    });
  }, 180_000);

  afterAll(async () => {
    await kubectl(["delete", "namespace", NS, "--wait=false", "--ignore-not-found"]).catch(() => undefined);
  });

  test("an echo-basic Deployment behind a Service answers at each pod IP with its own pod name and namespace", async () => {
    echoPods = await readyPods("app=echo", 2);
    const ips = echoPods.map((p) => p.status.podIP!);
    expect(new Set(ips).size).toBe(2);
    for (const p of echoPods) {
      expect(p.spec.nodeName).toBe("crossway-node");
      expect(p.status.phase).toBe("Running");
      expect(p.status.hostIP).toBe("10.244.0.1");
      expect(p.status.podIPs).toEqual([{ ip: p.status.podIP }]);
      expect(p.status.podIP).toMatch(/^10\.244\.([1-9]|[1-9]\d|1\d\d|2[0-4]\d|25[0-5])\.\d+$/);
      expect(Object.fromEntries((p.status.conditions ?? []).map((c) => [c.type, c.status]))).toMatchObject({
        PodScheduled: "True",
        Initialized: "True",
        ContainersReady: "True",
        Ready: "True",
      });
      const cs = p.status.containerStatuses![0];
      expect({ ready: cs.ready, started: cs.started, running: !!cs.state.running }).toEqual({
        ready: true,
        started: true,
        running: true,
      });

      const res = await get(`http://${p.status.podIP}:3000/hello`);
      expect(res.status).toBe(200);
      const body = JSON.parse(res.body) as { pod: string; namespace: string; path: string };
      expect(body).toMatchObject({ pod: p.metadata.name, namespace: NS, path: "/hello" });
    }
    // pod to pod over the bridge (the path a gateway pod takes to its backends)
    const [a, b] = echoPods;
    const viaBridge = getFromNetns(netnsOf(a.metadata.uid), `http://${b.status.podIP}:3000/from-a`);
    expect(JSON.parse(viaBridge)).toMatchObject({ pod: b.metadata.name, path: "/from-a" });
    // the endpointslice controller sees the pods as ready endpoints of the Service
    const slices = await eventually("EndpointSlice with both pod IPs ready", async () => {
      const list = await kubectlJson<{
        items: { endpoints?: { addresses: string[]; conditions?: { ready?: boolean } }[] }[];
      }>(["get", "endpointslices", "-n", NS, "-l", "kubernetes.io/service-name=echo"]);
      const ready = list.items
        .flatMap((s) => s.endpoints ?? [])
        .filter((e) => e.conditions?.ready)
        .flatMap((e) => e.addresses);
      return ready.length === 2 ? ready.sort() : undefined;
    });
    expect(slices).toEqual([...ips].sort());
  });

  test("a ConfigMap edit reaches the running pod's mounted file within 2 s; the service-account token works from inside the pod", async () => {
    await apply({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "web", namespace: NS },
      data: { msg: "first" },
    });
    await apply({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "reader", namespace: NS, labels: { app: "reader" } },
      spec: {
        containers: [
          {
            name: "reader",
            image: NODE_IMAGE,
            command: ["node", "-e", readerScript],
            volumeMounts: [{ name: "web", mountPath: "/etc/web", readOnly: true }],
            startupProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1, failureThreshold: 30 },
            readinessProbe: { httpGet: { path: "/ns", port: 8080 }, periodSeconds: 1 },
          },
        ],
        volumes: [{ name: "web", configMap: { name: "web" } }],
      },
    });
    const [reader] = await readyPods("app=reader", 1);
    const base = `http://${reader.status.podIP}:8080`;
    expect((await get(`${base}/msg`)).body).toBe("first");
    // the mount lives in the pod's private mount namespace only
    expect(fs.existsSync("/etc/web/msg")).toBe(false);

    const t0 = Date.now();
    await kubectl([
      "patch",
      "configmap",
      "web",
      "-n",
      NS,
      "--type=merge",
      "-p",
      JSON.stringify({ data: { msg: "second" } }),
    ]);
    await eventually(
      "the pod to serve the edited ConfigMap",
      async () => ((await get(`${base}/msg`)).body === "second" ? true : undefined),
      10_000,
      50,
    );
    expect(Date.now() - t0).toBeLessThan(2000);

    // projected service-account volume: namespace file, and a token + ca.crt the API server accepts at 10.244.0.1
    expect((await get(`${base}/ns`)).body).toBe(NS);
    const who = JSON.parse((await get(`${base}/whoami`, 10_000)).body) as {
      status?: { userInfo?: { username?: string } };
    };
    expect(who.status?.userInfo?.username).toBe(`system:serviceaccount:${NS}:default`);
  });

  test("haproxy:* runs Debian's haproxy with the image's entrypoint and a Secret-mounted config; containers share the pod's loopback; init containers run first", async () => {
    const cfg = [
      "global",
      "  log stdout format raw local0",
      "defaults",
      "  mode http",
      "  timeout connect 1s",
      "  timeout client 5s",
      "  timeout server 5s",
      "frontend web",
      "  bind :8080",
      '  http-request return status 200 content-type text/plain string "haproxy in pod" if { path /healthz }',
      "  default_backend local",
      "backend local",
      "  server web 127.0.0.1:9090",
      "",
    ].join("\n");
    await apply({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "haproxy-cfg", namespace: NS },
      stringData: { "haproxy.cfg": cfg },
    });
    await apply({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "proxy", namespace: NS, labels: { app: "proxy" } },
      spec: {
        securityContext: { sysctls: [{ name: "net.ipv4.ip_unprivileged_port_start", value: "0" }] },
        volumes: [
          { name: "cfg", secret: { secretName: "haproxy-cfg" } },
          { name: "shared", emptyDir: {} },
        ],
        initContainers: [
          {
            name: "prep",
            image: NODE_IMAGE,
            command: ["node", "-e", "require('fs').writeFileSync('/shared/greeting', 'hello from init')"],
            volumeMounts: [{ name: "shared", mountPath: "/shared" }],
          },
        ],
        containers: [
          {
            name: "haproxy",
            image: "haproxy:2.6.22",
            volumeMounts: [{ name: "cfg", mountPath: "/usr/local/etc/haproxy", readOnly: true }],
            readinessProbe: { httpGet: { path: "/healthz", port: 8080 }, periodSeconds: 1 },
          },
          {
            name: "web",
            image: NODE_IMAGE,
            args: [
              "-e",
              "require('http').createServer((q, s) => s.end(require('fs').readFileSync('/shared/greeting'))).listen(9090, '127.0.0.1')",
            ],
            volumeMounts: [{ name: "shared", mountPath: "/shared", readOnly: true }],
          },
        ],
      },
    });
    const [proxy] = await readyPods("app=proxy", 1);
    expect(Object.fromEntries((proxy.status.conditions ?? []).map((c) => [c.type, c.status])).Initialized).toBe("True");
    const base = `http://${proxy.status.podIP}:8080`;
    expect(await get(`${base}/healthz`)).toEqual({ status: 200, body: "haproxy in pod" });
    expect(await get(`${base}/`)).toEqual({ status: 200, body: "hello from init" });
    // the pod's net.* sysctls apply inside its network namespace only
    const portStart = (...inNs: string[]) =>
      execFileSync(
        inNs.length ? "ip" : "cat",
        [...inNs, "cat", "/proc/sys/net/ipv4/ip_unprivileged_port_start"].slice(inNs.length ? 0 : 1),
        {
          encoding: "utf8",
        },
      ).trim();
    expect(portStart("netns", "exec", netnsOf(proxy.metadata.uid))).toBe("0");
    expect(portStart()).toBe(fs.readFileSync("/proc/sys/net/ipv4/ip_unprivileged_port_start", "utf8").trim());
    expect(portStart()).not.toBe("0");
    // the web container listens on the pod's loopback only: not reachable from the host
    await expect(get(`http://${proxy.status.podIP}:9090/`, 1000)).rejects.toThrow();
  });

  test("a killed container process is restarted: restartCount and lastState go up and it answers again", async () => {
    const target = echoPods[0];
    const ns = netnsOf(target.metadata.uid);
    const before = netnsPids(ns);
    expect(before.length).toBeGreaterThan(0);
    for (const pid of before) process.kill(pid, "SIGKILL");

    const after = await eventually("restartCount 1 and Ready again", async () => {
      const p = await pod(target.metadata.name);
      const cs = p.status.containerStatuses?.[0];
      return cs && cs.restartCount === 1 && cs.ready && isReady(p) ? p : undefined;
    });
    const cs = after.status.containerStatuses![0];
    expect(cs.lastState.terminated?.exitCode).toBe(137);
    expect(after.status.podIP).toBe(target.status.podIP);
    const pidsNow = netnsPids(ns);
    expect(pidsNow.length).toBeGreaterThan(0);
    expect(pidsNow.some((p) => before.includes(p))).toBe(false);
    const body = JSON.parse((await get(`http://${target.status.podIP}:3000/`)).body) as { pod: string };
    expect(body.pod).toBe(target.metadata.name);
    // each instance has its own log: the killed one is `--previous`
    const previous = await kubectl(["logs", target.metadata.name, "-n", NS, "--previous"]);
    expect(previous).toContain("Echoing back request made to /hello");
    expect(await kubectl(["logs", target.metadata.name, "-n", NS])).not.toContain("/hello");
  });

  test("kubectl logs reads a container's output through the API server (the node API)", async () => {
    const [p] = await readyPods("app=echo", 2);
    const logs = await kubectl(["logs", p.metadata.name, "-n", NS]);
    expect(logs).toContain("Starting server, listening on port 3000 (http)");
    const last = await kubectl(["logs", p.metadata.name, "-n", NS, "--tail=1"]);
    expect(last.trim().split("\n")).toHaveLength(1);
    // from inside a pod's network namespace the node API refuses to answer
    const fromPod = getFromNetns(netnsOf(p.metadata.uid), "https://10.244.0.1:10250/containerLogs/x/y/z");
    expect(fromPod).toContain(`forbidden: the node API only answers the host, not ${p.status.podIP}`);
  });

  test("a container of an unknown image is reported Ready without running; a failing one with restartPolicy Never ends Failed", async () => {
    await apply({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "pause", namespace: NS, labels: { app: "pause" } },
      spec: { containers: [{ name: "pause", image: "registry.k8s.io/pause:3.10" }] },
    });
    await apply({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "fails", namespace: NS },
      spec: {
        restartPolicy: "Never",
        containers: [
          // workingDir is honoured (and created, as a runtime does): exit 3 there, 4 anywhere else
          {
            name: "main",
            image: NODE_IMAGE,
            workingDir: "/srv/crossway-wd",
            args: ["-e", "process.exit(process.cwd() === '/srv/crossway-wd' ? 3 : 4)"],
          },
        ],
      },
    });
    const [pause] = await readyPods("app=pause", 1);
    expect(netnsPids(netnsOf(pause.metadata.uid))).toEqual([]);
    // ...and says so where a user looks: kubectl describe / get events
    const notRun = await eventually("a NotRun event for pause", async () => {
      const evs = await kubectlJson<{ items: { reason: string; type: string; message: string }[] }>([
        "get",
        "events",
        "-n",
        NS,
        "--field-selector",
        "involvedObject.name=pause",
      ]);
      return evs.items.find((e) => e.reason === "NotRun");
    });
    expect(notRun).toMatchObject({ type: "Warning", message: expect.stringContaining("registry.k8s.io/pause:3.10") });
    const failed = await eventually("pod fails to reach phase Failed", async () => {
      const p = await pod("fails");
      return p.status.phase === "Failed" ? p : undefined;
    });
    expect(failed.status.containerStatuses![0].state.terminated?.exitCode).toBe(3);
    expect(failed.status.containerStatuses![0].restartCount).toBe(0);
  });

  test("bad pods stay inside their own status: a missing binary crash-loops, an unsupported volume waits, others keep serving", async () => {
    await apply({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "no-binary", namespace: NS },
      spec: { containers: [{ name: "main", image: NODE_IMAGE, command: ["/nonexistent/server"] }] },
    });
    await apply({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "pvc", namespace: NS },
      spec: {
        containers: [{ name: "main", image: NODE_IMAGE, volumeMounts: [{ name: "data", mountPath: "/data" }] }],
        volumes: [{ name: "data", persistentVolumeClaim: { claimName: "nothing" } }],
      },
    });
    const looping = await eventually(
      "no-binary to restart with back-off",
      async () => {
        const p = await pod("no-binary");
        const cs = p.status.containerStatuses?.[0];
        return cs && cs.restartCount >= 1 && cs.lastState.terminated ? p : undefined;
      },
      30_000,
    );
    expect(isReady(looping)).toBe(false);
    const cs = looping.status.containerStatuses![0];
    expect(cs.lastState.terminated).toMatchObject({
      exitCode: 128,
      reason: "StartError",
      message: 'exec: "/nonexistent/server": stat /nonexistent/server: no such file or directory',
    });
    expect(cs.state.waiting?.reason).toBe("CrashLoopBackOff");
    const waiting = await eventually("pvc to report why it cannot start", async () => {
      const p = await kubectlJson<{
        status: { phase: string; containerStatuses?: { state: { waiting?: { reason?: string; message?: string } } }[] };
      }>(["get", "pod", "pvc", "-n", NS]);
      return p.status.containerStatuses?.[0]?.state.waiting?.message ? p : undefined;
    });
    expect(waiting.status.phase).toBe("Pending");
    expect(waiting.status.containerStatuses![0].state.waiting).toEqual({
      reason: "ContainerCreating",
      message: 'volume "data": type persistentVolumeClaim is not supported by the local node',
    });
    // a sysctl outside net.* cannot be confined to the pod: the sandbox is refused, the pod says why
    await apply({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "ipc-sysctl", namespace: NS },
      spec: {
        securityContext: { sysctls: [{ name: "kernel.shm_rmid_forced", value: "1" }] },
        containers: [{ name: "main", image: NODE_IMAGE }],
      },
    });
    const refused = await eventually("ipc-sysctl to report its sandbox failure", async () => {
      const p = await kubectlJson<{ status: { phase: string; message?: string } }>([
        "get",
        "pod",
        "ipc-sysctl",
        "-n",
        NS,
      ]);
      return p.status.message ? p : undefined;
    });
    expect(refused.status).toMatchObject({
      phase: "Pending",
      message: "pod sandbox: sysctl kernel.shm_rmid_forced is not namespaced by the local node (only net.*)",
    });
    for (const p of await readyPods("app=echo", 2))
      expect((await get(`http://${p.status.podIP}:3000/`)).status).toBe(200);
    await kubectl(["delete", "pod", "no-binary", "pvc", "ipc-sysctl", "-n", NS, "--wait=true", "--timeout=60s"]);
  });

  test("a LoadBalancer Service gets a ready pod's IP as ingress, which answers and follows the endpoints when that pod is deleted", async () => {
    await apply({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "echo-lb", namespace: NS },
      spec: { type: "LoadBalancer", selector: { app: "echo" }, ports: [{ port: 3000, targetPort: 3000 }] },
    });
    const lbIp = () => lbIngress("echo-lb");
    const current = await readyPods("app=echo", 2);
    const ip = await eventually("a load balancer ingress IP", lbIp);
    expect(current.map((p) => p.status.podIP)).toContain(ip);
    const served = JSON.parse((await get(`http://${ip}:3000/lb`)).body) as { pod: string; namespace: string };
    expect(served.namespace).toBe(NS);
    expect(current.map((p) => p.metadata.name)).toContain(served.pod);

    // delete the pod behind the ingress: its processes and netns go, the Pod object is finalised, the ingress moves
    const victim = current.find((p) => p.status.podIP === ip)!;
    const victimNs = netnsOf(victim.metadata.uid);
    const victimPids = netnsPids(victimNs);
    expect(victimPids.length).toBeGreaterThan(0);
    await kubectl(["delete", "pod", victim.metadata.name, "-n", NS, "--wait=true", "--timeout=60s"]);
    expect(victimPids.filter(alive)).toEqual([]);
    expect(netnsList()).not.toContain(victimNs);

    const next = await eventually("the ingress to move to another ready pod", async () => {
      const v = await lbIp();
      return v && v !== ip ? v : undefined;
    });
    const ready = await readyPods("app=echo", 2);
    expect(ready.map((p) => p.status.podIP)).toContain(next);
    const again = JSON.parse((await get(`http://${next}:3000/`)).body) as { pod: string };
    expect(again.pod).not.toBe(victim.metadata.name);
  });

  test("a restarted node agent adopts running pods instead of restarting them, and cleans up pods deleted meanwhile", async () => {
    await apply({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "orphan", namespace: NS, labels: { app: "orphan" } },
      spec: { containers: [{ name: "main", image: NODE_IMAGE, args: ["-e", "setInterval(() => {}, 1000)"] }] },
    });
    const [reader] = await readyPods("app=reader", 1);
    const [orphan] = await readyPods("app=orphan", 1);
    const ns = netnsOf(reader.metadata.uid);
    const pidsBefore = netnsPids(ns).sort();
    const orphanPids = netnsPids(netnsOf(orphan.metadata.uid));
    expect(orphanPids.length).toBeGreaterThan(0);
    const lbBefore = await lbIngress("echo-lb");
    expect(lbBefore).toBeDefined();
    const [agentPid] = fs.readFileSync(`${DIRS.pids}/node.pid`, "utf8").split("\n").map(Number);
    process.kill(agentPid, "SIGTERM");
    await eventually("the node agent to exit", async () => (alive(agentPid) ? undefined : true), 15_000);
    expect(netnsPids(ns).sort()).toEqual(pidsBefore); // pods keep running without the agent
    // force-deleted while no agent runs: the Pod object is gone at once, its processes are not
    await kubectl(["delete", "pod", "orphan", "-n", NS, "--force", "--grace-period=0"]);
    expect(orphanPids.filter(alive)).toEqual(orphanPids);

    const info = await ensureCluster();
    // a new agent runs (started by this call, or by another suite's ensureCluster in between)
    const newAgent = info.processes.find((p) => p.name === "node")?.pid;
    expect(newAgent).toBeDefined();
    expect(newAgent).not.toBe(agentPid);
    await sleep(3000); // a few sync rounds of the new agent
    const p = await pod("reader");
    expect(netnsPids(ns).sort()).toEqual(pidsBefore);
    expect(p.status.containerStatuses![0].restartCount).toBe(0);
    expect(isReady(p)).toBe(true);
    expect((await get(`http://${reader.status.podIP}:8080/msg`)).body).toBe("second");
    expect(await lbIngress("echo-lb")).toBe(lbBefore); // the load balancer address did not move
    // the new agent found the orphan's record without a Pod and removed it
    await eventually("the orphan's processes and netns to be gone", async () =>
      orphanPids.some(alive) || netnsList().includes(netnsOf(orphan.metadata.uid)) ? undefined : true,
    );
  });

  // Stopping the shared cluster would break other suites running against it at the same moment on a
  // developer's machine, so this runs in CI (where suites run one after another) or when asked.
  const downTest = process.env.CI || process.env.CROSSWAY_TEST_DOWN ? test : test.skip;
  downTest(
    "local:down (the agent's --cleanup) leaves no process, netns, link or mount behind",
    async () => {
      await readyPods("app=echo", 2);
      const podPids = (await kubectlJson<{ items: PodJson[] }>(["get", "pods", "-A"])).items
        .filter((p) => p.spec.nodeName === "crossway-node")
        .flatMap((p) => netnsPids(netnsOf(p.metadata.uid)));
      expect(podPids.length).toBeGreaterThan(0);
      const { problems } = await stopCluster();
      expect(problems).toEqual([]);
      expect(await leftovers()).toEqual([]);
      expect(podPids.filter(alive)).toEqual([]);
      expect(netnsList()).not.toMatch(/crossway-/);
      expect(execFileSync("ip", ["-o", "link", "show"], { encoding: "utf8" })).not.toMatch(
        /crossway0|: cw[0-9a-f]{12}/,
      );
      expect(fs.readFileSync("/proc/self/mountinfo", "utf8")).not.toMatch(/\/run\/netns\/crossway-/);
      // leave the shared cluster as we found it, for the suites after this one
      await ensureCluster();
    },
    240_000,
  );
});

/**
 * Deletion must always be acted upon. A PodManager runs in this process for a node of its own
 * (the shared agent ignores pods bound elsewhere) against the real API server, with real processes:
 * data-plane-like pods (an haproxy container in its wait-for-config loop next to a node container).
 * A thin wrapper around the real API client holds status PATCH responses, to replay the race seen
 * in a conformance run: a status PATCH answered after the deletion's watch event used to overwrite
 * the worker's pod with the version before the deletion, so the deletion was never acted upon and
 * the pod stayed Terminating until force-deleted.
 */
describe("pod deletion is always acted upon (in-process node, real API server)", () => {
  const RNS = `node-race-${process.pid}`;
  const RNODE = `crossway-race-${process.pid}`;
  const GRACE_S = 5;
  let stateDir = "";
  let kube: Kube;
  let manager: PodManager;
  let informer: Informer<Pod> | undefined;
  /** status PATCHes of these pods are answered only when the promise settles */
  const holds = new Map<string, Promise<void>>();
  const patched = new Map<string, () => void>();
  let dropDeletions = false;
  /** the agent's sweep (every 2 s), only where a test exercises it */
  let sweeping = false;
  let sweeper: NodeJS.Timeout | undefined;

  const racePod = (name: string) => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: RNS, labels: { app: "race" } },
    spec: {
      nodeName: RNODE,
      hostNetwork: true, // no pod IP from a second IPAM on the shared bridge
      automountServiceAccountToken: false,
      terminationGracePeriodSeconds: GRACE_S,
      ...dataPlaneLikeSpec(),
    },
  });

  const podGone = async (name: string) => {
    try {
      await kubectl(["get", "pod", name, "-n", RNS, "-o", "name"]);
      return undefined;
    } catch (e) {
      if (/NotFound|not found/.test((e as Error).message)) return true;
      throw e;
    }
  };

  /** Deletes the pod (grace GRACE_S) and resolves with how long the Pod object took to disappear. */
  const deleteAndTime = async (name: string, afterDelete?: () => Promise<void>) => {
    const t0 = Date.now();
    await kubectl(["delete", "pod", name, "-n", RNS, "--wait=false"]);
    await afterDelete?.();
    await eventually(`pod ${name} to be gone`, () => podGone(name), (GRACE_S + 5) * 1000, 200);
    return Date.now() - t0;
  };

  const cachedDeleted = (name: string) =>
    eventually(
      `the deletion of ${name} in the informer`,
      async () => (informer?.get(RNS, name)?.metadata.deletionTimestamp ? true : undefined),
      10_000,
      20,
    );

  const startedPod = async (name: string) => {
    let statusPatched!: () => void;
    const seen = new Promise<void>((r) => (statusPatched = r));
    patched.set(name, statusPatched);
    await apply(racePod(name));
    await seen; // the worker started the containers and is publishing that
  };

  beforeAll(async () => {
    await ensureCluster();
    await kubectl(["create", "namespace", RNS]);
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "crossway-race-"));
    const real = await Kube.fromFile(KUBECONFIG);
    kube = Object.create(real) as Kube;
    (kube as { request: Kube["request"] }).request = async <T>(
      method: string,
      p: string,
      body?: unknown,
      ct?: ContentType,
    ) => {
      const res = await real.request<T>(method, p, body, ct);
      const m = method === "PATCH" && /\/pods\/([^/]+)\/status$/.exec(p);
      if (m) {
        patched.get(m[1])?.();
        await holds.get(m[1]);
      }
      return res;
    };
    const state = new StateDir(stateDir);
    const tokens = new TokenCache(kube);
    const raceLog = log.child({ test: "race" });
    manager = new PodManager(
      kube,
      state,
      new Ipam(stateDir),
      { configMap: () => undefined, secret: () => undefined, token: (p, a, e) => tokens.token(p, a, e) },
      tokens,
      raceLog,
      () => undefined,
      RNODE,
    );
    informer = new Informer<Pod>(
      kube,
      `/api/v1/namespaces/${RNS}/pods`,
      (c) => {
        if (dropDeletions && c.type === "upsert" && c.obj.metadata.deletionTimestamp) return; // a lost event
        manager.onPod(c);
      },
      raceLog,
    ).start();
    await informer.synced;
    sweeper = setInterval(() => sweeping && manager.sweep(informer!.list()), 2000);
  }, 180_000);

  afterAll(async () => {
    holds.clear();
    // a pod the node under test failed to finalise would hold the namespace: its node is this process
    await kubectl(["delete", "pods", "--all", "-n", RNS, "--force", "--grace-period=0", "--wait=false"]).catch(
      () => undefined,
    );
    await kubectl(["delete", "namespace", RNS, "--wait=false", "--ignore-not-found"]).catch(() => undefined);
    informer?.stop();
    clearInterval(sweeper);
    manager?.detachAll();
    // nothing of ours may outlive the suite, whatever the node under test did
    for (const d of fs.existsSync(path.join(stateDir, "pods")) ? fs.readdirSync(path.join(stateDir, "pods")) : []) {
      const rec = JSON.parse(fs.readFileSync(path.join(stateDir, "pods", d, "pod.json"), "utf8")) as {
        procs: Record<string, { pid: number }>;
      };
      for (const p of Object.values(rec.procs)) signalGroup(p.pid, "SIGKILL");
    }
  }, 60_000);

  test("a status PATCH answered after the deletion's watch event does not hide the deletion: the pod is gone within grace + 5 s", async () => {
    const name = "stale-status";
    let release!: () => void;
    holds.set(name, new Promise<void>((r) => (release = r)));
    await startedPod(name);
    const ms = await deleteAndTime(name, async () => {
      await cachedDeleted(name); // the worker has been handed the deleted pod...
      release(); // ...before the (older) PATCH response arrives
    });
    expect(ms).toBeLessThan((GRACE_S + 5) * 1000);
  }, 60_000);

  test("a sync stuck in an await (a status PATCH that never answers) does not block the deletion", async () => {
    const name = "stuck-sync";
    holds.set(name, new Promise<void>(() => undefined)); // never answered
    await startedPod(name);
    const ms = await deleteAndTime(name);
    expect(ms).toBeLessThan((GRACE_S + 5) * 1000);
  }, 60_000);

  test("with the sweep running, a live pod is left alone: it turns Ready, keeps its processes, and is stopped only once deleted", async () => {
    const name = "live";
    sweeping = true;
    try {
      await startedPod(name);
      const ready = await eventually(`${name} Ready`, async () => {
        const p = await kubectlJson<PodJson>(["get", "pod", name, "-n", RNS]);
        return isReady(p) && p.status.phase === "Running" ? p : undefined;
      });
      const rec = () =>
        JSON.parse(fs.readFileSync(path.join(stateDir, "pods", ready.metadata.uid, "pod.json"), "utf8")) as {
          procs: Record<string, { pid: number }>;
        };
      const pids = Object.values(rec().procs).map((p) => p.pid);
      expect(pids).toHaveLength(2);
      await sleep(6000); // three sweeps
      expect(Object.values(rec().procs).map((p) => p.pid)).toEqual(pids);
      expect(pids.every(alive)).toBe(true);
      const p = await kubectlJson<PodJson>(["get", "pod", name, "-n", RNS]);
      expect(p.metadata.deletionTimestamp).toBeUndefined();
      expect(p.status.containerStatuses?.map((c) => c.restartCount)).toEqual([0, 0]);
      const ms = await deleteAndTime(name);
      expect(ms).toBeLessThan((GRACE_S + 5) * 1000);
      expect(pids.filter(alive)).toEqual([]);
    } finally {
      sweeping = false;
    }
  }, 90_000);

  test("a deletion event the worker never got is still acted upon by the sweep over the API's view", async () => {
    const name = "lost-event";
    await startedPod(name);
    dropDeletions = true; // the handler loses every event carrying the deletion; the informer's cache has it
    sweeping = true;
    try {
      const ms = await deleteAndTime(name);
      expect(ms).toBeLessThan((GRACE_S + 5) * 1000);
    } finally {
      dropDeletions = false;
      sweeping = false;
    }
  }, 60_000);
});

/**
 * The same on the shared cluster's node agent: data-plane-like pods (haproxy waiting for its config
 * next to a node container, a projected service-account token as the real data plane has) are
 * deleted at staggered moments while their containers start and wait, a few at a time; every Pod
 * object must be gone within its grace period + 5 s. Bounded: 12 pods, 3 at a time.
 */
describe("pods deleted while starting on the shared node are gone within grace + 5 s", () => {
  const DNS = `node-churn-${process.pid}`;
  const GRACE_S = 5;
  const PODS = 12;
  const PARALLEL = 3;

  beforeAll(async () => {
    const info = await ensureCluster();
    if (!info.node) throw new Error("the local cluster came up without its node agent");
    await kubectl(["create", "namespace", DNS]);
  }, 180_000);

  afterAll(async () => {
    await kubectl(["delete", "namespace", DNS, "--wait=false", "--ignore-not-found"]).catch(() => undefined);
  });

  const churnPod = (name: string) => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: DNS, labels: { app: "churn" } },
    spec: {
      terminationGracePeriodSeconds: GRACE_S,
      ...dataPlaneLikeSpec(),
    },
  });

  test("12 pods deleted 0-1.1 s after creation (while binding, starting, waiting) all disappear within grace + 5 s", async () => {
    const took: Record<string, number> = {};
    const one = async (i: number) => {
      const name = `churn-${i}`;
      await apply(churnPod(name));
      await sleep(i * 100); // spread the deletions over the pod's start-up
      const t0 = Date.now();
      await kubectl(["delete", "pod", name, "-n", DNS, "--wait=false"]);
      await eventually(
        `pod ${name} to be gone`,
        async () =>
          (await kubectl(["get", "pods", "-n", DNS, "-o", "name"])).includes(`pod/${name}\n`) ? undefined : true,
        (GRACE_S + 5) * 1000,
        200,
      ).catch(() => undefined);
      took[name] = Date.now() - t0;
    };
    for (let i = 0; i < PODS; i += PARALLEL) await Promise.all(Array.from({ length: PARALLEL }, (_, j) => one(i + j)));
    const slow = Object.entries(took).filter(([, ms]) => ms >= (GRACE_S + 5) * 1000);
    expect(slow).toEqual([]);
    expect(Object.keys(took)).toHaveLength(PODS);
  }, 180_000);
});
