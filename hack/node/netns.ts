/**
 * Pod networking: host bridge crossway0 (10.244.0.1/16), one network namespace per pod
 * (crossway-<uid prefix>) joined to it by a veth pair (host side cw<uid prefix>, eth0 inside),
 * loopback up and a default route via the bridge. Pods reach each other over the bridge and the
 * host (API server, webhooks) at 10.244.0.1, so IP forwarding is never turned on.
 */
import fs from "node:fs";
import { BRIDGE, GATEWAY_IP, PREFIX_LEN } from "./ipam.js";
import { run, tryRun } from "./shell.js";

const NETNS_PREFIX = "crossway-";
const VETH_PREFIX = "cw";

export const netnsName = (uid: string) => `${NETNS_PREFIX}${uid.replace(/-/g, "").slice(0, 12)}`;
export const hostVethName = (uid: string) => `${VETH_PREFIX}${uid.replace(/-/g, "").slice(0, 12)}`;
const peerVethName = (uid: string) => `cp${uid.replace(/-/g, "").slice(0, 12)}`;

const linkExists = async (name: string, ns?: string) =>
  (await tryRun("ip", [...(ns ? ["-n", ns] : []), "link", "show", "dev", name])).code === 0;

const netnsExists = (ns: string) => fs.existsSync(`/run/netns/${ns}`);

export async function ensureBridge(): Promise<void> {
  if (!(await linkExists(BRIDGE))) await run("ip", ["link", "add", BRIDGE, "type", "bridge"]);
  const addrs = await run("ip", ["-4", "-o", "addr", "show", "dev", BRIDGE]);
  if (!addrs.includes(`${GATEWAY_IP}/${PREFIX_LEN}`)) {
    await run("ip", ["addr", "add", `${GATEWAY_IP}/${PREFIX_LEN}`, "dev", BRIDGE]);
  }
  await run("ip", ["link", "set", BRIDGE, "up"]);
}

/** /etc/netns/<ns>/hosts is bind-mounted over /etc/hosts by `ip netns exec`: localhost, the pod, spec.hostAliases. */
const writeHosts = (ns: string, ip: string, hostname: string, aliases: HostAlias[]) => {
  const dir = `/etc/netns/${ns}`;
  fs.mkdirSync(dir, { recursive: true });
  const extra = aliases.map((a) => `${a.ip}\t${(a.hostnames ?? []).join(" ")}\n`).join("");
  fs.writeFileSync(
    `${dir}/hosts`,
    `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n${ip}\t${hostname}\n${extra}`,
  );
};

export interface HostAlias {
  ip: string;
  hostnames?: string[];
}

/** Creates (or completes) the pod's namespace and veth, and applies the pod's net.* sysctls; idempotent. */
export async function ensurePodNetwork(
  uid: string,
  ip: string,
  hostname: string,
  aliases: HostAlias[] = [],
  sysctls: { name: string; value: string }[] = [],
): Promise<{ netns: string; hostVeth: string }> {
  const ns = netnsName(uid);
  const hostVeth = hostVethName(uid);
  const peer = peerVethName(uid);
  writeHosts(ns, ip, hostname, aliases);
  if (!netnsExists(ns)) await run("ip", ["netns", "add", ns]);
  await run("ip", ["-n", ns, "link", "set", "lo", "up"]);
  if (!(await linkExists("eth0", ns))) {
    if (await linkExists(hostVeth)) await run("ip", ["link", "del", hostVeth]);
    await run("ip", ["link", "add", hostVeth, "type", "veth", "peer", "name", peer]);
    await run("ip", ["link", "set", peer, "netns", ns]);
    await run("ip", ["-n", ns, "link", "set", peer, "name", "eth0"]);
  }
  await run("ip", ["link", "set", hostVeth, "master", BRIDGE, "up"]);
  const addrs = await run("ip", ["-n", ns, "-4", "-o", "addr", "show", "dev", "eth0"]);
  if (!addrs.includes(`${ip}/${PREFIX_LEN}`)) {
    await run("ip", ["-n", ns, "addr", "flush", "dev", "eth0"]);
    await run("ip", ["-n", ns, "addr", "add", `${ip}/${PREFIX_LEN}`, "dev", "eth0"]);
  }
  await run("ip", ["-n", ns, "link", "set", "eth0", "up"]);
  await run("ip", ["-n", ns, "route", "replace", "default", "via", GATEWAY_IP, "dev", "eth0"]);
  for (const { name, value } of sysctls) {
    // only network sysctls are per network namespace; anything else would change the host
    if (!name.startsWith("net.")) throw new Error(`sysctl ${name} is not namespaced by the local node (only net.*)`);
    if (!/^[a-z0-9_.]+$/.test(name)) throw new Error(`sysctl name "${name}" is invalid`);
    const file = `/proc/sys/${name.replace(/\./g, "/")}`;
    await run("ip", ["netns", "exec", ns, "/bin/sh", "-c", 'printf "%s\n" "$1" > "$2"', "sh", value, file]);
  }
  return { netns: ns, hostVeth };
}

/** Pids of every process inside a network namespace. */
export async function netnsPids(ns: string): Promise<number[]> {
  const r = await tryRun("ip", ["netns", "pids", ns]);
  return r.stdout
    .split(/\s+/)
    .filter(Boolean)
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 0);
}

/** Deletes a link; one that is already gone is fine. */
export async function deleteLink(name: string): Promise<void> {
  if (!name) return;
  const r = await tryRun("ip", ["link", "del", name]);
  if (r.code !== 0 && !/Cannot find device|does not exist/.test(r.stderr))
    throw new Error(`ip link del ${name}: ${r.stderr.trim()}`);
}

/** Removes the pod's namespace (which takes eth0 and so its veth peer), its veth and /etc/netns dir. */
export async function removePodNetwork(ns: string, hostVeth: string): Promise<void> {
  if (netnsExists(ns)) await run("ip", ["netns", "del", ns]);
  // deleting the netns destroys eth0 and, asynchronously, its host peer
  await deleteLink(hostVeth);
  fs.rmSync(`/etc/netns/${ns}`, { recursive: true, force: true });
}

export async function listOurNetns(): Promise<string[]> {
  const r = await tryRun("ip", ["netns", "list"]);
  return r.stdout
    .split("\n")
    .map((l) => l.split(" ")[0])
    .filter((n) => /^crossway-[0-9a-f]{12}$/.test(n));
}

export async function listOurVeths(): Promise<string[]> {
  const r = await tryRun("ip", ["-o", "link", "show", "type", "veth"]);
  return r.stdout
    .split("\n")
    .map((l) => l.split(":")[1]?.trim().split("@")[0] ?? "")
    .filter((n) => /^c[wp][0-9a-f]{12}$/.test(n));
}

export async function removeBridge(): Promise<void> {
  if (await linkExists(BRIDGE)) await run("ip", ["link", "del", BRIDGE]);
}
