/** `global` and `defaults`: process settings for master-worker, hitless reloads and the runtime API. */
import type { RenderView } from "../view";
import { MIRROR_LUA_FILE } from "../mirror-lua";

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
  ];
}
