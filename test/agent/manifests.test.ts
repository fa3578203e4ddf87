/** Data-plane objects for a Gateway: shape, ownership, ports. */
import { afterAll, describe, expect, it, jest } from "@jest/globals";
import { spawn, type ChildProcess } from "node:child_process";
import http from "node:http";
import { join } from "node:path";
import { translate } from "../../capabilities/engine/index";
import type { ClusterSnapshot } from "../../capabilities/engine/snapshot";
import { renderGateway } from "../../capabilities/render/index";
import { gateway, listener, match, port, rule, svc, vhost } from "../render/ir-builders";
import { makeCert, sleep, tempDir, writeFiles } from "../render/harness";
import {
  dataPlaneObjects,
  HAPROXY_COMMAND,
  SCRAPE_ANNOTATIONS,
  type KubeObject,
} from "../../capabilities/dataplane/manifests";
import {
  AGENT_CLUSTER_ROLE,
  AGENT_IMAGE,
  DATA_PLANE_UID,
  HAPROXY_IMAGE,
  HEALTH_PATH,
  HEALTH_PORT,
  LABEL_COMPONENT,
  LABEL_GATEWAY,
  LABEL_GATEWAY_NAME,
  METRICS_PATH,
  RUN_DIR,
  SA_TOKEN_DIR,
  agentPodsBindingName,
  configSecretName,
  dataPlaneName,
} from "../../capabilities/dataplane/conventions";

const gw = { name: "shared", namespace: "infra-ns", uid: "1234-abcd" };
const objs = dataPlaneObjects(gw, [443, 80, 80, 8080], "// agent");
const byKind = (kind: string) => objs.filter((o) => o.kind === kind);
const one = (kind: string) => {
  const found = byKind(kind);
  expect(found).toHaveLength(1);
  return found[0] as KubeObject & { spec: any; data?: any; rules?: any; subjects?: any; roleRef?: any };
};

describe("data-plane manifests", () => {
  it("makes one of each object, in the Gateway's namespace, owned by the Gateway and labelled", () => {
    expect(objs.map((o) => o.kind)).toEqual([
      "ServiceAccount",
      "Role",
      "RoleBinding",
      "RoleBinding",
      "ConfigMap",
      "Deployment",
      "Service",
    ]);
    for (const o of objs) {
      expect(o.metadata.namespace).toBe("infra-ns");
      expect(o.metadata.labels[LABEL_GATEWAY]).toBe("shared");
      expect(o.metadata.ownerReferences).toEqual([
        {
          apiVersion: "gateway.networking.k8s.io/v1",
          kind: "Gateway",
          name: "shared",
          uid: "1234-abcd",
          controller: true,
          blockOwnerDeletion: true,
        },
      ]);
    }
    expect(new Set(objs.map((o) => `${o.kind}/${o.metadata.name}`)).size).toBe(objs.length);
  });

  it("lets the agent list/watch only its config Secret, and patch pods through the module's ClusterRole", () => {
    const role = one("Role");
    expect(role.rules).toEqual([
      {
        apiGroups: [""],
        resources: ["secrets"],
        resourceNames: [configSecretName("shared")],
        verbs: ["list", "watch"],
      },
    ]);
    const sa = [{ kind: "ServiceAccount", name: dataPlaneName("shared"), namespace: "infra-ns" }];
    const [toRole, toClusterRole] = byKind("RoleBinding") as (KubeObject & { roleRef: any; subjects: any })[];
    expect(toRole.metadata.name).toBe(dataPlaneName("shared"));
    expect(toRole.roleRef).toEqual({ apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.metadata.name });
    expect(toRole.subjects).toEqual(sa);
    // pods: patch comes from the ClusterRole installed with the module (narrowed to the agent's own
    // pod by a ValidatingAdmissionPolicy), so the controller needs `bind` on it, not pods: patch.
    expect(toClusterRole.metadata.name).toBe(agentPodsBindingName("shared"));
    expect(toClusterRole.roleRef).toEqual({
      apiGroup: "rbac.authorization.k8s.io",
      kind: "ClusterRole",
      name: AGENT_CLUSTER_ROLE,
    });
    expect(toClusterRole.subjects).toEqual(sa);
  });

  it("runs every container as a fixed non-root user, read-only, without capabilities, under RuntimeDefault seccomp", () => {
    const pod = one("Deployment").spec.template.spec;
    expect(pod.securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: DATA_PLANE_UID,
      runAsGroup: DATA_PLANE_UID,
      fsGroup: DATA_PLANE_UID,
      seccompProfile: { type: "RuntimeDefault" },
      // listener ports < 1024 are bound thanks to this namespaced sysctl, not NET_BIND_SERVICE
      sysctls: [{ name: "net.ipv4.ip_unprivileged_port_start", value: "0" }],
    });
    expect(DATA_PLANE_UID).toBeGreaterThan(0);
    for (const c of pod.containers) {
      expect(c.securityContext).toEqual({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ["ALL"] },
      });
    }
    // the only writable places are emptyDirs
    const writable = pod.containers.flatMap((c: any) => c.volumeMounts.filter((m: any) => !m.readOnly));
    for (const m of writable) expect(pod.volumes.find((v: any) => v.name === m.name).emptyDir).toEqual({});
  });

  it("mounts the API token into the agent container only", () => {
    const pod = one("Deployment").spec.template.spec;
    expect(pod.automountServiceAccountToken).toBe(false);
    const tokenVolumes = pod.volumes.filter((v: any) => v.projected);
    expect(tokenVolumes).toHaveLength(1);
    const vol = tokenVolumes[0];
    expect(vol.projected.sources).toContainEqual({ serviceAccountToken: { path: "token", expirationSeconds: 3607 } });
    expect(vol.projected.sources).toContainEqual({
      configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] },
    });
    const [haproxy, agent] = pod.containers;
    expect(agent.volumeMounts).toContainEqual({ name: vol.name, mountPath: SA_TOKEN_DIR, readOnly: true });
    expect(haproxy.volumeMounts.map((m: any) => m.name)).not.toContain(vol.name);
    // where agent/kube.ts reads it
    expect(SA_TOKEN_DIR).toBe("/var/run/secrets/kubernetes.io/serviceaccount");
  });

  it("runs haproxy and the agent side by side on a shared emptyDir, one replica", () => {
    const d = one("Deployment");
    expect(d.spec.replicas).toBe(1);
    const pod = d.spec.template.spec;
    expect(pod.serviceAccountName).toBe(dataPlaneName("shared"));
    expect(pod.volumes).toContainEqual({ name: "run", emptyDir: {} });
    const [haproxy, agent] = pod.containers;
    expect(haproxy.image).toBe(HAPROXY_IMAGE);
    expect(haproxy.command).toEqual(HAPROXY_COMMAND);
    expect(haproxy.command[2]).toMatch(
      /haproxy -c -C \/run\/crossway -f \/run\/crossway\/haproxy.cfg .*exec haproxy -W -db -S \/run\/crossway\/master.sock,level,admin/,
    );
    // HAProxy's own health frontend, not a listener port (an HTTPS listener may have no usable certificate).
    expect(haproxy.readinessProbe.httpGet).toEqual({ path: HEALTH_PATH, port: HEALTH_PORT });
    expect(agent.image).toBe(AGENT_IMAGE);
    expect(agent.command).toEqual(["node", "/opt/crossway/agent.js"]);
    expect(agent.env).toEqual([
      { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
      { name: "POD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
      { name: "CONFIG_SECRET", value: configSecretName("shared") },
    ]);
    for (const c of [haproxy, agent]) expect(c.volumeMounts).toContainEqual({ name: "run", mountPath: RUN_DIR });
    // config changes must not roll pods: nothing config-derived in the template
    expect(JSON.stringify(d.spec.template)).not.toMatch(/hash|generation/i);
    expect(one("ConfigMap").data).toEqual({ "agent.js": "// agent" });
  });

  it("exposes each listener port once on a LoadBalancer Service", () => {
    const svc = one("Service");
    expect(svc.spec.type).toBe("LoadBalancer");
    expect(svc.spec.ports.map((p: { port: number }) => p.port)).toEqual([80, 443, 8080]);
    expect(svc.spec.selector).toEqual(one("Deployment").spec.selector.matchLabels);
  });

  it("is deterministic and survives a Gateway without ports", () => {
    expect(dataPlaneObjects(gw, [8080, 443, 80], "// agent")).toEqual(objs);
    const none = dataPlaneObjects(gw, [], "// agent");
    expect(none.map((o) => o.kind)).not.toContain("Service");
    expect(JSON.stringify(none)).not.toContain("undefined");
  });

  it("propagates the Gateway's infrastructure labels/annotations to every object and the pods, keeping its own labels", () => {
    const infra = {
      labels: {
        team: "payments",
        [LABEL_GATEWAY]: "hijack",
        [LABEL_COMPONENT]: "hijack",
        [LABEL_GATEWAY_NAME]: "hijack",
      },
      annotations: { "example.com/owner": "alice" },
    };
    const withInfra = dataPlaneObjects({ ...gw, infrastructure: infra }, [80], "// agent");
    const d = withInfra.find((o) => o.kind === "Deployment") as KubeObject & { spec: any };
    const metas = [...withInfra.map((o) => o.metadata), d.spec.template.metadata];
    expect(metas).toHaveLength(8); // SA, Role, 2 RoleBindings, ConfigMap, Deployment, Service + pod template
    for (const m of metas) {
      expect(m.labels).toEqual({
        team: "payments",
        [LABEL_GATEWAY]: "shared",
        [LABEL_COMPONENT]: "data-plane",
        [LABEL_GATEWAY_NAME]: "shared",
      });
      // the pods also carry the scrape annotations
      expect(m.annotations).toEqual({
        ...(m === d.spec.template.metadata ? SCRAPE_ANNOTATIONS : {}),
        "example.com/owner": "alice",
      });
    }
    // Selectors stay our own labels only, so changing infrastructure labels never needs a new selector.
    const selector = { [LABEL_GATEWAY]: "shared", [LABEL_COMPONENT]: "data-plane" };
    expect(d.spec.selector).toEqual({ matchLabels: selector });
    expect((withInfra.find((o) => o.kind === "Service") as any).spec.selector).toEqual(selector);
    expect(d.spec.selector).toEqual(one("Deployment").spec.selector);
  });

  it("labels every object with the Gateway's name even without infrastructure, and adds no annotations", () => {
    for (const o of objs) {
      expect(o.metadata.labels[LABEL_GATEWAY_NAME]).toBe("shared");
      expect(o.metadata.annotations).toBeUndefined();
    }
    expect(one("Deployment").spec.template.metadata.labels[LABEL_GATEWAY_NAME]).toBe("shared");
  });

  it("asks Prometheus to scrape the pods on the health port, which no Service port exposes", () => {
    const template = one("Deployment").spec.template;
    expect(template.metadata.annotations).toEqual({
      "prometheus.io/scrape": "true",
      "prometheus.io/port": String(HEALTH_PORT),
      "prometheus.io/path": METRICS_PATH,
    });
    expect(template.spec.containers[0].ports).toContainEqual({
      name: "metrics",
      containerPort: HEALTH_PORT,
      protocol: "TCP",
    });
    expect(one("Service").spec.ports.map((p: { port: number }) => p.port)).not.toContain(HEALTH_PORT);
    // the Gateway's infrastructure annotations win (a Gateway can opt out)
    const optOut = dataPlaneObjects(
      { ...gw, infrastructure: { annotations: { "prometheus.io/scrape": "false" } } },
      [80],
      "// agent",
    );
    const d = optOut.find((o) => o.kind === "Deployment") as KubeObject & { spec: any };
    expect(d.spec.template.metadata.annotations["prometheus.io/scrape"]).toBe("false");
  });
});

describe("the readiness probe's target", () => {
  // Own loopback address: other suites' haproxies bind 127.0.0.1:HEALTH_PORT too (SO_REUSEPORT).
  const addr = `127.0.0.${2 + (process.pid % 200)}`;
  const running: ChildProcess[] = [];
  afterAll(() => running.forEach((p) => p.kill("SIGKILL")));

  const get = (path: string) =>
    new Promise<number>((resolve) => {
      const req = http.get({ host: addr, port: HEALTH_PORT, path, timeout: 1000, agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("timeout", () => req.destroy());
      req.on("error", () => resolve(0));
    });

  /** haproxy as the data-plane container runs it, on a rendered config; resolves once the probe succeeds. */
  async function serve(ir: Parameters<typeof renderGateway>[0]): Promise<ChildProcess> {
    const dir = tempDir("crossway-health-");
    writeFiles(dir, renderGateway(ir, { runDir: dir, bindAddress: addr }).files);
    const p = spawn(
      "haproxy",
      ["-W", "-db", "-S", `${dir}/master.sock,level,admin`, "-C", dir, "-f", join(dir, "haproxy.cfg")],
      { stdio: "ignore" },
    );
    running.push(p);
    for (let i = 0; i < 50 && (await get(HEALTH_PATH)) !== 200; i++) await sleep(100);
    return p;
  }
  const stop = (p: ChildProcess) =>
    new Promise<void>((r) => (p.exitCode !== null ? r() : (p.once("exit", () => r()), p.kill("SIGTERM"))));

  it("is answered by HAProxy itself for a Gateway whose only listener is HTTPS, and for one with no listener", async () => {
    jest.setTimeout(30_000);
    expect(await get(HEALTH_PATH)).toBe(0); // nothing serves it before haproxy runs: not ready
    const { certPem, keyPem } = makeCert(tempDir("crossway-health-cert-"), ["secure.test"]);
    let p = await serve(
      gateway([
        port(
          40443,
          [
            listener(
              "secure",
              "secure.test",
              [vhost("secure.test", [rule(match(), [svc("a", [{ ip: "127.0.0.1", port: 1 }])])])],
              {
                certificates: [{ ref: { namespace: "default", name: "secure" }, certPem, keyPem }],
              },
            ),
          ],
          "HTTPS",
        ),
      ]),
    );
    expect(await get(HEALTH_PATH)).toBe(200);
    expect(await get("/anything-else")).toBe(503); // the health port routes nothing
    await stop(p);
    p = await serve(gateway([]));
    expect(await get(HEALTH_PATH)).toBe(200);
    await stop(p);
    expect(await get(HEALTH_PATH)).toBe(0);
  });

  it("is a port no listener can take", () => {
    const snapshot = {
      gatewayClasses: [
        {
          apiVersion: "gateway.networking.k8s.io/v1",
          kind: "GatewayClass",
          metadata: { name: "c", generation: 1 },
          spec: { controllerName: "crossway.test/health" },
        },
      ],
      gateways: [
        {
          apiVersion: "gateway.networking.k8s.io/v1",
          kind: "Gateway",
          metadata: { name: "g", namespace: "n", generation: 1 },
          spec: {
            gatewayClassName: "c",
            listeners: [
              { name: "health", port: HEALTH_PORT, protocol: "HTTP" },
              { name: "ok", port: 8080, protocol: "HTTP" },
            ],
          },
        },
      ],
      listenerSets: [],
      httpRoutes: [],
      grpcRoutes: [],
      referenceGrants: [],
      namespaces: [],
      services: [],
      endpointSlices: [],
      secrets: [],
    } as unknown as ClusterSnapshot;
    const r = translate(snapshot, { controllerName: "crossway.test/health" });
    const status = r.statuses.find((s) => s.kind === "Gateway")!.status as {
      listeners: { name: string; conditions: { type: string; status: string; message: string }[] }[];
    };
    const accepted = (name: string) =>
      status.listeners.find((l) => l.name === name)!.conditions.find((c) => c.type === "Accepted")!;
    expect(accepted("health")).toMatchObject({
      status: "False",
      message: expect.stringContaining(`port ${HEALTH_PORT} is reserved`),
    });
    expect(accepted("ok").status).toBe("True");
    expect(r.ir[0].ports.map((p) => p.port)).toEqual([8080]);
  });
});
