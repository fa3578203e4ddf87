/**
 * Renderer: one Gateway's IR → the files of its HAProxy data plane. Pure and deterministic: the
 * same IR and options give byte-identical files.
 */
import type { GatewayIR } from "../engine/ir";
import { RUN_DIR } from "../dataplane/conventions";
import { buildView, type RenderOptions, type RenderView } from "./view";
import { renderGlobal } from "./sections/global";
import { renderFrontend } from "./sections/frontend";
import { renderBackends } from "./sections/backends";
import { MIRROR_LUA, MIRROR_LUA_FILE } from "./mirror-lua";
import { targetValue } from "./targets";
import { BACKENDS_MAP, backendsMap, routesMap } from "./access-log";

export { configSkeleton, serverStates, type ServerState } from "./skeleton";
export type { RenderOptions } from "./view";

export interface RenderedConfig {
  /** Flat file names (Secret data keys; files in RUN_DIR): haproxy.cfg, *.map, *.crtlist, *.pem. */
  files: Record<string, string>;
  /** Parts of the IR that could not be expressed; each is rendered fail-closed (no match / 500). */
  warnings: string[];
}

/** Section templates, in file order. */
const SECTIONS: ((view: RenderView) => string[])[] = [
  renderGlobal,
  (view) => view.ports.flatMap((p) => renderFrontend(view, p)),
  renderBackends,
];

const mapFile = (entries: [string | number, number | string][]) => entries.map(([k, v]) => `${k} ${v}\n`).join("");

function portFiles(view: RenderView): Record<string, string> {
  const files: Record<string, string> = {};
  for (const p of view.ports) {
    if (p.hosts.exact.length && !p.hostKeyed) files[p.files.hosts] = mapFile(p.hosts.exact);
    if (p.hosts.wildcard.length) files[p.files.wildcard] = mapFile(p.hosts.wildcard);
    if (p.exactMap.length) files[p.files.exact] = mapFile(p.exactMap);
    if (p.prefixMap.length) files[p.files.prefix] = mapFile(p.prefixMap);
    if (!p.direct)
      files[p.files.targets] = mapFile(
        p.targets.targets
          .filter((t) => t.choices.length === 1)
          .map((t) => [String(t.no), targetValue(t.choices[0].backend, t.no)]),
      );
    if (p.hosts.maxChain > 1) files[p.files.next] = mapFile(p.hosts.next);
    const routes = routesMap(p);
    if (routes.length) files[p.files.routes] = mapFile(routes);
    if (p.matching.complex.length > 0) files[p.files.chains] = mapFile(p.hosts.chains);
    if (p.crtList) {
      files[p.files.crtList] = p.crtList.map((c) => `${c.file}${c.sni ? ` ${c.sni}` : ""}\n`).join("");
      for (const c of p.crtList) files[c.file] = c.pem;
    }
  }
  const backends = backendsMap(view);
  if (backends.length) files[BACKENDS_MAP] = mapFile(backends);
  return files;
}

export function renderGateway(ir: GatewayIR, options: Partial<RenderOptions> = {}): RenderedConfig {
  const view = buildView(ir, { runDir: options.runDir ?? RUN_DIR, bindAddress: options.bindAddress ?? "" });
  const cfg = [
    `# crossway: Gateway ${ir.gateway.namespace}/${ir.gateway.name}`,
    "# Load with `haproxy -C <this folder> -f haproxy.cfg`: map files in use_backend and log-format lines are relative to the working directory.",
    "",
  ];
  for (const section of SECTIONS) cfg.push(...section(view));
  const files: Record<string, string> = { "haproxy.cfg": cfg.join("\n"), ...portFiles(view) };
  if (view.hasMirror) files[MIRROR_LUA_FILE] = MIRROR_LUA;
  const sorted = Object.fromEntries(Object.entries(files).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return { files: sorted, warnings: view.warnings };
}
