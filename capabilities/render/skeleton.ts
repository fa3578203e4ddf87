/**
 * What the data-plane agent needs to tell an endpoint-only change (runtime API, no reload) from a
 * structural one (reload). No imports: the agent bundles this file.
 */

export interface ServerState {
  /** `<backend>/<server>` */
  key: string;
  host: string;
  port: number;
  enabled: boolean;
}

const SERVER = /^(\s*server\s+\S+\s+)(\S+)(.*?)(\s+disabled)?$/;

/** haproxy.cfg with every server's address and enabled state blanked out. */
export function configSkeleton(cfg: string): string {
  return cfg
    .split("\n")
    .map((line) => {
      const m = SERVER.exec(line);
      return m ? `${m[1]}<endpoint>${m[3]}` : line;
    })
    .join("\n");
}

function splitAddr(addr: string): { host: string; port: number } {
  const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(addr);
  return m ? { host: m[1], port: Number(m[2]) } : { host: addr, port: 0 };
}

/** Every server line of haproxy.cfg with its backend, address and state, in file order. */
export function serverStates(cfg: string): ServerState[] {
  const out: ServerState[] = [];
  let backend = "";
  for (const line of cfg.split("\n")) {
    const section = /^(backend|frontend|listen|defaults|global)\b\s*(\S*)/.exec(line);
    if (section) backend = section[1] === "backend" ? section[2] : "";
    const m = SERVER.exec(line);
    if (m && backend) {
      const name = m[1].trim().split(/\s+/)[1];
      out.push({ key: `${backend}/${name}`, ...splitAddr(m[2]), enabled: m[4] === undefined });
    }
  }
  return out;
}
