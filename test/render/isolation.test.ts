/**
 * Tenant isolation on a real HAProxy: CRD-valid routes that once made HAProxy reject the whole
 * config, or let requests fall through to another route, are now rendered so that HAProxy takes
 * the config and each request goes exactly where the spec says (or answers 500 / 404).
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { translate } from "../../capabilities/engine";
import { renderGateway } from "../../capabilities/render/index";
import { MAX_LINE_WORDS, wordCount } from "../../capabilities/render/quote";
import { CONTROLLER_NAME } from "../../capabilities/dataplane/conventions";
import type { GatewayIR } from "../../capabilities/engine/ir";
import { gateway, listener, match, port, prefix, rule, svc, vhost } from "./ir-builders";
import { freePort, request, startEcho, startHaproxy, tempDir, writeFiles, type Echo, type Haproxy } from "./harness";
import { emptySnapshot } from "../engine/fixtures";

const haproxyCheck = (files: Record<string, string>): string => {
  const dir = tempDir("crossway-isolation-check-");
  writeFiles(dir, files);
  try {
    execFileSync("haproxy", ["-c", "-C", dir, "-f", join(dir, "haproxy.cfg")], { stdio: "pipe" });
    return "valid";
  } catch (e) {
    const err = e as { stdout?: Buffer; stderr?: Buffer };
    return `${err.stdout ?? ""}${err.stderr ?? ""}`;
  }
};

const longestLine = (cfg: string) => Math.max(...cfg.split("\n").map(wordCount));

describe("word limit", () => {
  it("a match with 16 header and 16 query matches (the CRD maxima) renders lines HAProxy takes", () => {
    const headers = Array.from({ length: 16 }, (_, i) => ({
      type: "RegularExpression" as const,
      name: `x-h${i}`,
      value: `v${i}[0-9]+`,
    }));
    const queryParams = Array.from({ length: 16 }, (_, i) => ({
      type: "Exact" as const,
      name: `q${i}`,
      value: `${i}`,
    }));
    const ep = [{ ip: "127.0.0.1", port: 9 }];
    const out = renderGateway(
      gateway([
        port(80, [
          listener("http", undefined, [
            vhost("*", [
              rule(
                match({ path: { type: "RegularExpression", value: "/a/.*" }, method: "GET", headers, queryParams }),
                [svc("a", ep)],
              ),
              rule(prefix("/"), [svc("b", ep)]),
            ]),
          ]),
        ]),
      ]),
    );
    expect(out.warnings).toEqual([]);
    expect(longestLine(out.files["haproxy.cfg"])).toBeLessThanOrEqual(MAX_LINE_WORDS);
    expect(haproxyCheck(out.files)).toBe("valid");
  });
});

describe("on the wire", () => {
  const echoes: Record<string, Echo> = {};
  let haproxy: Haproxy;
  let P = 0;
  let F = 0;

  beforeAll(async () => {
    for (const n of ["tenant-a", "public", "wild"]) echoes[n] = await startEcho(n);
    [P, F] = [await freePort(), await freePort()];
    const ep = (n: string) => [{ ip: "127.0.0.1", port: echoes[n].port }];
    // The route: one match with 7 header matches and 2 query-param matches.
    const headers = Array.from({ length: 7 }, (_, i) => ({
      type: "Exact" as const,
      name: `x-team-${i}`,
      value: `t${i}`,
    }));
    const queryParams = [
      { type: "Exact" as const, name: "env", value: "prod" },
      { type: "RegularExpression" as const, name: "v", value: "[0-9]+" },
    ];
    const ir: GatewayIR = gateway([
      port(P, [
        listener("wild", "*.example.com", [vhost("*.example.com", [rule(prefix("/"), [svc("wild", ep("wild"))])])]),
        // secret.example.com's listener is invalid (say, its certificate is missing): it keeps its slot.
        { id: "infra/gw/secret", hostname: "secret.example.com", closed: true, virtualHosts: [] },
        listener("any", undefined, [
          vhost("*", [
            rule(match({ path: { type: "PathPrefix", value: "/api" }, headers, queryParams }), [
              svc("tenant-a", ep("tenant-a")),
            ]),
            rule(prefix("/"), [svc("public", ep("public"))]),
          ]),
        ]),
      ]),
    ]);
    // The fail-closed case goes through the engine (a rule with a filter crossway cannot apply),
    // on its own port of the same config.
    ir.ports.push(...engineIR(F, echoes.public.port).ports);
    const dir = tempDir("crossway-isolation-");
    const out = renderGateway(ir, { bindAddress: "127.0.0.1", runDir: dir });
    expect(out.warnings).toEqual([]);
    writeFiles(dir, out.files);
    haproxy = await startHaproxy(dir, P);
  }, 30_000);

  afterAll(async () => {
    await haproxy?.stop();
    for (const e of Object.values(echoes)) await e.close();
  });

  const allHeaders = Object.fromEntries(Array.from({ length: 7 }, (_, i) => [`x-team-${i}`, `t${i}`]));

  it("the 7-header, 2-query match routes to its backend only when every term holds", async () => {
    const hit = await request(P, "/api/x?env=prod&v=42", { headers: allHeaders });
    expect(hit.echo?.backend).toBe("tenant-a");
    const oneWrong = await request(P, "/api/x?env=prod&v=42", { headers: { ...allHeaders, "x-team-6": "nope" } });
    expect(oneWrong.echo?.backend).toBe("public");
    const queryWrong = await request(P, "/api/x?env=dev&v=42", { headers: allHeaders });
    expect(queryWrong.echo?.backend).toBe("public");
  });

  it("an invalid listener's hostname answers 404 instead of falling to the wildcard listener", async () => {
    expect((await request(P, "/", { host: "secret.example.com" })).status).toBe(404);
    expect((await request(P, "/", { host: "other.example.com" })).echo?.backend).toBe("wild");
  });

  it("a rule whose filter cannot be applied answers 500 for its matches; other rules still serve", async () => {
    const admin = await request(F, "/admin/users");
    expect(admin.status).toBe(500);
    expect(echoes.public.seen.some((s) => s.path.startsWith("/admin"))).toBe(false);
    expect((await request(F, "/shop")).echo?.backend).toBe("public");
  });

  it("a % in CORS header lists is written as a literal %, and HAProxy takes the config", async () => {
    const out = renderGateway(
      gateway([
        port(P, [
          listener("any", undefined, [
            vhost("*", [
              rule(
                prefix("/"),
                [svc("public", [{ ip: "127.0.0.1", port: 9 }])],
                [
                  {
                    type: "CORS",
                    cors: {
                      allowOrigins: ["*"],
                      allowMethods: ["GET"],
                      allowHeaders: ["x-100%", "x-%src"],
                      exposeHeaders: ["x-%date"],
                      allowCredentials: false,
                      maxAgeSeconds: 5,
                    },
                  },
                ],
              ),
            ]),
          ]),
        ]),
      ]),
    );
    expect(haproxyCheck(out.files)).toBe("valid");
    expect(out.files["haproxy.cfg"]).toContain('"x-100%%, x-%%src"');
  });
});

/** Engine IR for port `p`: a public `/` route and an admin route whose ExtensionRef filter is unsupported. */
function engineIR(p: number, publicPort: number): GatewayIR {
  const s = emptySnapshot();
  s.gatewayClasses.push({
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "GatewayClass",
    metadata: { name: "crossway" },
    spec: { controllerName: CONTROLLER_NAME },
  } as never);
  s.gateways.push({
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "Gateway",
    metadata: { name: "gw", namespace: "infra", generation: 1 },
    spec: {
      gatewayClassName: "crossway",
      listeners: [{ name: "http", port: p, protocol: "HTTP", allowedRoutes: { namespaces: { from: "All" } } }],
    },
  } as never);
  s.namespaces.push(
    ...(["infra", "team"].map((name) => ({ apiVersion: "v1", kind: "Namespace", metadata: { name } })) as never[]),
  );
  s.services.push({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "web", namespace: "team" },
    spec: { ports: [{ port: 80 }] },
  } as never);
  s.endpointSlices.push({
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { name: "web-1", namespace: "team", labels: { "kubernetes.io/service-name": "web" } },
    addressType: "IPv4",
    ports: [{ port: publicPort }],
    endpoints: [{ addresses: ["127.0.0.1"], conditions: { ready: true } }],
  } as never);
  const route = (name: string, rule: Record<string, unknown>) => ({
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: { name, namespace: "team", generation: 1, creationTimestamp: "2026-01-01T00:00:00Z" },
    spec: { parentRefs: [{ name: "gw", namespace: "infra" }], rules: [rule] },
  });
  s.httpRoutes.push(
    route("public", { backendRefs: [{ name: "web", port: 80 }] }) as never,
    route("admin", {
      matches: [{ path: { type: "PathPrefix", value: "/admin" } }],
      filters: [{ type: "ExtensionRef", extensionRef: { group: "example.com", kind: "Auth", name: "sso" } }],
      backendRefs: [{ name: "web", port: 80 }],
    }) as never,
  );
  const result = translate(s, { controllerName: CONTROLLER_NAME });
  const admin = result.statuses.find((st) => st.name === "admin")!;
  const accepted = (admin.status as { parents: { conditions: { type: string; status: string; message: string }[] }[] })
    .parents[0].conditions[0];
  expect(accepted).toMatchObject({ type: "Accepted", status: "False" });
  expect(accepted.message).toContain("answer HTTP 500");
  return result.ir[0];
}
