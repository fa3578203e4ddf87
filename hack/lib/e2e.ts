/**
 * The local cluster as a user sees it, for `npm start` (hack/demo.ts) and the end-to-end tests:
 * the examples/ manifests applied with the Go-built kubectl, Gateway and route status, and real
 * HTTP through the Gateway's LoadBalancer address (a data-plane pod IP in a network namespace our
 * cluster made).
 */
import http from "node:http";
import { join } from "node:path";
import { REPO } from "../cluster/config.js";
import { kubectl, kubectlJson } from "./kubectl.js";
import { eventually } from "./eventually.js";

export { eventually };

const OURS = "crossway.dev/gateway-controller";
const example = (file: string) => join(REPO, "examples", file);

export const applyFile = (file: string) => kubectl(["apply", "-f", example(file)]);

interface Condition {
  type: string;
  status: string;
  reason: string;
  message?: string;
}

export async function gatewayAddress(ns: string, name: string, timeoutMs = 90_000): Promise<string> {
  return eventually(
    `Gateway ${ns}/${name} Programmed with an address`,
    async () => {
      const gw = await kubectlJson<{ status?: { addresses?: { value: string }[]; conditions?: Condition[] } }>([
        "get",
        "gateway",
        "-n",
        ns,
        name,
      ]);
      const programmed = gw.status?.conditions?.find((c) => c.type === "Programmed")?.status === "True";
      return programmed ? gw.status?.addresses?.[0]?.value : undefined;
    },
    timeoutMs,
  );
}

/** Our parent entry's condition `type` on an HTTPRoute, once present. */
export async function routeCondition(ns: string, name: string, type: string): Promise<Condition | undefined> {
  const route = await kubectlJson<{ status?: { parents?: { controllerName: string; conditions: Condition[] }[] } }>([
    "get",
    "httproute",
    "-n",
    ns,
    name,
  ]);
  return route.status?.parents?.find((p) => p.controllerName === OURS)?.conditions.find((c) => c.type === type);
}

export const waitRouteCondition = (ns: string, name: string, type: string, status: string, reason: string) =>
  eventually(`HTTPRoute ${ns}/${name} ${type}=${status}/${reason}`, async () => {
    const c = await routeCondition(ns, name, type);
    return c?.status === status && c.reason === reason ? c : undefined;
  });

export interface Reply {
  status: number;
  body: string;
  /** echo-basic's JSON answer, when the request reached a backend. */
  echo?: { namespace?: string; pod?: string; path?: string; service?: string };
}

export function get(address: string, path: string, opts: { host?: string; agent?: http.Agent } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      {
        host: address,
        port: 80,
        path,
        headers: opts.host ? { host: opts.host } : {},
        agent: opts.agent ?? false,
        timeout: 5_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const body = Buffer.concat(chunks).toString("utf8");
          let echo: Reply["echo"];
          try {
            echo = JSON.parse(body);
          } catch {
            echo = undefined;
          }
          resolve({ status: res.statusCode ?? 0, body, echo });
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on("error", reject);
  });
}

/** Polls GET until its status is `status`; returns the reply and how long it took. */
export async function waitStatus(address: string, path: string, status: number, timeoutMs = 30_000) {
  const started = Date.now();
  const reply = await eventually(
    `GET ${path} → ${status}`,
    async () => {
      const r = await get(address, path);
      return r.status === status ? r : undefined;
    },
    timeoutMs,
  );
  return { reply, ms: Date.now() - started };
}

export async function deleteNamespaces(...names: string[]) {
  await kubectl(["delete", "namespace", "--ignore-not-found", "--wait=false", ...names]);
}

/**
 * Namespaces this suite is about to create, gone first: a previous run's may still be
 * Terminating (creating objects in them then fails) or left over from a run that crashed.
 */
export async function freshNamespaces(names: string[], timeoutMs = 180_000) {
  await deleteNamespaces(...names);
  await eventually(
    `namespaces ${names.join(", ")} gone`,
    async () => {
      const left = (await kubectl(["get", "namespace", "--ignore-not-found", "-o", "name", ...names])).trim();
      return left === "" ? true : undefined;
    },
    timeoutMs,
  );
}
