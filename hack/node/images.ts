/**
 * Image -> host command. There is no container runtime: a container of a known image runs the
 * matching host binary, with the image's entrypoint/cmd semantics reproduced:
 *   *echo-basic  -> $CROSSWAY_CACHE/echo-basic-v1.6.1/bin/echo-basic (ENTRYPOINT ["/echo-basic"])
 *   haproxy:*    -> Debian's /usr/sbin/haproxy (docker-entrypoint: haproxy -W -db -f <cfg>)
 *   node:*       -> this host's node (docker-entrypoint: CMD ["node"])
 * Anything else is unknown: the agent reports it Ready without running anything (and says so).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { run } from "./shell.js";

export interface ImageRef {
  repository: string;
  tag?: string;
}

const parseImage = (image: string): ImageRef => {
  const noDigest = image.split("@")[0];
  const slash = noDigest.lastIndexOf("/");
  const colon = noDigest.lastIndexOf(":");
  return colon > slash
    ? { repository: noDigest.slice(0, colon), tag: noDigest.slice(colon + 1) }
    : { repository: noDigest };
};

export interface ImageMapping {
  kind: "echo-basic" | "haproxy" | "node";
  /** the host binary standing in for the image's main binary */
  binary: string;
  /** names command[0] may use for the image's binary (resolved to `binary`) */
  aliases: string[];
  /** argv when neither command nor args is set */
  defaults: string[];
  /** argv for `args` without `command` (the image's entrypoint semantics) */
  withArgs: (args: string[]) => string[];
}

const cacheDir = () => process.env.CROSSWAY_CACHE ?? path.join(os.homedir(), ".cache", "crossway");
export const echoBasicBinary = () =>
  process.env.CROSSWAY_ECHO_BASIC ?? path.join(cacheDir(), "echo-basic-v1.6.1", "bin", "echo-basic");
const HAPROXY_BINARY = "/usr/sbin/haproxy";

const onHostPath = (cmd: string) =>
  cmd.includes("/")
    ? fs.existsSync(cmd)
    : (process.env.PATH ?? "").split(":").some((d) => d && fs.existsSync(path.join(d, cmd)));

const basename = (s: string) => s.slice(s.lastIndexOf("/") + 1);

export function mapImage(image: string): ImageMapping | undefined {
  const { repository } = parseImage(image);
  const name = basename(repository);
  if (name === "echo-basic") {
    const bin = echoBasicBinary();
    return { kind: "echo-basic", binary: bin, aliases: ["echo-basic"], defaults: [bin], withArgs: (a) => [bin, ...a] };
  }
  if (
    repository === "haproxy" ||
    repository === "library/haproxy" ||
    repository === "docker.io/library/haproxy" ||
    repository === "docker.io/haproxy"
  ) {
    const bin = HAPROXY_BINARY;
    const std = (rest: string[]) => [bin, "-W", "-db", ...rest];
    return {
      kind: "haproxy",
      binary: bin,
      aliases: ["haproxy"],
      defaults: std(["-f", "/usr/local/etc/haproxy/haproxy.cfg"]),
      // docker-entrypoint.sh: leading flags mean "haproxy <flags>"; "haproxy ..." gets -W -db added
      withArgs: (a) => (a[0]?.startsWith("-") ? std(a) : basename(a[0] ?? "") === "haproxy" ? std(a.slice(1)) : a),
    };
  }
  if (
    repository === "node" ||
    repository === "library/node" ||
    repository === "docker.io/library/node" ||
    repository === "docker.io/node"
  ) {
    const bin = process.execPath;
    return {
      kind: "node",
      binary: bin,
      aliases: ["node", "nodejs"],
      defaults: [bin],
      // docker-entrypoint.sh: flags, or a first arg that is not a command, run under node
      withArgs: (a) => (a[0]?.startsWith("-") || !onHostPath(a[0] ?? "") ? [bin, ...a] : a),
    };
  }
  return undefined;
}

/**
 * The argv a container runs: command/args as Kubernetes defines them over the image's
 * entrypoint/cmd; command[0] naming the image's binary is resolved to the host binary.
 */
export function containerArgv(m: ImageMapping, command: string[] | undefined, args: string[] | undefined): string[] {
  let argv: string[];
  if (command?.length) argv = [...command, ...(args ?? [])];
  else if (args?.length) argv = m.withArgs(args);
  else argv = m.defaults;
  const first = argv[0];
  if (first !== undefined && m.aliases.includes(basename(first))) argv = [m.binary, ...argv.slice(1)];
  return argv;
}

let haproxyInstall: Promise<void> | undefined;

/**
 * undefined when the mapped host binary exists; otherwise why not. A missing haproxy is installed
 * from Debian once (in the background); echo-basic comes from hack/build/binaries.sh.
 */
export async function ensureHostBinary(
  m: ImageMapping,
  log: { info: (o: object, s: string) => void; error: (o: object, s: string) => void },
): Promise<string | undefined> {
  if (fs.existsSync(m.binary)) return undefined;
  if (m.kind === "haproxy") {
    haproxyInstall ??= (async () => {
      log.info({ binary: m.binary }, "haproxy missing: apt-get install haproxy");
      try {
        const install = "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy";
        await run("/bin/sh", ["-c", `${install} || { apt-get update -qq && ${install}; }`], 600_000);
      } catch (err) {
        log.error({ err: (err as Error).message }, "apt-get install haproxy failed");
        haproxyInstall = undefined;
      }
    })();
    return `${m.binary} is not installed yet (apt-get install haproxy in progress)`;
  }
  if (m.kind === "echo-basic") return `${m.binary} is missing: build it with hack/build/binaries.sh echo-basic`;
  return `${m.binary} is missing`;
}
