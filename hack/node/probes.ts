/**
 * Probe execution. httpGet and tcpSocket go from the host to the pod IP over the bridge (never to
 * any other address: a probe `host` is ignored); exec runs inside the container's namespaces.
 */
import http from "node:http";
import https from "node:https";
import net from "node:net";
import { spawn } from "node:child_process";
import { Container, Probe } from "./types.js";

export type ProbeResult = { ok: boolean; detail: string };

const resolvePort = (c: Container, port: number | string): number | undefined => {
  if (typeof port === "number") return port;
  if (/^\d+$/.test(port)) return Number(port);
  return c.ports?.find((p) => p.name === port)?.containerPort;
};

const httpProbe = (
  p: NonNullable<Probe["httpGet"]>,
  ip: string,
  port: number,
  timeoutMs: number,
): Promise<ProbeResult> =>
  new Promise((resolve) => {
    const secure = (p.scheme ?? "HTTP").toUpperCase() === "HTTPS";
    const headers: Record<string, string> = { "User-Agent": "kube-probe/crossway" };
    for (const h of p.httpHeaders ?? []) headers[h.name] = h.value;
    const req = (secure ? https : http).request(
      {
        host: ip,
        port,
        path: p.path ?? "/",
        method: "GET",
        headers,
        timeout: timeoutMs,
        rejectUnauthorized: false,
        agent: false,
      },
      (res) => {
        res.resume();
        const code = res.statusCode ?? 0;
        resolve({ ok: code >= 200 && code < 400, detail: `HTTP probe GET ${p.path ?? "/"} on ${ip}:${port}: ${code}` });
      },
    );
    req.on("timeout", () => req.destroy(new Error(`timed out after ${timeoutMs}ms`)));
    req.on("error", (e) => resolve({ ok: false, detail: `HTTP probe on ${ip}:${port} failed: ${e.message}` }));
    req.end();
  });

const tcpProbe = (ip: string, port: number, timeoutMs: number): Promise<ProbeResult> =>
  new Promise((resolve) => {
    const s = net.connect({ host: ip, port });
    const t = setTimeout(() => {
      s.destroy();
      resolve({ ok: false, detail: `TCP probe ${ip}:${port} timed out` });
    }, timeoutMs);
    s.on("connect", () => {
      clearTimeout(t);
      s.destroy();
      resolve({ ok: true, detail: `TCP probe ${ip}:${port} connected` });
    });
    s.on("error", (e) => {
      clearTimeout(t);
      resolve({ ok: false, detail: `TCP probe ${ip}:${port}: ${e.message}` });
    });
  });

const execProbe = (command: string[], pid: number, timeoutMs: number): Promise<ProbeResult> =>
  new Promise((resolve) => {
    const child = spawn("nsenter", ["-t", String(pid), "-n", "-m", "-u", "--", ...command], {
      stdio: "ignore",
      timeout: timeoutMs,
    });
    child.on("error", (e) => resolve({ ok: false, detail: `exec probe: ${e.message}` }));
    child.on("exit", (code, sig) =>
      resolve({ ok: code === 0, detail: `exec probe ${command.join(" ")}: ${sig ?? `exit ${code}`}` }),
    );
  });

/** Runs one probe attempt against a container whose pod has `ip` and whose main process is `pid`. */
export async function runProbe(probe: Probe, c: Container, ip: string, pid: number | undefined): Promise<ProbeResult> {
  const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
  if (probe.httpGet || probe.tcpSocket) {
    const port = resolvePort(c, (probe.httpGet ?? probe.tcpSocket)!.port);
    if (port === undefined)
      return {
        ok: false,
        detail: `probe port ${(probe.httpGet ?? probe.tcpSocket)!.port} is not a port of container ${c.name}`,
      };
    return probe.httpGet ? httpProbe(probe.httpGet, ip, port, timeoutMs) : tcpProbe(ip, port, timeoutMs);
  }
  if (probe.exec) {
    if (pid === undefined) return { ok: false, detail: "exec probe: container is not running" };
    return execProbe(probe.exec.command, pid, timeoutMs);
  }
  return { ok: false, detail: "probe has no httpGet, tcpSocket or exec handler" };
}
