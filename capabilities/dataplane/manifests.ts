/**
 * The objects the controller server-side-applies for one Gateway's data plane, in the Gateway's
 * namespace, all owned by the Gateway (garbage-collected with it). Pure: same input, same objects.
 *
 * Config reaches HAProxy through the API (the agent watches the config Secret), so nothing here
 * depends on the config: config changes never roll the pods.
 *
 * Least privilege: the pods run as a fixed non-root UID with a read-only root filesystem, no
 * capabilities, no privilege escalation and the RuntimeDefault seccomp profile; the API token is
 * mounted into the agent container only. The agent may list/watch its one config Secret (Role) and
 * patch pods (AGENT_CLUSTER_ROLE, installed with the module), which the `crossway-dataplane-agent`
 * ValidatingAdmissionPolicy narrows to the annotations of its own pod.
 */
import {
  AGENT_CLUSTER_ROLE,
  AGENT_IMAGE,
  AGENT_SCRIPT_PATH,
  COMPONENT_DATA_PLANE,
  CHECK_OUT,
  CONFIG_PATH,
  DATA_PLANE_UID,
  HAPROXY_IMAGE,
  HEALTH_PATH,
  HEALTH_PORT,
  LABEL_COMPONENT,
  METRICS_PATH,
  LABEL_GATEWAY,
  MASTER_SOCKET,
  RUN_DIR,
  SA_TOKEN_DIR,
  agentConfigMapName,
  agentPodsBindingName,
  configSecretName,
  dataPlaneName,
} from "./conventions";
import { AGENT_JS } from "./agent-bundle";
import { propagatedAnnotations, propagatedLabels, type Infrastructure } from "./metadata";

export interface GatewayOwner {
  name: string;
  namespace: string;
  uid: string;
  /** The Gateway's spec.infrastructure: its labels/annotations go on every object and pod. */
  infrastructure?: Infrastructure;
}

/** A Kubernetes object as plain data, ready for server-side apply. */
export type KubeObject = {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace: string;
    labels: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences: Record<string, unknown>[];
  };
} & Record<string, unknown>;

/** The haproxy container waits for the agent's first config, then becomes haproxy (master-worker). */
export const HAPROXY_COMMAND = [
  "/bin/sh",
  "-c",
  [
    // Start only on a config this HAProxy accepts; re-check only when the files change.
    `last=; while :; do`,
    `if [ -s ${CONFIG_PATH} ]; then stamp=$(ls -l --full-time -I ${CHECK_OUT} ${RUN_DIR} | cksum);`,
    `if [ "$stamp" != "$last" ]; then last=$stamp;`,
    `if haproxy -c -C ${RUN_DIR} -f ${CONFIG_PATH} >${RUN_DIR}/${CHECK_OUT} 2>&1; then`,
    `exec haproxy -W -db -S ${MASTER_SOCKET},level,admin -C ${RUN_DIR} -f ${CONFIG_PATH}; fi; fi; fi;`,
    `sleep 0.5; done`,
  ].join(" "),
];

/** Every container: nothing but its volumes is writable, no capabilities, no way to gain any. */
export const CONTAINER_SECURITY = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ["ALL"] },
};

/**
 * The agent's API credentials, as kubelet would auto-mount them (token bound to the pod, ca.crt,
 * namespace), but as a volume mounted into the agent container alone.
 */
export const API_TOKEN_VOLUME = {
  name: "api-token",
  projected: {
    defaultMode: 0o444,
    sources: [
      { serviceAccountToken: { path: "token", expirationSeconds: 3607 } },
      { configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] } },
      { downwardAPI: { items: [{ path: "namespace", fieldRef: { fieldPath: "metadata.namespace" } }] } },
    ],
  },
};

/**
 * The conventional scrape annotations on the data-plane pods: HAProxy's Prometheus exporter on the
 * health port, which no listener and no Service port uses. The Gateway's infrastructure
 * annotations override them (e.g. `prometheus.io/scrape: "false"`).
 */
export const SCRAPE_ANNOTATIONS = {
  "prometheus.io/scrape": "true",
  "prometheus.io/port": String(HEALTH_PORT),
  "prometheus.io/path": METRICS_PATH,
};

export function dataPlaneObjects(gw: GatewayOwner, listenerPorts: number[], agentJs: string = AGENT_JS): KubeObject[] {
  const ports = [...new Set(listenerPorts)].sort((a, b) => a - b);
  const name = dataPlaneName(gw.name);
  // Selectors (immutable on a Deployment) use only our own labels, never propagated ones.
  const selector = { [LABEL_GATEWAY]: gw.name, [LABEL_COMPONENT]: COMPONENT_DATA_PLANE };
  const labels = propagatedLabels(gw.name, gw.infrastructure, selector);
  const annotations = propagatedAnnotations(gw.infrastructure);
  const withAnnotations = Object.keys(annotations).length ? { annotations } : {};
  const meta = (objName: string) => ({
    name: objName,
    namespace: gw.namespace,
    labels: { ...labels },
    ...withAnnotations,
    ownerReferences: [
      {
        apiVersion: "gateway.networking.k8s.io/v1",
        kind: "Gateway",
        name: gw.name,
        uid: gw.uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ],
  });
  const volumeMount = { name: "run", mountPath: RUN_DIR };
  const objects: KubeObject[] = [
    { apiVersion: "v1", kind: "ServiceAccount", metadata: meta(name) },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: meta(name),
      rules: [
        {
          apiGroups: [""],
          resources: ["secrets"],
          resourceNames: [configSecretName(gw.name)],
          verbs: ["list", "watch"], // the agent lists and watches it by name (fieldSelector)
        },
      ],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: meta(name),
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name },
      subjects: [{ kind: "ServiceAccount", name, namespace: gw.namespace }],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: meta(agentPodsBindingName(gw.name)),
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: AGENT_CLUSTER_ROLE },
      subjects: [{ kind: "ServiceAccount", name, namespace: gw.namespace }],
    },
    { apiVersion: "v1", kind: "ConfigMap", metadata: meta(agentConfigMapName(gw.name)), data: { "agent.js": agentJs } },
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: meta(name),
      spec: {
        replicas: 1,
        selector: { matchLabels: selector },
        template: {
          metadata: { labels: { ...labels }, annotations: { ...SCRAPE_ANNOTATIONS, ...annotations } },
          spec: {
            serviceAccountName: name,
            // Only the agent container gets the token (API_TOKEN_VOLUME); haproxy, which faces
            // the traffic, has no API credentials at all.
            automountServiceAccountToken: false,
            securityContext: {
              runAsNonRoot: true,
              runAsUser: DATA_PLANE_UID,
              runAsGroup: DATA_PLANE_UID,
              fsGroup: DATA_PLANE_UID,
              seccompProfile: { type: "RuntimeDefault" },
              // Listener ports below 1024 (80, 443) without root or NET_BIND_SERVICE: a namespaced,
              // "safe" sysctl that only affects the pod's own network namespace.
              sysctls: [{ name: "net.ipv4.ip_unprivileged_port_start", value: "0" }],
            },
            terminationGracePeriodSeconds: 30,
            volumes: [
              { name: "run", emptyDir: {} },
              { name: "tmp", emptyDir: {} },
              { name: "agent", configMap: { name: agentConfigMapName(gw.name) } },
              API_TOKEN_VOLUME,
            ],
            containers: [
              {
                name: "haproxy",
                image: HAPROXY_IMAGE,
                command: HAPROXY_COMMAND,
                ports: [
                  ...ports.map((p) => ({ name: `p${p}`, containerPort: p, protocol: "TCP" })),
                  // health and metrics (for a PodMonitor); never a Service port
                  { name: "metrics", containerPort: HEALTH_PORT, protocol: "TCP" },
                ],
                // HAProxy's own health frontend (rendered into every config): ready once it serves one.
                readinessProbe: {
                  httpGet: { path: HEALTH_PATH, port: HEALTH_PORT },
                  periodSeconds: 2,
                  failureThreshold: 2,
                },
                securityContext: CONTAINER_SECURITY,
                volumeMounts: [volumeMount],
              },
              {
                name: "agent",
                image: AGENT_IMAGE,
                command: ["node", AGENT_SCRIPT_PATH],
                env: [
                  { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
                  { name: "POD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
                  { name: "CONFIG_SECRET", value: configSecretName(gw.name) },
                ],
                securityContext: CONTAINER_SECURITY,
                volumeMounts: [
                  volumeMount,
                  // the root filesystem is read-only: scratch space for `haproxy -c` prechecks
                  { name: "tmp", mountPath: "/tmp" },
                  {
                    name: "agent",
                    mountPath: AGENT_SCRIPT_PATH.slice(0, AGENT_SCRIPT_PATH.lastIndexOf("/")),
                    readOnly: true,
                  },
                  { name: API_TOKEN_VOLUME.name, mountPath: SA_TOKEN_DIR, readOnly: true },
                ],
              },
            ],
          },
        },
      },
    },
  ];
  // A Service needs at least one port: a Gateway without valid listeners gets none.
  if (ports.length > 0)
    objects.push({
      apiVersion: "v1",
      kind: "Service",
      metadata: meta(name),
      spec: {
        type: "LoadBalancer",
        selector,
        ports: ports.map((p) => ({ name: `p${p}`, port: p, targetPort: p, protocol: "TCP" })),
      },
    });
  return objects;
}
