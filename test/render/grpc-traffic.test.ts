/**
 * gRPC through real HAProxy: a GRPCRoute and an HTTPRoute go through the real engine
 * (`translate`) and renderer, haproxy serves them on loopback, and a real HTTP/2 client
 * (`node:http2`) talks to it:
 *   - HTTP/2 prior knowledge (h2c) and HTTP/1.1 on the same clear-text port;
 *   - HTTP/2 over TLS via ALPN on the HTTPS port;
 *   - gRPC backends (Node HTTP/2 clear-text servers, which speak nothing else) reached over
 *     `proto h2`, with gRPC trailers passed back to the client.
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import type tls from "node:tls";
import type { V1EndpointSlice, V1Service } from "@kubernetes/client-node";
import { translate } from "../../capabilities/engine/index";
import { renderGateway } from "../../capabilities/render/index";
import { CONTROLLER_NAME } from "../../capabilities/dataplane/conventions";
import type { ClusterSnapshot } from "../../capabilities/engine/index";
import type { TLSMode } from "../../capabilities/crd/generated/gateway-v1";
import {
  freePort,
  makeCert,
  request,
  startEcho,
  startHaproxy,
  tempDir,
  writeFiles,
  type Echo,
  type Haproxy,
} from "./harness";

const NS = "apps";
const SERVICE = "gateway_api_conformance.echo_basic.grpcecho.GrpcEcho";

/** What a gRPC backend saw of one call. */
interface GrpcSeen {
  backend: string;
  httpVersion: string;
  path: string;
  authority: string | undefined;
  headers: http2.IncomingHttpHeaders;
}

interface GrpcBackend {
  name: string;
  port: number;
  seen: GrpcSeen[];
  close: () => Promise<void>;
}

/** A gRPC message frame: 1 byte compressed flag, 4 bytes big-endian length, payload. */
function grpcFrame(payload: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

const PREFACE = "PRI * HTTP/2.0";

/**
 * A clear-text server answering like a unary gRPC call, with grpc-status trailers. HTTP/2 only,
 * unless `http1`: then it also answers HTTP/1.1 on the same port (telling them apart by the
 * HTTP/2 preface), as one Service port used by both a GRPCRoute and an HTTPRoute would.
 */
async function startGrpcBackend(name: string, opts: { http1?: boolean } = {}): Promise<GrpcBackend> {
  const seen: GrpcSeen[] = [];
  const sockets = new Set<net.Socket>();
  const onRequest = (
    req: http2.Http2ServerRequest | http.IncomingMessage,
    res: http2.Http2ServerResponse | http.ServerResponse,
  ) => {
    const body: GrpcSeen = {
      backend: name,
      httpVersion: req.httpVersion,
      path: req.url ?? "",
      authority: req.headers[":authority"] as string | undefined,
      headers: req.headers,
    };
    seen.push(body);
    req.resume();
    req.on("end", () => {
      const h2 = req.httpVersion === "2.0";
      res.writeHead(200, { "content-type": h2 ? "application/grpc" : "application/json", "x-backend": name });
      if (h2) res.addTrailers({ "grpc-status": "0", "grpc-message": "OK" });
      const json = Buffer.from(JSON.stringify(body));
      res.end(h2 ? grpcFrame(json) : json);
    });
  };
  const h2server = http2.createServer(onRequest);
  const h1server = http.createServer(onRequest);
  const listen = async (srv: net.Server) => {
    await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", resolve));
    return (srv.address() as net.AddressInfo).port;
  };
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  };
  h2server.on("connection", track);
  h1server.on("connection", track);
  const h2port = await listen(h2server);
  const h1port = opts.http1 ? await listen(h1server) : 0;
  // The front port relays each connection to the HTTP/2 or the HTTP/1.1 server by its first bytes
  // (node:http2 reads a socket below the stream layer, so it cannot be handed one mid-read).
  const front = net.createServer((socket) => {
    track(socket);
    socket.once("data", (first: Buffer) => {
      const isH2 = first.subarray(0, PREFACE.length).toString("latin1") === PREFACE;
      const inner = net.connect(isH2 ? h2port : h1port, "127.0.0.1");
      track(inner);
      inner.write(first);
      socket.pipe(inner).pipe(socket);
      inner.on("error", () => socket.destroy());
      socket.on("error", () => inner.destroy());
    });
  });
  const port = opts.http1 ? await listen(front) : h2port;
  const closeServer = (srv: net.Server) =>
    new Promise<void>((resolve) => (srv.listening ? srv.close(() => resolve()) : resolve()));
  return {
    name,
    port,
    seen,
    close: () =>
      (async () => {
        for (const s of sockets) s.destroy();
        await Promise.all([front, h2server, h1server].map(closeServer));
      })(),
  };
}

interface H2Reply {
  status: number;
  headers: http2.IncomingHttpHeaders;
  trailers: http2.IncomingHttpHeaders;
  body: Buffer;
  /** The JSON a gRPC backend put in its message frame, if a gRPC backend answered. */
  seen?: GrpcSeen;
  /** The JSON an HTTP/1 echo backend answered, if one did. */
  echoBackend?: string;
}

/** One HTTP/2 request on an open session; resolves with what the client sees, bounded in time. */
function h2Request(
  session: http2.ClientHttp2Session,
  path: string,
  o: { authority: string; method?: string; headers?: Record<string, string>; body?: Buffer },
): Promise<H2Reply> {
  return new Promise((resolve, reject) => {
    const req = session.request({
      ":method": o.method ?? "POST",
      ":path": path,
      ":authority": o.authority,
      ...(o.method === "GET" ? {} : { "content-type": "application/grpc", te: "trailers" }),
      ...(o.headers ?? {}),
    });
    req.setTimeout(5000, () => req.close(http2.constants.NGHTTP2_CANCEL));
    let headers: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    req.on("response", (h) => (headers = h));
    req.on("trailers", (t) => (trailers = t));
    req.on("data", (d: Buffer) => chunks.push(d));
    req.on("error", reject);
    req.on("close", () => {
      const body = Buffer.concat(chunks);
      const status = Number(headers[":status"] ?? 0);
      if (status === 0) return reject(new Error(`no response for ${path} (stream closed with code ${req.rstCode})`));
      const reply: H2Reply = { status, headers, trailers, body };
      if (headers["content-type"] === "application/grpc" && body.length >= 5) {
        reply.seen = JSON.parse(body.subarray(5).toString("utf8")) as GrpcSeen;
      } else if (headers["x-echo-backend"]) {
        reply.echoBackend = String(headers["x-echo-backend"]);
      }
      resolve(reply);
    });
    if (o.method === "GET") req.end();
    else req.end(o.body ?? grpcFrame(Buffer.from("ping")));
  });
}

function connect(url: string, options: http2.SecureClientSessionOptions = {}): Promise<http2.ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(url, options);
    const timer = setTimeout(() => session.destroy(new Error(`connect ${url} timed out`)), 5000);
    session.once("connect", () => {
      clearTimeout(timer);
      resolve(session);
    });
    session.once("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

const closeSession = (s: http2.ClientHttp2Session | undefined) =>
  new Promise<void>((resolve) => (s && !s.closed ? s.close(() => resolve()) : resolve()));

// ---- the cluster objects, as a user would write them ----

const service = (name: string, appProtocol?: string): V1Service => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name, namespace: NS },
  spec: {
    ports: [
      { name: "grpc", port: 8080, targetPort: 3000 as never, protocol: "TCP", ...(appProtocol ? { appProtocol } : {}) },
    ],
  },
});

const slice = (svc: string, port: number): V1EndpointSlice => ({
  apiVersion: "discovery.k8s.io/v1",
  kind: "EndpointSlice",
  metadata: { name: `${svc}-x`, namespace: NS, labels: { "kubernetes.io/service-name": svc } },
  addressType: "IPv4",
  ports: [{ name: "grpc", port, protocol: "TCP" }],
  endpoints: [{ addresses: ["127.0.0.1"], conditions: { ready: true } }],
});

function snapshot(
  P: number,
  Q: number,
  ports: Record<string, number>,
  cert: { certPem: string; keyPem: string },
): ClusterSnapshot {
  const meta = (name: string) => ({
    name,
    namespace: NS,
    generation: 1,
    creationTimestamp: "2026-01-01T00:00:00Z" as never,
  });
  return {
    gatewayClasses: [
      {
        apiVersion: "gateway.networking.k8s.io/v1",
        kind: "GatewayClass",
        metadata: { name: "crossway", generation: 1 },
        spec: { controllerName: CONTROLLER_NAME },
      },
    ],
    gateways: [
      {
        apiVersion: "gateway.networking.k8s.io/v1",
        kind: "Gateway",
        metadata: meta("gw"),
        spec: {
          gatewayClassName: "crossway",
          listeners: [
            { name: "http", port: P, protocol: "HTTP" },
            {
              name: "https",
              port: Q,
              protocol: "HTTPS",
              hostname: "grpc.test",
              tls: { mode: "Terminate" as TLSMode, certificateRefs: [{ name: "grpc-cert" }] },
            },
          ],
        },
      },
    ],
    listenerSets: [],
    httpRoutes: [
      {
        apiVersion: "gateway.networking.k8s.io/v1",
        kind: "HTTPRoute",
        metadata: meta("web"),
        spec: {
          parentRefs: [{ name: "gw" }],
          hostnames: ["web.test"],
          rules: [{ backendRefs: [{ name: "web", port: 8080 }] }],
        },
      },
      {
        apiVersion: "gateway.networking.k8s.io/v1",
        kind: "HTTPRoute",
        metadata: meta("both-http"),
        spec: {
          parentRefs: [{ name: "gw" }],
          hostnames: ["both.test"],
          rules: [{ backendRefs: [{ name: "both", port: 8080 }] }],
        },
      },
    ],
    grpcRoutes: [
      {
        apiVersion: "gateway.networking.k8s.io/v1",
        kind: "GRPCRoute",
        metadata: meta("echo"),
        spec: {
          parentRefs: [{ name: "gw" }],
          hostnames: ["grpc.test"],
          rules: [
            {
              matches: [{ method: { service: SERVICE, method: "Echo" } }],
              backendRefs: [{ name: "grpc-v1", port: 8080 }],
            },
            {
              matches: [{ method: { service: SERVICE, method: "EchoTwo" } }],
              backendRefs: [{ name: "grpc-v2", port: 8080 }],
            },
            // a whole service, only with a header
            {
              matches: [{ method: { service: "other.Service" }, headers: [{ name: "version", value: "two" }] }],
              backendRefs: [{ name: "grpc-v2", port: 8080 }],
            },
            // a Service port without appProtocol, also used by an HTTPRoute
            {
              matches: [{ method: { service: SERVICE, method: "EchoBoth" } }],
              backendRefs: [{ name: "both", port: 8080 }],
            },
          ],
        },
      },
    ],
    referenceGrants: [],
    namespaces: [{ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } }],
    // grpc-v1 says nothing about its protocol (a GRPCRoute backend defaults to h2c); grpc-v2 says h2c.
    services: [service("grpc-v1"), service("grpc-v2", "kubernetes.io/h2c"), service("web"), service("both")],
    endpointSlices: [
      slice("grpc-v1", ports["grpc-v1"]),
      slice("grpc-v2", ports["grpc-v2"]),
      slice("web", ports.web),
      slice("both", ports.both),
    ],
    secrets: [
      {
        apiVersion: "v1",
        kind: "Secret",
        type: "kubernetes.io/tls",
        metadata: { name: "grpc-cert", namespace: NS },
        data: {
          "tls.crt": Buffer.from(cert.certPem).toString("base64"),
          "tls.key": Buffer.from(cert.keyPem).toString("base64"),
        },
      },
    ],
  };
}

// ---- the test ----

let P = 0;
let Q = 0;
let haproxy: Haproxy | undefined;
let grpc: Record<string, GrpcBackend> = {};
let web: Echo | undefined;
let ca = "";
let session: http2.ClientHttp2Session | undefined;

beforeAll(async () => {
  grpc = {
    "grpc-v1": await startGrpcBackend("grpc-v1"),
    "grpc-v2": await startGrpcBackend("grpc-v2"),
    both: await startGrpcBackend("both", { http1: true }),
  };
  web = await startEcho("web");
  [P, Q] = [await freePort(), await freePort()];
  const dir = tempDir("crossway-grpc-");
  const cert = makeCert(dir, ["grpc.test"]);
  ca = cert.certPem;
  const snap = snapshot(
    P,
    Q,
    { "grpc-v1": grpc["grpc-v1"].port, "grpc-v2": grpc["grpc-v2"].port, web: web.port, both: grpc.both.port },
    cert,
  );
  const result = translate(snap, { controllerName: CONTROLLER_NAME });
  expect(result.ir).toHaveLength(1);
  const rendered = renderGateway(result.ir[0], { runDir: dir, bindAddress: "127.0.0.1" });
  expect(rendered.warnings).toEqual([]);
  writeFiles(dir, rendered.files);
  haproxy = await startHaproxy(dir, P);
  session = await connect(`http://127.0.0.1:${P}`);
}, 30_000);

afterAll(async () => {
  await closeSession(session);
  await haproxy?.stop();
  for (const b of Object.values(grpc)) await b.close();
  await web?.close();
});

const call = (method: string, o: { authority?: string; headers?: Record<string, string>; service?: string } = {}) =>
  h2Request(session!, `/${o.service ?? SERVICE}/${method}`, {
    authority: o.authority ?? "grpc.test",
    headers: o.headers,
  });

describe("HTTP/2 prior knowledge (h2c) on the clear-text port", () => {
  it("routes gRPC methods to their backends over HTTP/2 and passes the grpc-status trailers back", async () => {
    const one = await call("Echo");
    expect(one.status).toBe(200);
    expect(one.headers["content-type"]).toBe("application/grpc");
    expect(one.seen).toMatchObject({
      backend: "grpc-v1",
      httpVersion: "2.0",
      path: `/${SERVICE}/Echo`,
      authority: "grpc.test",
    });
    expect(one.trailers["grpc-status"]).toBe("0");
    expect(one.trailers["grpc-message"]).toBe("OK");

    const two = await call("EchoTwo");
    expect(two.seen).toMatchObject({ backend: "grpc-v2", httpVersion: "2.0", path: `/${SERVICE}/EchoTwo` });
    expect(two.trailers["grpc-status"]).toBe("0");
  });

  it("passes the request body and metadata (headers) to the backend", async () => {
    const r = await call("Echo", { headers: { "x-request-id": "abc-123" } });
    expect(r.seen?.headers["x-request-id"]).toBe("abc-123");
    expect(r.seen?.headers["content-type"]).toBe("application/grpc");
    expect(r.seen?.headers.te).toBe("trailers");
  });

  it("a method no rule matches gets HTTP 404, which gRPC clients report as Unimplemented", async () => {
    const r = await call("EchoThree");
    expect(r.status).toBe(404);
    expect(r.seen).toBeUndefined();
    expect(grpc["grpc-v1"].seen.some((s) => s.path.endsWith("/EchoThree"))).toBe(false);
  });

  it("a service-wide match with a header needs the header", async () => {
    expect((await call("Anything", { service: "other.Service", headers: { version: "two" } })).seen?.backend).toBe(
      "grpc-v2",
    );
    expect((await call("Anything", { service: "other.Service", headers: { version: "one" } })).status).toBe(404);
    expect((await call("Anything", { service: "other.Service" })).status).toBe(404);
  });

  it("the route's hostname is matched on :authority", async () => {
    expect((await call("Echo", { authority: "elsewhere.test" })).status).toBe(404);
    expect((await call("Echo", { authority: "GRPC.test:80" })).seen?.backend).toBe("grpc-v1");
  });

  it("many concurrent streams on one connection each reach their own backend", async () => {
    const methods = Array.from({ length: 40 }, (_, i) => (i % 2 ? "EchoTwo" : "Echo"));
    const replies = await Promise.all(methods.map((m) => call(m)));
    replies.forEach((r, i) => {
      expect(r.seen?.backend).toBe(i % 2 ? "grpc-v2" : "grpc-v1");
      expect(r.trailers["grpc-status"]).toBe("0");
    });
  });

  it("an HTTP/2 client also reaches an HTTP/1.1 backend of an HTTPRoute", async () => {
    const r = await h2Request(session!, "/page", { authority: "web.test", method: "GET" });
    expect(r.status).toBe(200);
    expect(r.echoBackend).toBe("web");
    expect(web!.seen.at(-1)).toMatchObject({ method: "GET", path: "/page" });
  });
});

describe("one Service port behind a GRPCRoute and an HTTPRoute", () => {
  it("gets HTTP/2 from the GRPCRoute and HTTP/1.1 from the HTTPRoute", async () => {
    const g = await call("EchoBoth");
    expect(g.seen).toMatchObject({ backend: "both", httpVersion: "2.0", path: `/${SERVICE}/EchoBoth` });
    expect(g.trailers["grpc-status"]).toBe("0");
    const h = await request(P, "/page", { host: "both.test" });
    expect(h.status).toBe(200);
    expect(JSON.parse(h.text)).toMatchObject({ backend: "both", httpVersion: "1.1", path: "/page" });
  });
});

describe("HTTP/1.1 on the same port", () => {
  it("still works for HTTPRoutes", async () => {
    const r = await request(P, "/hello", { host: "web.test" });
    expect(r.status).toBe(200);
    expect(r.echo).toMatchObject({ backend: "web", path: "/hello" });
  });
  it("and answers 404 where no route matches", async () => {
    expect((await request(P, "/hello", { host: "nobody.test" })).status).toBe(404);
  });
});

describe("HTTP/2 over TLS (ALPN) on the HTTPS port", () => {
  it("negotiates h2 and routes gRPC calls", async () => {
    const s = await connect(`https://127.0.0.1:${Q}`, { servername: "grpc.test", ca, ALPNProtocols: ["h2"] });
    try {
      expect((s.socket as tls.TLSSocket).alpnProtocol).toBe("h2");
      const r = await h2Request(s, `/${SERVICE}/EchoTwo`, { authority: "grpc.test" });
      expect(r.seen).toMatchObject({ backend: "grpc-v2", httpVersion: "2.0" });
      expect(r.trailers["grpc-status"]).toBe("0");
    } finally {
      await closeSession(s);
    }
  });
  it("HTTP/1.1 clients still get HTTP/1.1 there", async () => {
    const r = await request(Q, `/${SERVICE}/Echo`, {
      host: "grpc.test",
      method: "POST",
      tls: { servername: "grpc.test", ca },
    });
    // an HTTP/1.1 request reaches the gRPC backend over HTTP/2 (HAProxy converts)
    expect(r.status).toBe(200);
    expect(r.headers["x-backend"]).toBe("grpc-v1");
  });
});
