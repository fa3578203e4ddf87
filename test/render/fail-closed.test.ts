/** Bad input renders fail-closed with a specific warning, and the config still passes haproxy -c. */
import { describe, expect, it } from "@jest/globals";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { renderGateway } from "../../capabilities/render/index";
import { gateway, listener, port, prefix, rule, svc, vhost } from "./ir-builders";
import { makeCert, tempDir, writeFiles } from "./harness";

const ep = [{ ip: "127.0.0.1", port: 9 }];
const check = (files: Record<string, string>) => {
  const dir = tempDir("crossway-failclosed-");
  writeFiles(dir, files);
  return execFileSync("haproxy", ["-c", "-C", dir, "-f", join(dir, "haproxy.cfg")], {
    encoding: "utf8",
    stdio: "pipe",
  });
};

describe("fail closed", () => {
  it("a header match that cannot be written never matches; a bad filter answers 500", () => {
    const out = renderGateway(
      gateway([
        port(80, [
          listener("http", undefined, [
            vhost("*", [
              rule(prefix("/m", { headers: [{ type: "Exact", name: "x#y", value: "1" }] }), [svc("a", ep)]),
              rule(
                prefix("/f"),
                [svc("a", ep)],
                [
                  {
                    type: "RequestHeaderModifier",
                    modifier: { set: [{ name: "x", value: "a\nb" }], add: [], remove: [] },
                  },
                ],
              ),
            ]),
          ]),
        ]),
      ]),
    );
    expect(out.warnings).toEqual([
      expect.stringMatching(/header match "x#y" cannot be rendered; it matches nothing/),
      expect.stringMatching(/header x has a value with control characters; it answers 500/),
    ]);
    expect(out.files["haproxy.cfg"]).not.toContain("x#y");
    expect(out.files["haproxy.cfg"]).toContain("backend rule_80_2_0\n  http-request return status 500\n");
    expect(check(out.files)).toContain("valid");
  });

  it("a certificate whose key does not match is left out, and a port without certificates is not served", () => {
    const dir = tempDir("crossway-certs-");
    const a = makeCert(dir, ["a.test"]);
    const b = makeCert(dir, ["b.test"]);
    const tls = {
      certificates: [{ ref: { namespace: "default", name: "bad" }, certPem: a.certPem, keyPem: b.keyPem }],
    };
    const out = renderGateway(
      gateway([
        port(80, [listener("http", undefined, [vhost("*", [rule(prefix("/"), [svc("a", ep)])])])]),
        port(443, [listener("https", "a.test", [vhost("a.test", [rule(prefix("/"), [svc("a", ep)])])], tls)], "HTTPS"),
      ]),
    );
    expect(out.warnings).toEqual([
      "listener default/gw/https: certificate default/bad the private key does not match the certificate; not served",
      "port 443: HTTPS without certificates is not served",
    ]);
    expect(out.files["haproxy.cfg"]).not.toContain("fe_443");
    expect(check(out.files)).toContain("valid");
  });
});
