/**
 * Names and annotations shared by the controller (which writes config and reads what the
 * data plane serves) and the data-plane agent (which reads config and reports what it serves).
 * No imports: the agent bundles this file.
 */

export const CONTROLLER_NAME = "crossway.dev/gateway-controller";
export const FIELD_MANAGER = "crossway";

/** Prefix of every per-Gateway object, which lives in the Gateway's namespace. */
export const dataPlaneName = (gatewayName: string) => `crossway-${gatewayName}`;
/** Secret holding the rendered config: data["haproxy.cfg"] + data["<certname>.pem"]. */
export const configSecretName = (gatewayName: string) => `crossway-${gatewayName}-config`;
/** ConfigMap with the bundled agent script (agent.js); changes only on upgrades. */
const AGENT_CONFIGMAP = "crossway-agent";

/** On the config Secret: monotonically increasing config generation (decimal string). */
export const ANN_CONFIG_GENERATION = "crossway.dev/config-generation";
/** On the config Secret: sha256 of haproxy.cfg + certs, so unchanged renders are not re-applied. */
export const ANN_CONFIG_HASH = "crossway.dev/config-hash";
/** On each data-plane Pod, written by its agent: the config generation HAProxy serves now. */
export const ANN_SERVED_GENERATION = "crossway.dev/served-generation";
/** On each data-plane Pod, written by its agent when a config was rejected (haproxy -c output). */
export const ANN_REJECTED = "crossway.dev/rejected-config";

/** Labels on data-plane objects. */
export const LABEL_GATEWAY = "crossway.dev/gateway";
export const LABEL_COMPONENT = "app.kubernetes.io/component";
/**
 * Additive: on every generated data-plane object and pod, the Gateway API's own label
 * (`GatewayNameLabelKey`) naming the Gateway, next to its spec.infrastructure labels.
 */
export const LABEL_GATEWAY_NAME = "gateway.networking.k8s.io/gateway-name";

/** Pinned public images (the local cluster maps them to host binaries). */
export const HAPROXY_IMAGE = "haproxy:2.6.22";
export const AGENT_IMAGE = "node:20.19.5-bookworm-slim";

/** Inside the pod: the emptyDir shared by haproxy and the agent. */
export const RUN_DIR = "/run/crossway";
export const MASTER_SOCKET = `${RUN_DIR}/master.sock`;
export const CONFIG_PATH = `${RUN_DIR}/haproxy.cfg`;
/**
 * The haproxy container checks each config it is about to start on with `haproxy -c` (its own
 * binary: the same version that will run it) and leaves the output here: a pod never crash-loops
 * on a config, it waits for one HAProxy accepts, and the agent reports the refusal.
 */
export const CHECK_OUT = "check.out";
/**
 * On the config Secret: the `haproxy -v` version line of the binary the controller checked this
 * config with. An agent whose own haproxy prints the same line skips its own check (the same
 * binary has accepted these files), which at 10,000 routes saves seconds per change.
 */
export const ANN_VETTED_WITH = "crossway.dev/vetted-with";

/**
 * Additive: the agent ConfigMap is per Gateway (`crossway-agent-<gateway>`), because every
 * data-plane object has its Gateway as controller owner and an object has only one controller.
 */
export const agentConfigMapName = (gatewayName: string) => `${AGENT_CONFIGMAP}-${gatewayName}`;
/** Additive: value of LABEL_COMPONENT on the data-plane Deployment's pods. */
export const COMPONENT_DATA_PLANE = "data-plane";
/** Additive: where the agent script is mounted in the agent container. */
export const AGENT_SCRIPT_PATH = "/opt/crossway/agent.js";
/**
 * Additive: the port of the data plane's own health frontend (`monitor-uri` HEALTH_PATH), which
 * the readiness probe asks. Reserved: no listener may use it.
 */
export const HEALTH_PORT = 8936;
export const HEALTH_PATH = "/healthz";
/** Additive: HAProxy's Prometheus exporter, on HEALTH_PORT too (never on a listener port). */
export const METRICS_PATH = "/metrics";

/**
 * Additive, least privilege: every data-plane container runs as this fixed non-root UID/GID (one
 * for both, so the agent can use the sockets HAProxy creates in RUN_DIR with mode 600).
 */
export const DATA_PLANE_UID = 10001;
/** Additive: where the agent container (only it) gets its service-account token, ca.crt and namespace. */
export const SA_TOKEN_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";
/**
 * Additive: the ClusterRole installed once with the module that lets the agents patch pods; a
 * ValidatingAdmissionPolicy (`crossway-dataplane-agent`) narrows that to their own pod's annotations.
 */
export const AGENT_CLUSTER_ROLE = "crossway-dataplane-agent";
/**
 * Additive: the RoleBinding granting AGENT_CLUSTER_ROLE to one Gateway's agent. ':' cannot occur
 * in a Gateway name, so it never collides with another Gateway's `crossway-<name>` RoleBinding.
 */
export const agentPodsBindingName = (gatewayName: string) => `${dataPlaneName(gatewayName)}:pods`;
