/**
 * An in-process client for the local API server: the admin client cert over keep-alive HTTPS.
 * For callers that time API writes, where a kubectl process start (~150 ms) would swamp what is
 * measured, and for creating thousands of objects without a process each.
 */
import https from "node:https";
import { readFileSync } from "node:fs";
import { APISERVER_URL } from "../cluster/config.js";
import { PKI } from "../cluster/pki.js";

export interface ApiReply {
  status: number;
  body: string;
}

let agent: https.Agent | undefined;
const tls = () =>
  (agent ??= new https.Agent({
    keepAlive: true,
    maxSockets: 16,
    ca: readFileSync(PKI.caCert),
    cert: readFileSync(PKI.adminCert),
    key: readFileSync(PKI.adminKey),
  }));

/** Closes the kept-alive connections (the process can exit). */
export const closeApi = () => (agent?.destroy(), (agent = undefined));

export function api(
  method: string,
  path: string,
  body?: unknown,
  contentType = "application/json",
  timeoutMs = 30_000,
): Promise<ApiReply> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = https.request(
      new URL(path, APISERVER_URL),
      {
        method,
        agent: tls(),
        timeout: timeoutMs,
        headers: data ? { "content-type": contentType, "content-length": Buffer.byteLength(data) } : {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${method} ${path}: no answer in ${timeoutMs}ms`)));
    req.on("error", reject);
    req.end(data);
  });
}

/** `api`, parsed; an answer outside 2xx (404 too, unless allowed) throws with the server's message. */
export async function apiJson<T = unknown>(method: string, path: string, body?: unknown, contentType?: string) {
  const r = await api(method, path, body, contentType);
  if (r.status >= 300) throw new Error(`${method} ${path}: HTTP ${r.status} ${r.body.slice(0, 300)}`);
  return JSON.parse(r.body) as T;
}

interface Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
}

/** The collection path of a kind (plural = lower-case kind + s/es: true for the kinds hack/ uses). */
export function collectionPath(apiVersion: string, kind: string, namespace?: string): string {
  const base = apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  const k = kind.toLowerCase();
  const plural = k.endsWith("s") ? `${k}es` : `${k}s`;
  return `${base}${namespace ? `/namespaces/${namespace}` : ""}/${plural}`;
}

export const objectPath = (o: Obj) =>
  `${collectionPath(o.apiVersion, o.kind, o.metadata.namespace)}/${o.metadata.name}`;

/** Server-side apply (creates or updates), as field manager `manager`. */
export const apply = (o: Obj, manager = "crossway-hack") =>
  apiJson("PATCH", `${objectPath(o)}?fieldManager=${manager}&force=true`, o, "application/apply-patch+yaml");

/** Runs `fn` over `items` with at most `concurrency` at once; the first failure rejects. */
export async function inPool<T>(items: T[], concurrency: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

export interface WatchEvent {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  object: { metadata?: { name?: string; namespace?: string; resourceVersion?: string; generation?: number } };
}

/**
 * Watches `path` (a collection, with its query) from `resourceVersion` until stop() or the
 * server's timeoutSeconds; events in order. Not resumed: a caller that needs every event checks
 * `ended` (a watch that ended early says why).
 */
export function watch(path: string, resourceVersion: string, timeoutSeconds: number, onEvent: (e: WatchEvent) => void) {
  const sep = path.includes("?") ? "&" : "?";
  const url = new URL(
    `${path}${sep}watch=true&resourceVersion=${resourceVersion}&timeoutSeconds=${timeoutSeconds}`,
    APISERVER_URL,
  );
  let ended: string | undefined;
  let stopped = false;
  const req = https.request(url, { method: "GET", agent: tls() }, (res) => {
    let buf = "";
    res.setEncoding("utf8");
    res.on("data", (chunk: string) => {
      buf += chunk;
      for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.trim()) onEvent(JSON.parse(line) as WatchEvent);
      }
    });
    res.on("end", () => (ended ??= stopped ? undefined : `watch ended (HTTP ${res.statusCode})`));
    res.on("error", () => undefined);
  });
  req.on("error", (e) => (ended ??= stopped ? undefined : `watch failed: ${e.message}`));
  req.end();
  return {
    stop: () => ((stopped = true), req.destroy()),
    /** Why the watch ended before stop(), if it did. */
    ended: () => ended,
  };
}
