/**
 * The slice of the kubelet API the API server proxies to: GET /containerLogs/<ns>/<pod>/<container>
 * (what `kubectl logs [-f] [--tail N]` reads), served over TLS on 10.244.0.1:10250 from the log
 * files in the state dir. Only the host may call it (the API server dials from the bridge address;
 * pods come from their own IPs and are refused). exec/attach/port-forward answer 501, plainly.
 */
import fs from "node:fs";
import https from "node:https";
import path from "node:path";
import { Log } from "./log.js";
import { NODE_IP } from "./node-info.js";
import { run } from "./shell.js";
import { StateDir } from "./state.js";

export const KUBELET_PORT = Number(process.env.CROSSWAY_KUBELET_PORT ?? 10250);
const HOST_PEERS = new Set([NODE_IP, "127.0.0.1", "::ffff:10.244.0.1", "::ffff:127.0.0.1"]);

/** A self-signed serving cert for the node's IP, made once with openssl. */
async function servingCert(dir: string): Promise<{ key: Buffer; cert: Buffer }> {
  const key = path.join(dir, "kubelet.key");
  const cert = path.join(dir, "kubelet.crt");
  if (!fs.existsSync(key) || !fs.existsSync(cert)) {
    await run("openssl", [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      key,
      "-out",
      cert,
      "-days",
      "3650",
      "-subj",
      "/CN=crossway-node",
      "-addext",
      `subjectAltName=IP:${NODE_IP}`,
    ]);
  }
  return { key: fs.readFileSync(key), cert: fs.readFileSync(cert) };
}

const lastLines = (buf: Buffer, n: number): Buffer => {
  if (n < 0) return buf;
  let end = buf.length;
  if (end > 0 && buf[end - 1] === 0x0a) end--;
  let i = end;
  for (let seen = 0; i > 0; i--) if (buf[i - 1] === 0x0a && ++seen === n) break;
  return n === 0 ? Buffer.alloc(0) : buf.subarray(i);
};

export async function startKubeletServer(state: StateDir, log: Log): Promise<https.Server> {
  const tls = await servingCert(state.dir);
  const server = https.createServer({ ...tls }, (req, res) => {
    const peer = req.socket.remoteAddress ?? "";
    const url = new URL(req.url ?? "/", "https://node");
    const reply = (code: number, msg: string) => {
      res.writeHead(code, { "Content-Type": "text/plain" });
      res.end(`${msg}\n`);
    };
    if (!HOST_PEERS.has(peer)) return reply(403, `forbidden: the node API only answers the host, not ${peer}`);
    if (url.pathname === "/healthz") return reply(200, "ok");
    const m = /^\/containerLogs\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(url.pathname);
    if (!m)
      return reply(
        501,
        `${url.pathname.split("/")[1] ?? ""} is not supported by the crossway node agent (only containerLogs)`,
      );
    const [, ns, pod, container] = m.map(decodeURIComponent);
    const previous = url.searchParams.get("previous") === "true";
    const file = previous ? state.previousLogFile(ns, pod, container) : state.logFile(ns, pod, container);
    if (!fs.existsSync(file)) {
      return reply(
        404,
        `no ${previous ? "previous " : ""}logs for container "${container}" of pod ${ns}/${pod} on this node`,
      );
    }
    const tail = url.searchParams.has("tailLines") ? Number(url.searchParams.get("tailLines")) : -1;
    const limit = url.searchParams.has("limitBytes") ? Number(url.searchParams.get("limitBytes")) : Infinity;
    let body = lastLines(fs.readFileSync(file), Number.isFinite(tail) ? tail : -1);
    if (body.length > limit) body = body.subarray(0, limit);
    res.writeHead(200, { "Content-Type": "text/plain" });
    res.write(body);
    if (url.searchParams.get("follow") !== "true") return res.end();
    // follow: stream appended bytes until the client goes away or the file is removed
    let pos = fs.statSync(file).size;
    const timer = setInterval(() => {
      try {
        const size = fs.statSync(file).size;
        if (size < pos) pos = 0;
        if (size > pos) {
          const fd = fs.openSync(file, "r");
          const chunk = Buffer.alloc(size - pos);
          fs.readSync(fd, chunk, 0, chunk.length, pos);
          fs.closeSync(fd);
          pos = size;
          res.write(chunk);
        }
      } catch {
        clearInterval(timer);
        res.end();
      }
    }, 250);
    req.on("close", () => clearInterval(timer));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(KUBELET_PORT, NODE_IP, () => resolve());
  });
  server.on("error", (err) => log.error({ err: err.message }, "node API server error"));
  log.info({ address: `${NODE_IP}:${KUBELET_PORT}` }, "node API (container logs) listening");
  return server;
}
