/**
 * Real parts for data-plane tests: Node echo backends on 127.0.0.1, a real haproxy process in
 * master-worker mode, plain HTTP(S) requests. Every wait is bounded.
 */
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import http from "node:http";
import https from "node:https";
import net from "node:net";

export interface Echo {
  name: string;
  port: number;
  /** Every request received, in order. */
  seen: EchoBody[];
  close: () => Promise<void>;
}

/** What an echo backend answers: who it is and what it received. */
export interface EchoBody {
  backend: string;
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
}

export async function startEcho(name: string, opts: { delayMs?: number } = {}): Promise<Echo> {
  const seen: EchoBody[] = [];
  const server = http.createServer((req, res) => {
    const body: EchoBody = { backend: name, method: req.method ?? "", path: req.url ?? "", headers: req.headers };
    seen.push(body);
    const send = () => {
      res.writeHead(200, { "content-type": "application/json", "x-echo-backend": name });
      res.end(JSON.stringify(body));
    };
    if (opts.delayMs) setTimeout(send, opts.delayMs).unref();
    else send();
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    name,
    port,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", resolve));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Wait for `p`, at most `ms` (no timer left behind). */
async function within(p: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p, new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}

async function waitForPort(port: number, timeoutMs: number, address = "127.0.0.1"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, address);
      s.once("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`nothing listens on ${address}:${port} after ${timeoutMs}ms`);
}

export function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
}

export interface Haproxy {
  dir: string;
  proc: ChildProcess;
  output: () => string;
  stop: () => Promise<void>;
}

/**
 * `haproxy -W -db -S <dir>/master.sock -C <dir> -f <dir>/haproxy.cfg`, running once `port` accepts
 * on `address` (the config's bindAddress).
 */
export async function startHaproxy(dir: string, port: number, address = "127.0.0.1"): Promise<Haproxy> {
  let out = "";
  const proc = spawn(
    "haproxy",
    ["-W", "-db", "-S", `${dir}/master.sock,level,admin`, "-C", dir, "-f", `${dir}/haproxy.cfg`],
    {
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  proc.stdout!.on("data", (d) => (out += d));
  proc.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
  try {
    await waitForPort(port, 5000, address);
  } catch (e) {
    proc.kill("SIGKILL");
    throw new Error(`${e}\n${out}`);
  }
  return {
    dir,
    proc,
    output: () => out,
    stop: async () => {
      if (proc.exitCode !== null) return;
      proc.kill("SIGTERM");
      await within(exited, 3000);
      if (proc.exitCode === null) proc.kill("SIGKILL");
      await within(exited, 1000);
    },
  };
}

export const tempDir = (prefix: string) => mkdtempSync(join(tmpdir(), prefix));

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  echo?: EchoBody;
}

export interface RequestOpts {
  host?: string;
  method?: string;
  headers?: Record<string, string>;
  agent?: http.Agent;
  tls?: { servername: string; ca: string };
  timeoutMs?: number;
  /** Where to connect (default 127.0.0.1) and from which local address. */
  address?: string;
  localAddress?: string;
}

/** One request to 127.0.0.1:port (or `address`); resolves with what a client would see. */
export function request(port: number, path: string, o: RequestOpts = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers = { ...(o.host ? { host: o.host } : {}), ...(o.headers ?? {}) };
    const common = {
      host: o.address ?? "127.0.0.1",
      ...(o.localAddress ? { localAddress: o.localAddress } : {}),
      port,
      path,
      method: o.method ?? "GET",
      headers,
      timeout: o.timeoutMs ?? 5000,
    };
    const req = o.tls
      ? https.request({ ...common, servername: o.tls.servername, ca: o.tls.ca, agent: false })
      : http.request({ ...common, agent: o.agent ?? false });
    req.on("response", (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d) => (text += d));
      res.on("end", () => {
        let echo: EchoBody | undefined;
        if (res.headers["x-echo-backend"]) echo = JSON.parse(text) as EchoBody;
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, echo });
      });
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`request ${path} timed out`)));
    req.on("error", reject);
    req.end();
  });
}

/** A self-signed certificate for `names` made with the openssl CLI. */
export function makeCert(dir: string, names: string[]): { certPem: string; keyPem: string } {
  const key = join(dir, `${names[0].replace(/\*/g, "wild")}.key`);
  const crt = join(dir, `${names[0].replace(/\*/g, "wild")}.crt`);
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      key,
      "-out",
      crt,
      "-days",
      "2",
      "-subj",
      `/CN=${names[0]}`,
      "-addext",
      `subjectAltName=${names.map((n) => `DNS:${n}`).join(",")}`,
    ],
    { stdio: "ignore" },
  );
  return { certPem: readFileSync(crt, "utf8"), keyPem: readFileSync(key, "utf8") };
}
