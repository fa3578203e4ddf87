/**
 * Real HAProxy, real HTTP for the CORS filter and rule retries: rendered IR in front of Node
 * backends on 127.0.0.1. The flaky backend fails the first `fail` requests of each `id`
 * (with `code`, a connection reset, or a slow answer) and then answers 200, like the
 * conformance suite's retry simulator.
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import http from "node:http";
import net from "node:net";
import { renderGateway } from "../../capabilities/render/index";
import type { CorsIR, FilterIR } from "../../capabilities/engine/ir";
import { gateway, listener, port, prefix, rule, svc, vhost } from "./ir-builders";
import { freePort, request, startEcho, startHaproxy, tempDir, writeFiles, type Echo, type Haproxy } from "./harness";

interface Flaky {
  port: number;
  /** Attempts seen per id. */
  attempts: Map<string, number>;
  close: () => Promise<void>;
}

async function startFlaky(): Promise<Flaky> {
  const attempts = new Map<string, number>();
  const sockets = new Set<net.Socket>();
  const server = http.createServer((req, res) => {
    const q = new URL(req.url ?? "/", "http://x").searchParams;
    const id = q.get("id") ?? "";
    const n = (attempts.get(id) ?? 0) + 1;
    attempts.set(id, n);
    if (n <= Number(q.get("fail") ?? 0)) {
      const mode = q.get("mode") ?? "code";
      if (mode === "reset") return void req.socket.resetAndDestroy();
      if (mode === "slow") return void setTimeout(() => res.end("late"), 1500).unref();
      res.writeHead(Number(q.get("code") ?? 500));
      return void res.end(`failure ${n}`);
    }
    res.writeHead(200, { "x-attempt": String(n) });
    res.end(`ok after ${n}`);
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    attempts,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

let echo: Echo;
let flaky: Flaky;
let haproxy: Haproxy;
let P = 0;

const cors = (c: Partial<CorsIR>): FilterIR => ({
  type: "CORS",
  cors: {
    allowOrigins: [],
    allowMethods: [],
    allowHeaders: [],
    exposeHeaders: [],
    allowCredentials: false,
    maxAgeSeconds: 5,
    ...c,
  },
});

beforeAll(async () => {
  echo = await startEcho("a");
  flaky = await startFlaky();
  P = await freePort();
  const dir = tempDir("crossway-cors-retry-");
  const a = svc("a", [{ ip: "127.0.0.1", port: echo.port }]);
  const f = svc("flaky", [{ ip: "127.0.0.1", port: flaky.port }]);
  const ir = gateway([
    port(P, [
      listener("any", undefined, [
        vhost("*", [
          rule(
            prefix("/cors-1"),
            [a],
            [
              cors({
                allowOrigins: ["https://www.foo.com", "https://*.bar.com", "http://local.test:8080"],
                allowMethods: ["GET", "OPTIONS"],
                allowHeaders: ["x-header-1", "x-header-2"],
                exposeHeaders: ["x-header-3", "x-header-4"],
                allowCredentials: true,
                maxAgeSeconds: 3600,
              }),
            ],
          ),
          rule(
            prefix("/cors-any"),
            [a],
            [cors({ allowOrigins: ["*"], allowMethods: ["*"], allowHeaders: ["*"], allowCredentials: true })],
          ),
          rule(prefix("/cors-anon"), [a], [cors({ allowOrigins: ["*"], allowMethods: ["PUT"], exposeHeaders: ["*"] })]),
          rule(prefix("/retry/500x3"), [f], [], { retry: { codes: [500], attempts: 3 } }),
          rule(prefix("/retry/all"), [f], [], { retry: { codes: [500, 502, 503, 504], attempts: 2 } }),
          rule(prefix("/retry/conn"), [f], [], { retry: { codes: [], attempts: 2 } }),
          rule(prefix("/retry/timeout"), [f], [], {
            retry: { codes: [], attempts: 1 },
            timeouts: { backendRequestMs: 300 },
          }),
          rule(prefix("/no-retry"), [f]),
        ]),
      ]),
    ]),
  ]);
  const rendered = renderGateway(ir, { runDir: dir, bindAddress: "127.0.0.1" });
  expect(rendered.warnings).toEqual([]);
  writeFiles(dir, rendered.files);
  haproxy = await startHaproxy(dir, P);
}, 30_000);

afterAll(async () => {
  await haproxy?.stop();
  await echo?.close();
  await flaky?.close();
});

const preflight = (path: string, origin: string, method: string, reqHeaders?: string) =>
  request(P, path, {
    method: "OPTIONS",
    headers: {
      origin,
      "access-control-request-method": method,
      ...(reqHeaders ? { "access-control-request-headers": reqHeaders } : {}),
    },
  });

describe("CORS preflight answered by the gateway", () => {
  it("exact origin gets every Access-Control-Allow-* header; the backend never sees it", async () => {
    const before = echo.seen.length;
    const r = await preflight("/cors-1", "https://www.foo.com", "GET", "x-header-1, x-header-2");
    expect(r.status).toBe(204);
    expect(r.headers["access-control-allow-origin"]).toBe("https://www.foo.com");
    expect(r.headers["access-control-allow-methods"]).toBe("GET, OPTIONS");
    expect(r.headers["access-control-allow-headers"]).toBe("x-header-1, x-header-2");
    expect(r.headers["access-control-expose-headers"]).toBe("x-header-3, x-header-4");
    expect(r.headers["access-control-max-age"]).toBe("3600");
    expect(r.headers["access-control-allow-credentials"]).toBe("true");
    expect(echo.seen.length).toBe(before);
  });
  it("wildcard origins match any number of labels, default ports, case-insensitively", async () => {
    for (const o of [
      "https://www.bar.com",
      "https://xpto.www.bar.com",
      "HTTPS://WWW.BAR.COM",
      "https://www.foo.com:443",
      "http://local.test:8080",
    ]) {
      const r = await preflight("/cors-1", o, "GET");
      expect([o, r.headers["access-control-allow-origin"]]).toEqual([o, o]);
    }
  });
  it("non-matching origins get 204 without CORS headers", async () => {
    for (const o of [
      "https://foobar.com",
      "https://bar.com",
      "http://www.foo.com",
      "https://www.foo.com:8443",
      "https://www.foo.com.evil.test",
      "http://local.test",
    ]) {
      const r = await preflight("/cors-1", o, "GET");
      expect([
        o,
        r.status,
        r.headers["access-control-allow-origin"],
        r.headers["access-control-allow-methods"],
      ]).toEqual([o, 204, undefined, undefined]);
    }
  });
  it("wildcards with credentials echo the requested method and headers, never *", async () => {
    const r = await preflight("/cors-any", "https://other.foo.com:12345", "PUT", "x-header-1, x-header-2");
    expect(r.headers["access-control-allow-origin"]).toBe("https://other.foo.com:12345");
    expect(r.headers["access-control-allow-methods"]).toBe("PUT");
    expect(r.headers["access-control-allow-headers"]).toBe("x-header-1, x-header-2");
    expect(r.headers["access-control-allow-credentials"]).toBe("true");
    expect(r.headers["access-control-max-age"]).toBe("5");
    const noHeaders = await preflight("/cors-any", "https://other.foo.com", "DELETE");
    expect(noHeaders.headers["access-control-allow-headers"]).toBeUndefined();
  });
  it("without allowCredentials there is no Access-Control-Allow-Credentials", async () => {
    const r = await preflight("/cors-anon", "https://foobar.com", "PUT");
    expect(r.headers["access-control-allow-origin"]).toBe("https://foobar.com");
    expect(r.headers["access-control-allow-methods"]).toBe("PUT");
    expect(r.headers["access-control-allow-credentials"]).toBeUndefined();
  });
  it("OPTIONS without Access-Control-Request-Method is not a preflight: it reaches the backend", async () => {
    const r = await request(P, "/cors-1", { method: "OPTIONS", headers: { origin: "https://www.foo.com" } });
    expect(r.status).toBe(200);
    expect(r.echo?.method).toBe("OPTIONS");
    expect(r.headers["access-control-allow-origin"]).toBe("https://www.foo.com");
  });
});

describe("CORS on actual requests", () => {
  it("a matching origin gets Allow-Origin, Credentials and Expose-Headers on the backend's answer", async () => {
    const r = await request(P, "/cors-1/x", { headers: { origin: "https://a.bar.com" } });
    expect(r.status).toBe(200);
    expect(r.echo?.backend).toBe("a");
    expect(r.headers["access-control-allow-origin"]).toBe("https://a.bar.com");
    expect(r.headers["access-control-allow-credentials"]).toBe("true");
    expect(r.headers["access-control-expose-headers"]).toBe("x-header-3, x-header-4");
    expect(r.headers["access-control-allow-methods"]).toBeUndefined();
    expect(r.headers["access-control-max-age"]).toBeUndefined();
  });
  it("a non-matching or missing origin gets no CORS headers", async () => {
    for (const headers of [{ origin: "https://foobar.com" }, {}] as Record<string, string>[]) {
      const r = await request(P, "/cors-1", { headers });
      expect(r.status).toBe(200);
      expect(r.headers["access-control-allow-origin"]).toBeUndefined();
      expect(r.headers["access-control-allow-credentials"]).toBeUndefined();
    }
  });
  it("exposeHeaders * without credentials is sent as *", async () => {
    const r = await request(P, "/cors-anon", { method: "PUT", headers: { origin: "https://foobar.com:12345" } });
    expect(r.headers["access-control-allow-origin"]).toBe("https://foobar.com:12345");
    expect(r.headers["access-control-expose-headers"]).toBe("*");
  });
});

let seq = 0;
const attempt = async (path: string, q: Record<string, string | number>) => {
  const id = `t${++seq}`;
  const qs = new URLSearchParams({ id, ...Object.fromEntries(Object.entries(q).map(([k, v]) => [k, String(v)])) });
  const r = await request(P, `${path}?${qs}`, { timeoutMs: 8000 });
  return { status: r.status, tries: flaky.attempts.get(id) ?? 0 };
};

describe("retries", () => {
  it("a listed code is retried up to `attempts` times after the first try", async () => {
    expect(await attempt("/retry/500x3", { fail: 2, code: 500 })).toEqual({ status: 200, tries: 3 });
    expect(await attempt("/retry/500x3", { fail: 3, code: 500 })).toEqual({ status: 200, tries: 4 });
    expect(await attempt("/retry/500x3", { fail: 4, code: 500 })).toEqual({ status: 500, tries: 4 });
  });
  it("an unlisted code is not retried", async () => {
    expect(await attempt("/retry/500x3", { fail: 2, code: 503 })).toEqual({ status: 503, tries: 1 });
  });
  it("each of 500/502/503/504 is retried; the last failure is what the client sees", async () => {
    for (const code of [500, 502, 503, 504]) {
      expect(await attempt("/retry/all", { fail: 1, code })).toEqual({ status: 200, tries: 2 });
      expect(await attempt("/retry/all", { fail: 3, code })).toEqual({ status: code, tries: 3 });
    }
  });
  it("a connection reset before any response is retried", async () => {
    expect(await attempt("/retry/conn", { fail: 2, mode: "reset" })).toEqual({ status: 200, tries: 3 });
    const out = await attempt("/retry/conn", { fail: 5, mode: "reset" });
    expect(out.tries).toBe(3);
    expect(out.status).toBeGreaterThanOrEqual(500);
  });
  it("with a backendRequest timeout, a timed-out attempt is retried", async () => {
    expect(await attempt("/retry/timeout", { fail: 1, mode: "slow" })).toEqual({ status: 200, tries: 2 });
    expect(await attempt("/retry/timeout", { fail: 2, mode: "slow" })).toEqual({ status: 504, tries: 2 });
  });
  it("a rule without retry does not retry other rules' codes", async () => {
    expect(await attempt("/no-retry", { fail: 1, code: 500 })).toEqual({ status: 500, tries: 1 });
  });
});
