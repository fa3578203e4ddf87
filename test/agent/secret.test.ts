/** Config files survive the trip through the Secret, large ones compressed; bad data is an error, not a crash. */
import { describe, expect, it } from "@jest/globals";
import { gzipSync } from "node:zlib";
import { encodeConfigFiles, GZIP_THRESHOLD } from "../../capabilities/dataplane/secret-data";
import { ANN_CONFIG_GENERATION } from "../../capabilities/dataplane/conventions";
import { secretFiles } from "../../agent/secret";
import { renderGateway } from "../../capabilities/render/index";
import { gateway, listener, port, prefix, rule, svc, vhost } from "../render/ir-builders";

const secret = (data: Record<string, string>, generation = "7") => ({
  metadata: { name: "crossway-gw-config", namespace: "default", annotations: { [ANN_CONFIG_GENERATION]: generation } },
  data,
});

describe("config secret data", () => {
  it("round-trips small and large configs; 10,000 routes fit a Secret", () => {
    const vhosts = Array.from({ length: 10_000 }, (_, i) =>
      vhost(`h${i}.example.com`, [rule(prefix(`/p${i}`), [svc(`s${i}`, [{ ip: "127.0.0.1", port: 80 }])])]),
    );
    const files = renderGateway(gateway([port(80, [listener("http", undefined, vhosts)])])).files;
    expect(files["haproxy.cfg"].length).toBeGreaterThan(GZIP_THRESHOLD);
    const data = encodeConfigFiles(files);
    expect(Object.keys(data)).toContain("haproxy.cfg.gz");
    const size = Object.entries(data).reduce((n, [k, v]) => n + k.length + v.length, 0);
    expect(size).toBeLessThan(1024 * 1024);
    expect(encodeConfigFiles(files)).toEqual(data); // deterministic
    expect(secretFiles(secret(data))).toEqual({ files, generation: "7" });
  });

  it("explains bad data instead of throwing", () => {
    expect(secretFiles(secret({ "haproxy.cfg.gz": Buffer.from("not gzip").toString("base64") }))).toEqual({
      error: expect.stringMatching(/data\["haproxy.cfg.gz"\] is not gzip/),
    });
    expect(secretFiles(secret({}, "x"))).toEqual({
      error: expect.stringMatching(/config-generation is missing or not a number/),
    });
    const ok = secretFiles(secret({ "haproxy.cfg.gz": gzipSync("global\n").toString("base64") }));
    expect(ok).toEqual({ files: { "haproxy.cfg": "global\n" }, generation: "7" });
  });
});
