/**
 * Real HAProxy, real HTTP: render hand-written IR pointing at Node echo backends on 127.0.0.1,
 * run haproxy on loopback ports and check what a client sees.
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { renderGateway } from "../../capabilities/render/index";
import { exact, gateway, invalid, listener, match, port, prefix, regex, rule, svc, vhost } from "./ir-builders";
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

const echoes: Record<string, Echo> = {};
let haproxy: Haproxy;
let P = 0; // HTTP port
let Q = 0; // HTTPS port
let R = 0; // HTTP port with exact hostnames only (path maps keyed by the Host itself)
let certs: Record<string, { certPem: string; keyPem: string }> = {};
const ep = (name: string) => [{ ip: "127.0.0.1", port: echoes[name].port }];
const s = (name: string, weight = 1) => svc(name, ep(name), weight);

beforeAll(async () => {
  for (const n of ["a", "b", "c", "d", "apples", "bananas", "mirror"]) echoes[n] = await startEcho(n);
  echoes.slow = await startEcho("slow", { delayMs: 1500 });
  [P, Q, R] = [await freePort(), await freePort(), await freePort()];
  const dir = tempDir("crossway-traffic-");
  certs = { secure: makeCert(dir, ["secure.test"]), wild: makeCert(dir, ["*.wild.test"]) };
  const hdr = {
    set: [{ name: "X-Set", value: "v1 100%" }],
    add: [{ name: "X-Add", value: "a2" }],
    remove: ["X-Remove"],
  };
  const ir = gateway([
    port(P, [
      listener("exact", "exact.example.com", [vhost("exact.example.com", [rule(prefix("/"), [s("c")])])]),
      listener("wild", "*.example.com", [
        vhost("foo.example.com", [rule(prefix("/only-foo"), [s("a")])]),
        vhost("*.example.com", [rule(prefix("/"), [s("b")])]),
      ]),
      listener("any", undefined, [
        vhost("filters.test", [
          rule(
            prefix("/hdr"),
            [s("a")],
            [
              { type: "RequestHeaderModifier", modifier: hdr },
              {
                type: "ResponseHeaderModifier",
                modifier: { set: [{ name: "X-Resp", value: "r1" }], add: [], remove: ["X-Echo-Drop"] },
              },
            ],
          ),
          rule(
            prefix("/redirect"),
            [],
            [{ type: "RequestRedirect", scheme: "https", hostname: "other.test", statusCode: 301 }],
          ),
          rule(
            prefix("/redir-prefix"),
            [],
            [{ type: "RequestRedirect", path: { type: "ReplacePrefixMatch", value: "/new" }, statusCode: 302 }],
          ),
          rule(
            prefix("/redir-port"),
            [],
            [
              {
                type: "RequestRedirect",
                port: 8443,
                path: { type: "ReplaceFullPath", value: "/full" },
                statusCode: 307,
              },
            ],
          ),
          rule(
            prefix("/rewrite"),
            [s("a")],
            [{ type: "URLRewrite", hostname: "rewritten.test", path: { type: "ReplacePrefixMatch", value: "/v2" } }],
          ),
          rule(prefix("/strip"), [s("a")], [{ type: "URLRewrite", path: { type: "ReplacePrefixMatch", value: "/" } }]),
          rule(
            exact("/full"),
            [s("a")],
            [{ type: "URLRewrite", path: { type: "ReplaceFullPath", value: "/replaced" } }],
          ),
          rule(prefix("/slow"), [svc("slow", ep("slow"))], [], { timeouts: { requestMs: 300 } }),
          rule(
            prefix("/mirrored"),
            [s("a")],
            [
              {
                type: "RequestHeaderModifier",
                modifier: { set: [{ name: "X-Before-Mirror", value: "yes" }], add: [], remove: [] },
              },
              { type: "RequestMirror", backend: s("mirror"), percent: 100 },
              { type: "RequestMirror", backend: s("d"), percent: 100 },
            ],
          ),
          rule(prefix("/ref-filter"), [
            svc("b", ep("b"), 1, [
              {
                type: "RequestHeaderModifier",
                modifier: { set: [{ name: "X-Ref", value: "yes" }], add: [], remove: [] },
              },
            ]),
          ]),
        ]),
        vhost("*", [
          rule(exact("/exact"), [s("a")]),
          rule(regex("/regex/[0-9]+"), [s("b")]),
          rule(prefix("/match", { method: "POST" }), [s("c")]),
          rule(prefix("/match", { headers: [{ type: "Exact", name: "x-env", value: "canary" }] }), [s("d")]),
          rule(prefix("/match", { queryParams: [{ type: "RegularExpression", name: "version", value: "v[0-9]" }] }), [
            s("b"),
          ]),
          rule(prefix("/match"), [s("a")]),
          rule(prefix("/foo/"), [s("b")]),
          rule(prefix("/split"), [s("apples", 70), s("bananas", 30)]),
          rule(prefix("/invalid"), [s("a", 50), invalid(50)]),
          rule(prefix("/zero"), [s("a", 0), s("b", 1)]),
          rule(prefix("/none"), []),
          rule(prefix("/empty"), [svc("nobody", [])]),
        ]),
      ]),
    ]),
    port(
      Q,
      [
        listener("secure", "secure.test", [vhost("secure.test", [rule(match(), [s("a")])])], {
          certificates: [{ ref: { namespace: "default", name: "secure" }, ...certs.secure }],
        }),
        listener("wildtls", "*.wild.test", [vhost("*.wild.test", [rule(match(), [s("b")])])], {
          certificates: [{ ref: { namespace: "default", name: "wild" }, ...certs.wild }],
        }),
      ],
      "HTTPS",
    ),
    port(R, [
      listener("shop", "shop.test", [
        vhost("shop.test", [rule(exact("/cart"), [s("a")]), rule(prefix("/"), [s("b")])]),
      ]),
      listener("apps", undefined, [
        vhost("c.test", [rule(prefix("/api"), [s("c")])]),
        vhost("d.test", [rule(prefix("/api"), [s("d")])]),
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
  for (const e of Object.values(echoes)) await e.close();
});

const get = (path: string, host = "any.test", o: Parameters<typeof request>[2] = {}) =>
  request(P, path, { host, ...o });
const backendOf = async (path: string, host?: string, o?: Parameters<typeof request>[2]) => {
  const r = await get(path, host, o);
  return r.echo?.backend ?? r.status;
};

describe("paths", () => {
  it("PathPrefix is element-wise and ignores a trailing slash in the prefix", async () => {
    expect(await backendOf("/foo")).toBe("b");
    expect(await backendOf("/foo/")).toBe("b");
    expect(await backendOf("/foo/bar")).toBe("b");
    expect(await backendOf("/foobar")).toBe(404);
  });
  it("Exact matches only the exact path", async () => {
    expect(await backendOf("/exact")).toBe("a");
    expect(await backendOf("/exact/")).toBe(404);
    expect(await backendOf("/exact?x=1")).toBe("a");
  });
  it("RegularExpression matches the whole path", async () => {
    expect(await backendOf("/regex/123")).toBe("b");
    expect(await backendOf("/regex/12a")).toBe(404);
  });
  it("no matching rule answers 404", async () => {
    const r = await get("/nothing-here");
    expect(r.status).toBe(404);
  });
});

describe("method, header and query matches in precedence order", () => {
  it("picks the first matching rule", async () => {
    expect(await backendOf("/match", undefined, { method: "POST" })).toBe("c");
    expect(await backendOf("/match/x", undefined, { headers: { "X-ENV": "canary" } })).toBe("d");
    expect(await backendOf("/match", undefined, { headers: { "x-env": "prod" } })).toBe("a");
    expect(await backendOf("/match?version=v2")).toBe("b");
    expect(await backendOf("/match?version=v22")).toBe("a");
    expect(await backendOf("/match")).toBe("a");
    expect(await backendOf("/matchx")).toBe(404);
  });
});

describe("hosts", () => {
  it("the most specific listener wins; Host is lower-cased and its port stripped", async () => {
    expect(await backendOf("/anything", "exact.example.com")).toBe("c");
    expect(await backendOf("/anything", "EXACT.Example.COM:1234")).toBe("c");
    expect(await backendOf("/anything", "other.example.com")).toBe("b");
    expect(await backendOf("/anything", "a.b.example.com")).toBe("b");
  });
  it("a wildcard does not match the bare domain", async () => {
    expect(await backendOf("/exact", "example.com")).toBe("a"); // the hostname-less listener's "*"
  });
  it("rules of a more specific vhost come first, then less specific vhosts of the listener", async () => {
    expect(await backendOf("/only-foo", "foo.example.com")).toBe("a");
    expect(await backendOf("/other", "foo.example.com")).toBe("b");
    expect(await backendOf("/only-foo", "bar.example.com")).toBe("b");
  });
});

describe("exact hostnames only (path maps keyed by the Host)", () => {
  const on = async (path: string, host: string) => {
    const r = await request(R, path, { host });
    return r.echo?.backend ?? r.status;
  };
  it("routes by Host, lower-cased and without its port", async () => {
    expect(await on("/cart", "shop.test")).toBe("a");
    expect(await on("/cart", "SHOP.Test:8080")).toBe("a");
    expect(await on("/cart/x", "shop.test")).toBe("b");
    expect(await on("/api/v1", "c.test")).toBe("c");
    expect(await on("/api/v1", "D.TEST")).toBe("d");
  });
  it("a host no listener or route names answers 404, as does another host's path", async () => {
    expect(await on("/api", "e.test")).toBe(404);
    expect(await on("/api", "c.test.")).toBe(404);
    expect(await on("/cart", "c.test")).toBe(404);
    expect(await on("/apix", "c.test")).toBe(404);
  });
});

describe("filters", () => {
  it("request and response header modifiers", async () => {
    const r = await get("/hdr", "filters.test", { headers: { "X-Set": "old", "X-Add": "a1", "X-Remove": "gone" } });
    expect(r.echo?.backend).toBe("a");
    expect(r.echo?.headers["x-set"]).toBe("v1 100%");
    expect(r.echo?.headers["x-add"]).toBe("a1, a2");
    expect(r.echo?.headers["x-remove"]).toBeUndefined();
    expect(r.headers["x-resp"]).toBe("r1");
  });
  it("backendRef filters apply to that backend", async () => {
    const r = await get("/ref-filter", "filters.test");
    expect(r.echo?.headers["x-ref"]).toBe("yes");
  });
  it("redirects: scheme + host keeps path and query; default ports follow the spec", async () => {
    const r1 = await get("/redirect/x?q=1", "filters.test");
    expect(r1.status).toBe(301);
    expect(r1.headers.location).toBe("https://other.test/redirect/x?q=1");
    const r2 = await get("/redir-prefix/rest", "filters.test:999");
    expect(r2.status).toBe(302);
    expect(r2.headers.location).toBe(`http://filters.test:${P}/new/rest`);
    const r3 = await get("/redir-prefix", "filters.test");
    expect(r3.headers.location).toBe(`http://filters.test:${P}/new`);
    const r4 = await get("/redir-port/a", "filters.test");
    expect(r4.status).toBe(307);
    expect(r4.headers.location).toBe("http://filters.test:8443/full");
  });
  it("URLRewrite: host and prefix keep the rest of the path; full path replaces it", async () => {
    const r = await get("/rewrite/x?y=1", "filters.test");
    expect(r.echo?.path).toBe("/v2/x?y=1");
    expect(r.echo?.headers.host).toBe("rewritten.test");
    expect((await get("/rewrite", "filters.test")).echo?.path).toBe("/v2");
    expect((await get("/strip/x/y", "filters.test")).echo?.path).toBe("/x/y");
    expect((await get("/strip", "filters.test")).echo?.path).toBe("/");
    expect((await get("/full", "filters.test")).echo?.path).toBe("/replaced");
  });
  it("RequestMirror sends a copy to each mirror backend and answers from the main one", async () => {
    const r = await get("/mirrored/x?q=1", "filters.test", { method: "POST", headers: { "x-client": "c1" } });
    expect(r.echo?.backend).toBe("a");
    const deadline = Date.now() + 3000;
    while (Date.now() < deadline && echoes.mirror.seen.length === 0) await new Promise((res) => setTimeout(res, 20));
    expect(echoes.mirror.seen).toHaveLength(1);
    expect(echoes.mirror.seen[0]).toMatchObject({ method: "POST", path: "/mirrored/x?q=1" });
    expect(echoes.mirror.seen[0].headers).toMatchObject({
      host: "filters.test",
      "x-client": "c1",
      "x-before-mirror": "yes",
    });
    while (Date.now() < deadline && !echoes.d.seen.some((e) => e.path === "/mirrored/x?q=1"))
      await new Promise((res) => setTimeout(res, 20));
    expect(echoes.d.seen.filter((e) => e.path === "/mirrored/x?q=1")).toHaveLength(1);
  });
  it("a request timeout answers 504", async () => {
    const started = Date.now();
    const r = await get("/slow", "filters.test");
    expect(r.status).toBe(504);
    expect(Date.now() - started).toBeLessThan(1400);
  });
});

async function tally(path: string, n: number): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i += 25) {
    const batch = await Promise.all(Array.from({ length: Math.min(25, n - i) }, () => backendOf(path)));
    for (const b of batch) counts[String(b)] = (counts[String(b)] ?? 0) + 1;
  }
  return counts;
}

describe("backends", () => {
  it("splits 70/30 by weight within ±5% over 500 requests", async () => {
    const c = await tally("/split", 500);
    expect((c.apples ?? 0) + (c.bananas ?? 0)).toBe(500);
    expect(Math.abs((c.apples ?? 0) / 500 - 0.7)).toBeLessThanOrEqual(0.05);
  }, 30_000);
  it("an invalid backend answers 500 for exactly its share", async () => {
    const c = await tally("/invalid", 400);
    expect((c.a ?? 0) + (c["500"] ?? 0)).toBe(400);
    expect(Math.abs((c["500"] ?? 0) / 400 - 0.5)).toBeLessThanOrEqual(0.08);
  }, 30_000);
  it("weight 0 gets nothing", async () => {
    const c = await tally("/zero", 50);
    expect(c).toEqual({ b: 50 });
  });
  it("no backends → 500; no ready endpoints → 503", async () => {
    expect((await get("/none")).status).toBe(500);
    expect((await get("/empty")).status).toBe(503);
  });
});

describe("HTTPS", () => {
  it("terminates TLS with the listener's certificate chosen by SNI", async () => {
    const r1 = await request(Q, "/x", {
      host: "secure.test",
      tls: { servername: "secure.test", ca: certs.secure.certPem },
      headers: { "X-Forwarded-Proto": "http" },
    });
    expect(r1.echo?.backend).toBe("a");
    // the backend learns the listener's scheme, not what the client claimed
    expect(r1.echo?.headers["x-forwarded-proto"]).toBe("https");
    const r2 = await request(Q, "/y", {
      host: "x.wild.test",
      tls: { servername: "x.wild.test", ca: certs.wild.certPem },
    });
    expect(r2.echo?.backend).toBe("b");
  });
});
