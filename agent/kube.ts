/**
 * The few Kubernetes API calls the agent makes, over plain `https` with the pod's service-account
 * token: list and watch one Secret, merge-patch the agent's own Pod annotations.
 */
import https from "node:https";
import { readFileSync } from "node:fs";

/** Where kubelet mounts the service-account token; CROSSWAY_SA_DIR overrides it (tests on the host). */
const saDir = () => process.env.CROSSWAY_SA_DIR ?? "/var/run/secrets/kubernetes.io/serviceaccount";

export interface KubeConfig {
  host: string;
  port: string;
  token: () => string;
  ca?: Buffer;
}

export function inClusterConfig(): KubeConfig {
  const host = process.env.KUBERNETES_SERVICE_HOST;
  const port = process.env.KUBERNETES_SERVICE_PORT ?? "443";
  if (!host) throw new Error("KUBERNETES_SERVICE_HOST is not set: the agent runs inside a pod");
  let ca: Buffer | undefined;
  try {
    ca = readFileSync(`${saDir()}/ca.crt`);
  } catch {
    ca = undefined;
  }
  // The token is re-read on every call: kubelet rotates it.
  const dir = saDir();
  return { host, port, ca, token: () => readFileSync(`${dir}/token`, "utf8").trim() };
}

export interface SecretObject {
  metadata: { name: string; namespace: string; resourceVersion?: string; annotations?: Record<string, string> };
  data?: Record<string, string>;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    body: string,
  ) {
    super(`API answered ${status}: ${body.slice(0, 300)}`);
  }
}

function call(
  k: KubeConfig,
  method: string,
  path: string,
  body?: unknown,
  contentType = "application/json",
): Promise<string> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = https.request(
      {
        host: k.host,
        port: k.port,
        method,
        path,
        ca: k.ca,
        timeout: 30_000,
        headers: {
          authorization: `Bearer ${k.token()}`,
          accept: "application/json",
          ...(payload ? { "content-type": contentType, "content-length": Buffer.byteLength(payload) } : {}),
        },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d) => (text += d));
        res.on("end", () =>
          (res.statusCode ?? 0) < 300 ? resolve(text) : reject(new HttpError(res.statusCode ?? 0, text)),
        );
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on("error", reject);
    req.end(payload);
  });
}

const secretsPath = (ns: string) => `/api/v1/namespaces/${encodeURIComponent(ns)}/secrets`;
const selector = (name: string) => `fieldSelector=${encodeURIComponent(`metadata.name=${name}`)}`;

export async function listSecret(
  k: KubeConfig,
  ns: string,
  name: string,
): Promise<{ secret?: SecretObject; resourceVersion: string }> {
  const list = JSON.parse(await call(k, "GET", `${secretsPath(ns)}?${selector(name)}`)) as {
    metadata: { resourceVersion: string };
    items: SecretObject[];
  };
  return { secret: list.items[0], resourceVersion: list.metadata.resourceVersion };
}

export interface WatchEvent {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  object: SecretObject & { code?: number; message?: string };
}

/** One watch request; calls `onEvent` per line until the server ends it. Bounded by timeoutSeconds. */
export function watchSecret(
  k: KubeConfig,
  ns: string,
  name: string,
  resourceVersion: string,
  onEvent: (e: WatchEvent) => void,
): Promise<void> {
  const path = `${secretsPath(ns)}?${selector(name)}&watch=1&allowWatchBookmarks=true&timeoutSeconds=300&resourceVersion=${encodeURIComponent(resourceVersion)}`;
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: k.host,
        port: k.port,
        method: "GET",
        path,
        ca: k.ca,
        headers: { authorization: `Bearer ${k.token()}`, accept: "application/json" },
      },
      (res) => {
        if ((res.statusCode ?? 0) >= 300) {
          let text = "";
          res.on("data", (d) => (text += d));
          res.on("end", () => reject(new HttpError(res.statusCode ?? 0, text)));
          return;
        }
        let buf = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => {
          buf += d;
          for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
            const line = buf.slice(0, i).trim();
            buf = buf.slice(i + 1);
            if (!line) continue;
            try {
              onEvent(JSON.parse(line) as WatchEvent);
            } catch (e) {
              reject(new Error(`bad watch line: ${String(e).slice(0, 200)}`));
              req.destroy();
              return;
            }
          }
        });
        res.on("end", () => resolve());
        res.on("error", reject);
      },
    );
    req.setTimeout(330_000, () => req.destroy(new Error("watch stalled")));
    req.on("error", reject);
    req.end();
  });
}

export async function patchPodAnnotations(
  k: KubeConfig,
  ns: string,
  pod: string,
  annotations: Record<string, string | null>,
): Promise<void> {
  await call(
    k,
    "PATCH",
    `/api/v1/namespaces/${encodeURIComponent(ns)}/pods/${encodeURIComponent(pod)}`,
    { metadata: { annotations } },
    "application/merge-patch+json",
  );
}
