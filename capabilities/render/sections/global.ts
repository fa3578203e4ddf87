/** `global` and `defaults`: process settings for master-worker, hitless reloads and the runtime API. */
import type { RenderView } from "../view";
import { MIRROR_LUA_FILE } from "../mirror-lua";
import { HEALTH_PATH, HEALTH_PORT, METRICS_PATH } from "../../dataplane/conventions";
import { LOG_LINE_MAX } from "../access-log";

export function renderGlobal(view: RenderView): string[] {
  return [
    "global",
    "  master-worker",
    // Maps, certificates and crt-lists are referenced relative to haproxy.cfg's folder.
    "  default-path config",
    // Runtime API for endpoint updates; expose-fd lets a reloaded worker take over the listeners.
    `  stats socket ${view.runDir}/runtime.sock mode 600 level admin expose-fd listeners`,
    "  stats timeout 30s",
    "  hard-stop-after 30s",
    // Access logs (one JSON object per request, see access-log.ts) go to the container log.
    `  log stdout len ${LOG_LINE_MAX} format raw local0`,
    ...(view.hasTls ? ["  tune.ssl.default-dh-param 2048"] : []),
    ...(view.hasMirror ? [`  lua-load ${MIRROR_LUA_FILE}`] : []),
    "",
    "defaults",
    "  mode http",
    "  log global",
    // connections that never send a request (TCP health checks of load balancers) are not logged
    "  option dontlognull",
    // X-Forwarded-For: the client address (client-sent values are removed first, frontend.ts)
    "  option forwardfor",
    // On reload, old workers answer in-flight keep-alive requests with Connection: close
    // instead of closing idle connections under the client.
    "  option idle-close-on-response",
    "  option redispatch 1",
    "  retries 2",
    "  timeout connect 5s",
    "  timeout client 60s",
    "  timeout server 60s",
    "  timeout http-request 10s",
    "  timeout http-keep-alive 30s",
    "  timeout queue 10s",
    "",
    // The readiness probe's target: answered by HAProxy itself on a port no listener may use
    // (the engine reserves it), so a pod is ready once HAProxy serves a config, whatever its
    // listeners are (an HTTPS listener without a usable certificate included). Else 503.
    // The Prometheus exporter shares it: no listener port (the engine reserves this one, and the
    // data-plane Service exposes only listener ports) serves metrics to the traffic. Without a
    // query, servers in maintenance (the spare slots of backends.ts, most of the servers) are left
    // out; `?scope=...` and other exporter parameters are passed as they are.
    "frontend health",
    `  bind ${view.bindAddress}:${HEALTH_PORT}`,
    "  no log",
    `  monitor-uri ${HEALTH_PATH}`,
    `  http-request set-query no-maint if { path ${METRICS_PATH} } !{ query -m found }`,
    `  http-request use-service prometheus-exporter if { path ${METRICS_PATH} }`,
    "",
  ];
}
