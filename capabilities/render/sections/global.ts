/** `global` and `defaults`: process settings for master-worker, hitless reloads and the runtime API. */
import type { RenderView } from "../view";
import { MIRROR_LUA_FILE } from "../mirror-lua";
import { HEALTH_PATH, HEALTH_PORT } from "../../dataplane/conventions";

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
    ...(view.hasTls ? ["  tune.ssl.default-dh-param 2048"] : []),
    ...(view.hasMirror ? [`  lua-load ${MIRROR_LUA_FILE}`] : []),
    "",
    "defaults",
    "  mode http",
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
    "frontend health",
    `  bind ${view.bindAddress}:${HEALTH_PORT}`,
    `  monitor-uri ${HEALTH_PATH}`,
    "",
  ];
}
