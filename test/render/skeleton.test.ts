/** Endpoint-only changes keep the config skeleton; anything structural changes it. */
import { describe, expect, it } from "@jest/globals";
import { configSkeleton, renderGateway, serverStates } from "../../capabilities/render/index";
import { gateway, listener, port, prefix, rule, svc, vhost } from "./ir-builders";

const cfg = (endpoints: { ip: string; port: number }[], path = "/") =>
  renderGateway(
    gateway([port(80, [listener("http", undefined, [vhost("*", [rule(prefix(path), [svc("a", endpoints)])])])])]),
  ).files["haproxy.cfg"];

describe("config skeleton", () => {
  it("is the same when only endpoint addresses or readiness change", () => {
    const a = cfg([{ ip: "127.0.0.1", port: 8080 }]);
    const b = cfg([
      { ip: "127.0.0.2", port: 9090 },
      { ip: "::1", port: 80 },
    ]);
    const none = cfg([]);
    expect(a).not.toBe(b);
    expect(configSkeleton(a)).toBe(configSkeleton(b));
    expect(configSkeleton(a)).toBe(configSkeleton(none));
  });

  it("changes when routes change or a backend needs more server slots", () => {
    const a = cfg([{ ip: "127.0.0.1", port: 8080 }]);
    expect(configSkeleton(cfg([{ ip: "127.0.0.1", port: 8080 }], "/other"))).toBe(configSkeleton(a)); // paths live in map files
    const many = cfg(Array.from({ length: 9 }, (_, i) => ({ ip: `10.0.0.${i + 1}`, port: 80 })));
    expect(configSkeleton(many)).not.toBe(configSkeleton(a));
  });

  it("lists every server with its address and state", () => {
    const states = serverStates(
      cfg([
        { ip: "127.0.0.2", port: 9090 },
        { ip: "::1", port: 80 },
      ]),
    );
    expect(states).toEqual([
      { key: "svc_default_a_80/s1", host: "127.0.0.2", port: 9090, enabled: true },
      { key: "svc_default_a_80/s2", host: "::1", port: 80, enabled: true },
      { key: "svc_default_a_80/s3", host: "0.0.0.0", port: 1, enabled: false },
      { key: "svc_default_a_80/s4", host: "0.0.0.0", port: 1, enabled: false },
    ]);
  });
});
