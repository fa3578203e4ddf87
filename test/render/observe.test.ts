/**
 * Day-2 visibility through a real HAProxy: the Prometheus exporter and /healthz on the health
 * port, one JSON access-log line per request on stdout (also for hostile route names, paths and
 * a request HAProxy refuses), and X-Forwarded-For / X-Forwarded-Proto as the backends see them.
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import net from "node:net";
import { renderGateway } from "../../capabilities/render/index";
import { HEALTH_PATH, HEALTH_PORT, METRICS_PATH } from "../../capabilities/dataplane/conventions";
import { gateway, listener, port, prefix, rule, svc, vhost } from "./ir-builders";
import {
  freePort,
  request,
  sleep,
  startEcho,
  startHaproxy,
  tempDir,
  writeFiles,
  type Echo,
  type Haproxy,
} from "./harness";

// Own loopback address: other suites' haproxies bind HEALTH_PORT too (SO_REUSEPORT would share it).
const ADDR = `127.0.1.${1 + (process.pid % 250)}`;
/** The client's own address, so X-Forwarded-For can be told from HAProxy's. */
const CLIENT = "127.0.0.77";
const HOSTILE_ROUTE = `evil","status":1,"x":"%[src]'\\`;
const HOSTILE_NS = `ns"\\ %{+Q}o`;
const HOSTILE_GW = `gw'%[src]"\\`;

let echo: Echo;
let haproxy: Haproxy;
let P = 0;

beforeAll(async () => {
  echo = await startEcho("a");
  P = await freePort();
  const a = () => svc("a", [{ ip: "127.0.0.1", port: echo.port }]);
  const ir = gateway([
    port(P, [
      listener("any", undefined, [
        vhost("obs.test", [
          rule(prefix("/app"), [a()], [], {
            route: { kind: "HTTPRoute", namespace: "team-a", name: "web" },
            ruleIndex: 2,
            ruleName: "api",
          }),
          rule(prefix("/evil"), [a()], [], {
            route: { kind: "HTTPRoute", namespace: HOSTILE_NS, name: HOSTILE_ROUTE },
          }),
          // a rule with a filter has its own backend; the log still names the Service behind it
          rule(
            prefix("/filtered"),
            [a()],
            [
              {
                type: "RequestHeaderModifier",
                modifier: { set: [{ name: "X-Filtered", value: "1" }], add: [], remove: [] },
              },
            ],
          ),
        ]),
      ]),
    ]),
  ]);
  ir.gateway = { namespace: "infra", name: HOSTILE_GW };
  const dir = tempDir("crossway-observe-");
  const rendered = renderGateway(ir, { runDir: dir, bindAddress: ADDR });
  expect(rendered.warnings).toEqual([]);
  writeFiles(dir, rendered.files);
  haproxy = await startHaproxy(dir, P, ADDR);
});

afterAll(async () => {
  await haproxy?.stop();
  await echo?.close();
});

const get = (path: string, o: Parameters<typeof request>[2] = {}) =>
  request(P, path, { address: ADDR, localAddress: CLIENT, host: "obs.test", ...o });

type LogLine = Record<string, unknown>;

/** Every access-log line so far (HAProxy's stdout), each parsed as JSON: a line that is not fails the test. */
function logLines(): LogLine[] {
  return haproxy
    .output()
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => {
      try {
        return JSON.parse(l) as LogLine;
      } catch {
        throw new Error(`access log line is not JSON: ${l}`);
      }
    });
}

/** The log line matching `pred`, once HAProxy has written it (it logs when the response ends). */
async function logLine(pred: (l: LogLine) => boolean): Promise<LogLine> {
  for (let i = 0; i < 40; i++) {
    const hit = logLines().find(pred);
    if (hit) return hit;
    await sleep(50);
  }
  throw new Error(`no such access log line in:\n${haproxy.output()}`);
}

describe("access log", () => {
  it("writes one JSON object per request naming the route, rule, Service and endpoint", async () => {
    const r = await get("/app/items?token=secret", { method: "POST" });
    expect(r.status).toBe(200);
    const line = await logLine((l) => l.path === "/app/items");
    expect(line).toEqual({
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      gateway: `infra/${HOSTILE_GW}`,
      port: P,
      client: CLIENT,
      client_port: expect.any(Number),
      method: "POST",
      host: "obs.test",
      path: "/app/items", // the query string is left out: it may carry credentials
      status: 200,
      bytes_in: expect.any(Number),
      bytes_out: expect.any(Number),
      duration_ms: expect.any(Number),
      upstream_ms: expect.any(Number),
      termination: "--",
      proxy: "svc_default_a_80",
      endpoint: `127.0.0.1:${echo.port}`,
      backend: "default/a:80",
      route: "team-a/web",
      rule: 2,
      rule_name: "api",
      kind: "HTTPRoute",
    });
    expect(line.bytes_out as number).toBeGreaterThan(0);
  });

  it("names the Service behind a rule's own backend", async () => {
    expect((await get("/filtered")).echo?.headers["x-filtered"]).toBe("1");
    const line = await logLine((l) => l.path === "/filtered");
    expect(line).toMatchObject({
      status: 200,
      backend: "default/a:80",
      route: expect.stringMatching(/^default\/r\d+$/),
    });
    expect(line.proxy).toMatch(/^rule_/);
  });

  it("keeps hostile route names, namespaces and paths inside their JSON strings", async () => {
    const path = `/evil/"},"status":999,"x":"%[src]%{+Q}o'\\`;
    const r = await get(path, { headers: { "user-agent": `"}%[src]` } });
    expect(r.status).toBe(200);
    const line = await logLine((l) => typeof l.path === "string" && l.path.startsWith("/evil"));
    expect(line.path).toBe(path);
    expect(line.route).toBe(`${HOSTILE_NS}/${HOSTILE_ROUTE}`);
    expect(line.status).toBe(200);
    expect(line.kind).toBe("HTTPRoute");
    expect(line).not.toHaveProperty("x");
  });

  it('says route "-" when no route matched', async () => {
    expect((await get("/nowhere")).status).toBe(404);
    const line = await logLine((l) => l.path === "/nowhere");
    expect(line).toMatchObject({ status: 404, route: "-", backend: "-", proxy: "be_404", upstream_ms: -1 });
  });

  it("stays JSON for a request HAProxy refuses before any route is chosen", async () => {
    const before = logLines().length;
    const reply = await new Promise<string>((resolve, reject) => {
      const s = net.connect({ host: ADDR, port: P, localAddress: CLIENT });
      let out = "";
      s.on("data", (d) => (out += d));
      s.on("end", () => resolve(out));
      s.on("error", reject);
      s.write("GET /bad\u0001path HTTP/1.1\r\nHost: obs.test\r\n\r\n");
    });
    expect(reply).toMatch(/^HTTP\/1\.1 400/);
    const line = await logLine((l) => l.status === 400);
    expect(logLines().length).toBe(before + 1);
    expect(line).toMatchObject({ client: CLIENT, route: "-", backend: "-", method: "-" });
  });
});

describe("forwarding headers", () => {
  it("tells the backend the client's address and the scheme, whatever the client claimed", async () => {
    const r = await get("/app/xff", {
      headers: { "X-Forwarded-For": "6.6.6.6", "X-Forwarded-Proto": "https", Forwarded: "for=6.6.6.6;proto=https" },
    });
    expect(r.echo?.headers["x-forwarded-for"]).toBe(CLIENT);
    expect(r.echo?.headers["x-forwarded-proto"]).toBe("http");
    expect(r.echo?.headers.forwarded).toBeUndefined();
  });
});

describe("health port", () => {
  const health = (path: string) =>
    request(HEALTH_PORT, path, { address: ADDR, localAddress: CLIENT }).then((r) => ({
      status: r.status,
      text: r.text,
    }));

  it("still answers /healthz", async () => {
    expect((await health(HEALTH_PATH)).status).toBe(200);
    expect((await health("/other")).status).toBe(503);
  });

  it("serves Prometheus metrics with per-frontend and per-backend series, spare server slots left out", async () => {
    await get("/app/metrics-probe");
    await logLine((l) => l.path === "/app/metrics-probe");
    const outputBefore = haproxy.output();
    const m = await health(METRICS_PATH);
    expect(m.status).toBe(200);
    expect(m.text).toMatch(/^haproxy_process_/m);
    expect(m.text).toMatch(new RegExp(`^haproxy_frontend_http_requests_total\\{proxy="fe_${P}"\\} [1-9]`, "m"));
    expect(m.text).toMatch(/^haproxy_backend_http_responses_total\{proxy="svc_default_a_80",code="2xx"\} [1-9]/m);
    expect(m.text).toMatch(/^haproxy_backend_http_responses_total\{proxy="be_404",code="4xx"\} [1-9]/m);
    expect(m.text).toMatch(/^haproxy_server_status\{proxy="svc_default_a_80",server="s1",state="UP"\} 1/m);
    // s2..s4 are disabled spare slots (no endpoint): by default not exported; asked for, they are
    expect(m.text).not.toContain('server="s2"');
    expect((await health(`${METRICS_PATH}?scope=server`)).text).toContain('proxy="svc_default_a_80",server="s2"');
    // the health frontend logs nothing (the readiness probe asks every 2 s)
    await health(HEALTH_PATH);
    await sleep(200);
    expect(haproxy.output()).toBe(outputBefore);
  });

  it("is not served on a listener port", async () => {
    const r = await get(METRICS_PATH);
    expect(r.status).toBe(404);
    expect(r.text).not.toContain("haproxy_");
  });
});
