/** Minimal HTTPS client for the local API server (admin client cert) plus a bounded poller. */
import https from "node:https";
import http from "node:http";
import { readFileSync } from "node:fs";
import { APISERVER_URL } from "./config.js";
import { PKI } from "./pki.js";

export interface Reply {
  status: number;
  body: string;
}

let tls: { ca: Buffer; cert: Buffer; key: Buffer } | undefined;
const tlsMaterial = () =>
  (tls ??= { ca: readFileSync(PKI.caCert), cert: readFileSync(PKI.adminCert), key: readFileSync(PKI.adminKey) });

const request = (url: URL, opts: https.RequestOptions, timeoutMs: number) =>
  new Promise<Reply>((resolve, reject) => {
    const mod = url.protocol === "https:" ? https : http;
    const req = mod.request(url, { ...opts, timeout: timeoutMs, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`timeout after ${timeoutMs}ms: ${url}`)));
    req.on("error", reject);
    req.end();
  });

/** GET a path of the API server as the admin user. */
export const apiGet = (path: string, timeoutMs = 3000) =>
  request(new URL(path, APISERVER_URL), { method: "GET", ...tlsMaterial() }, timeoutMs);

/** GET a plain-HTTP URL (etcd's /health on loopback). */
export const httpGet = (url: string, timeoutMs = 2000) => request(new URL(url), { method: "GET" }, timeoutMs);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `probe` until it returns a value other than undefined, for at most timeoutMs.
 * `guard` runs before each attempt and throws to fail fast (e.g. the process being waited on died).
 * On timeout the error names what was awaited and the last probe failure.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  { timeoutMs, intervalMs = 200, guard }: { timeoutMs: number; intervalMs?: number; guard?: () => void },
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = "not ready";
  for (;;) {
    guard?.();
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = (err as Error).message ?? String(err);
    }
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what} (last: ${last})`);
    await sleep(intervalMs);
  }
}
