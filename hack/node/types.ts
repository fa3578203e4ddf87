/** The slices of core/v1 objects the agent reads and writes (loose: unknown fields pass through). */
import { KubeObject } from "./kube.js";

export interface KeyToPath {
  key: string;
  path: string;
  mode?: number;
}
export interface FieldRef {
  fieldPath: string;
}
export interface Probe {
  httpGet?: {
    path?: string;
    port: number | string;
    host?: string;
    scheme?: string;
    httpHeaders?: { name: string; value: string }[];
  };
  tcpSocket?: { port: number | string; host?: string };
  exec?: { command: string[] };
  initialDelaySeconds?: number;
  periodSeconds?: number;
  timeoutSeconds?: number;
  successThreshold?: number;
  failureThreshold?: number;
}
export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    fieldRef?: FieldRef;
    configMapKeyRef?: { name: string; key: string; optional?: boolean };
    secretKeyRef?: { name: string; key: string; optional?: boolean };
    resourceFieldRef?: { resource: string; containerName?: string };
  };
}
export interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  workingDir?: string;
  env?: EnvVar[];
  envFrom?: {
    prefix?: string;
    configMapRef?: { name: string; optional?: boolean };
    secretRef?: { name: string; optional?: boolean };
  }[];
  ports?: { name?: string; containerPort: number; protocol?: string }[];
  volumeMounts?: { name: string; mountPath: string; subPath?: string; readOnly?: boolean }[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
  restartPolicy?: string;
}
export interface ProjectionSource {
  serviceAccountToken?: { audience?: string; expirationSeconds?: number; path: string };
  configMap?: { name: string; items?: KeyToPath[]; optional?: boolean };
  secret?: { name: string; items?: KeyToPath[]; optional?: boolean };
  downwardAPI?: { items?: { path: string; fieldRef?: FieldRef; mode?: number }[] };
}
export interface Volume {
  name: string;
  emptyDir?: { medium?: string; sizeLimit?: string };
  hostPath?: { path: string; type?: string };
  configMap?: { name: string; items?: KeyToPath[]; defaultMode?: number; optional?: boolean };
  secret?: { secretName: string; items?: KeyToPath[]; defaultMode?: number; optional?: boolean };
  projected?: { sources?: ProjectionSource[]; defaultMode?: number };
  downwardAPI?: { items?: { path: string; fieldRef?: FieldRef; mode?: number }[]; defaultMode?: number };
  [other: string]: unknown;
}
export interface PodCondition {
  type: string;
  status: string;
  lastTransitionTime?: string;
  lastProbeTime?: string | null;
  reason?: string;
  message?: string;
}
export interface ContainerState {
  waiting?: { reason?: string; message?: string };
  running?: { startedAt: string };
  terminated?: {
    exitCode: number;
    signal?: number;
    reason?: string;
    message?: string;
    startedAt?: string;
    finishedAt?: string;
  };
}
export interface ContainerStatus {
  name: string;
  image: string;
  imageID: string;
  containerID?: string;
  ready: boolean;
  started: boolean;
  restartCount: number;
  state: ContainerState;
  lastState: ContainerState;
}
export interface PodStatus {
  phase?: string;
  conditions?: PodCondition[];
  hostIP?: string;
  hostIPs?: { ip: string }[];
  podIP?: string;
  podIPs?: { ip: string }[];
  startTime?: string;
  containerStatuses?: ContainerStatus[];
  initContainerStatuses?: ContainerStatus[];
  message?: string;
  reason?: string;
}
export interface Pod extends KubeObject {
  spec: {
    nodeName?: string;
    schedulerName?: string;
    serviceAccountName?: string;
    automountServiceAccountToken?: boolean;
    restartPolicy?: string;
    terminationGracePeriodSeconds?: number;
    hostname?: string;
    hostNetwork?: boolean;
    hostAliases?: { ip: string; hostnames?: string[] }[];
    securityContext?: { sysctls?: { name: string; value: string }[] };
    containers: Container[];
    initContainers?: Container[];
    volumes?: Volume[];
  };
  status?: PodStatus;
}
export interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
}
export interface Secret extends KubeObject {
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}
