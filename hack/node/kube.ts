/**
 * A small Kubernetes API client: JSON requests plus list+watch informers. TLS material comes from
 * the kubeconfig via @kubernetes/client-node's KubeConfig (real CA, client cert or token).
 * Failed requests throw ApiError with the HTTP status and the server's Status body.
 */
import https from "node:https";
import { KubeConfig } from "@kubernetes/client-node";

export class ApiError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    readonly body: unknown,
  ) {
    const reason = (body as { message?: string } | undefined)?.message ?? JSON.stringify(body);
    super(`${method} ${path}: HTTP ${status}: ${reason}`);
  }
}

export const isStatus = (err: unknown, status: number) => err instanceof ApiError && err.status === status;

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    deletionTimestamp?: string;
    deletionGracePeriodSeconds?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [k: string]: unknown;
  };
  [k: string]: unknown;
}

export type ContentType = "json" | "merge" | "apply";
const CONTENT_TYPES: Record<ContentType, string> = {
  json: "application/json",
  merge: "application/merge-patch+json",
  apply: "application/apply-patch+yaml",
};

export class Kube {
  private constructor(
    private readonly base: URL,
    private readonly opts: https.RequestOptions,
  ) {}

  static async fromFile(path: string): Promise<Kube> {
    const kc = new KubeConfig();
    kc.loadFromFile(path);
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error(`kubeconfig ${path} has no current cluster`);
    const opts: https.RequestOptions = {};
    await kc.applyToHTTPSOptions(opts);
    opts.agent = new https.Agent({ keepAlive: true, ca: opts.ca, cert: opts.cert, key: opts.key, maxSockets: 16 });
    return new Kube(new URL(cluster.server), opts);
  }

  /** The API server's URL, e.g. https://127.0.0.1:6443. */
  get server(): URL {
    return this.base;
  }

  private start(
    method: string,
    path: string,
    contentType: ContentType,
    timeoutMs: number,
    payload?: string,
    fresh = false,
  ) {
    const url = new URL(path, this.base);
    const headers: Record<string, string | number> = {
      ...(this.opts.headers as Record<string, string>),
      Accept: "application/json",
    };
    if (payload !== undefined) {
      headers["Content-Type"] = CONTENT_TYPES[contentType];
      headers["Content-Length"] = Buffer.byteLength(payload);
    }
    return https.request(url, {
      ...this.opts,
      ...(fresh ? { agent: false } : {}),
      method,
      timeout: timeoutMs,
      headers,
    });
  }

  /**
   * One JSON request; 2xx resolves with the parsed body, anything else rejects with ApiError.
   * A request the server rejected before reading it (a reset or a transport-level 400 on a reused
   * keep-alive connection) is sent once more on a fresh connection.
   */
  async request<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    contentType: ContentType = "json",
  ): Promise<T> {
    const payload = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
    try {
      return await this.once<T>(method, path, payload, contentType);
    } catch (err) {
      const transport =
        (err instanceof ApiError && err.status === 400 && typeof err.body === "string") ||
        (err as NodeJS.ErrnoException).code === "ECONNRESET";
      if (!transport) throw err;
      return this.once<T>(method, path, payload, contentType, true);
    }
  }

  private once<T>(
    method: string,
    path: string,
    payload: string | undefined,
    contentType: ContentType,
    fresh = false,
  ): Promise<T> {
    return new Promise((resolve, reject) => {
      const req = this.start(method, path, contentType, 30_000, payload, fresh);
      req.on("timeout", () => req.destroy(new Error(`${method} ${path}: timed out after 30s`)));
      // the socket timeout only runs once a socket is assigned and only while it is idle: this
      // bounds the whole request, including the wait for a free socket and a trickling answer
      const deadline = setTimeout(
        () => req.destroy(new Error(`${method} ${path}: no complete answer within 30s`)),
        30_000,
      );
      const settle =
        <A extends unknown[]>(f: (...a: A) => void) =>
        (...a: A) => {
          clearTimeout(deadline);
          f(...a);
        };
      resolve = settle(resolve);
      reject = settle(reject);
      req.on("error", reject);
      req.on("response", (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let parsed: unknown = text;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            /* keep the raw text */
          }
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) resolve(parsed as T);
          else reject(new ApiError(method, path, status, parsed));
        });
      });
      req.end(payload);
    });
  }

  /**
   * Streams watch events until the server closes the stream, the signal aborts or an error occurs.
   * Resolves normally on a clean end; rejects with ApiError (e.g. 410 Gone) or a network error.
   */
  watchStream(path: string, onEvent: (type: string, obj: KubeObject) => void, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const req = this.start("GET", path, "json", 0);
      const abort = () => req.destroy();
      signal.addEventListener("abort", abort, { once: true });
      const done = (err?: unknown) => {
        signal.removeEventListener("abort", abort);
        if (err && !signal.aborted) reject(err);
        else resolve();
      };
      req.on("error", done);
      req.on("response", (res) => {
        const status = res.statusCode ?? 0;
        if (status !== 200) {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => done(new ApiError("GET", path, status, Buffer.concat(chunks).toString("utf8"))));
          return;
        }
        let buf = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          buf += chunk;
          let nl: number;
          while ((nl = buf.indexOf("\n")) >= 0) {
            const line = buf.slice(0, nl).trim();
            buf = buf.slice(nl + 1);
            if (!line) continue;
            let ev: { type: string; object: KubeObject };
            try {
              ev = JSON.parse(line) as typeof ev;
            } catch {
              res.destroy();
              done(new Error(`watch ${path}: undecodable event line: ${line.slice(0, 200)}`));
              return;
            }
            if (ev.type === "ERROR") {
              const st = ev.object as unknown as { code?: number };
              res.destroy();
              done(new ApiError("WATCH", path, st.code ?? 500, ev.object));
              return;
            }
            onEvent(ev.type, ev.object);
          }
        });
        res.on("end", () => done());
        res.on("error", done);
      });
      req.end();
    });
  }
}
