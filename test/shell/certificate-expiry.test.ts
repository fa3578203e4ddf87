/**
 * An expiring webhook certificate is reported long before it breaks admission: what the running
 * module logs about the certificate it serves, for real certificates from `npm run credentials`.
 */
import { afterAll, describe, expect, test } from "@jest/globals";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { pino } from "pino";
import { generateCredentials } from "../../hack/credentials";
import { reportCertificateExpiry, watchCertificateExpiry } from "../../capabilities/reconcilers/certificate-expiry";

const names = { service: "pepr-crossway", namespace: "pepr-system" };
const DAY = 86_400_000;

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(chunk.toString()));
      done();
    },
  });
  return { log: pino({ level: "info" }, stream), lines };
}

describe("the webhook certificate's expiry", () => {
  const dir = mkdtempSync(join(tmpdir(), "crossway-cert-expiry-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const certFile = (name: string, made: Date, days: number) => {
    const f = join(dir, name);
    writeFileSync(f, generateCredentials(names, { now: made, days }).certPem);
    return f;
  };
  const now = new Date();

  test("a fresh certificate: one info line with its expiry", () => {
    const { log, lines } = capture();
    reportCertificateExpiry(certFile("fresh.crt", now, 365), log, now);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 30, msg: "webhook certificate", daysLeft: 364 });
    expect(Math.abs(new Date(lines[0].notAfter as string).getTime() - (now.getTime() + 365 * DAY))).toBeLessThan(2000);
  });

  test("within 30 days of expiry: a warning that says how to renew", () => {
    const { log, lines } = capture();
    reportCertificateExpiry(certFile("soon.crt", new Date(now.getTime() - 340 * DAY), 365), log, now);
    expect(lines).toEqual([
      expect.objectContaining({ level: 40, msg: "webhook certificate expires soon", daysLeft: 24 }),
    ]);
    expect(lines[0].renew).toContain("npm run credentials");
    expect(lines[0].renew).toContain("helm upgrade");
  });

  test("expired: an error", () => {
    const { log, lines } = capture();
    reportCertificateExpiry(certFile("expired.crt", new Date(now.getTime() - 400 * DAY), 365), log, now);
    expect(lines).toEqual([expect.objectContaining({ level: 50, msg: "webhook certificate expired" })]);
    expect(lines[0].daysLeft).toBeLessThan(-30);
  });

  test("unreadable or not a certificate: a warning, never a throw", () => {
    const { log, lines } = capture();
    const junk = join(dir, "junk.crt");
    writeFileSync(junk, "not a certificate");
    expect(() => reportCertificateExpiry(join(dir, "missing.crt"), log, now)).not.toThrow();
    expect(() => reportCertificateExpiry(junk, log, now)).not.toThrow();
    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      [40, "webhook certificate unreadable: its expiry is not checked"],
      [40, "webhook certificate unreadable: its expiry is not checked"],
    ]);
  });

  test("watched: reported at start, then again on each check only while it needs renewing", async () => {
    const { log, lines } = capture();
    const fine = watchCertificateExpiry(certFile("watched-fine.crt", now, 365), log, 20);
    await new Promise((r) => setTimeout(r, 100));
    fine();
    expect(lines.map((l) => l.msg)).toEqual(["webhook certificate"]);
    lines.length = 0;
    const soon = watchCertificateExpiry(
      certFile("watched-soon.crt", new Date(now.getTime() - 350 * DAY), 365),
      log,
      20,
    );
    await new Promise((r) => setTimeout(r, 100));
    soon();
    expect(lines.length).toBeGreaterThan(2);
    expect(new Set(lines.map((l) => l.msg))).toEqual(new Set(["webhook certificate expires soon"]));
  });
});
