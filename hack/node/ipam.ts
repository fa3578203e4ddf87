/**
 * Pod IPs from 10.244.1.0 - 10.244.255.254 (the bridge holds 10.244.0.1), handed out round robin
 * and persisted, so a restarted agent never gives a live pod's IP to another pod.
 */
import fs from "node:fs";
import path from "node:path";
import { writeJsonAtomic } from "./state.js";

export const BRIDGE = "crossway0";
export const GATEWAY_IP = "10.244.0.1";
export const PREFIX_LEN = 16;
const FIRST = ipToInt("10.244.1.0");
const LAST = ipToInt("10.244.255.254");

function ipToInt(ip: string): number {
  return ip.split(".").reduce((acc, o) => acc * 256 + Number(o), 0);
}
const intToIp = (n: number) => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");

interface IpamFile {
  last: string;
  byIp: Record<string, string>;
}

export class Ipam {
  private readonly file: string;
  private data: IpamFile;

  constructor(stateDir: string) {
    this.file = path.join(stateDir, "ipam.json");
    try {
      this.data = JSON.parse(fs.readFileSync(this.file, "utf8")) as IpamFile;
    } catch {
      this.data = { last: intToIp(FIRST - 1), byIp: {} };
    }
  }

  /** The IP already held by uid, else the next free one after the last handed out. */
  allocate(uid: string): string {
    const held = Object.entries(this.data.byIp).find(([, u]) => u === uid);
    if (held) return held[0];
    const size = LAST - FIRST + 1;
    const start = ipToInt(this.data.last) - FIRST + 1;
    for (let i = 0; i < size; i++) {
      const ip = intToIp(FIRST + ((start + i) % size));
      if (!this.data.byIp[ip]) {
        this.data.byIp[ip] = uid;
        this.data.last = ip;
        this.save();
        return ip;
      }
    }
    throw new Error("pod IP range 10.244.1.0-10.244.255.254 is exhausted");
  }

  release(uid: string) {
    for (const [ip, u] of Object.entries(this.data.byIp)) if (u === uid) delete this.data.byIp[ip];
    this.save();
  }

  /** Drops allocations of pods the agent no longer tracks. */
  retainOnly(uids: Set<string>) {
    for (const [ip, u] of Object.entries(this.data.byIp)) if (!uids.has(u)) delete this.data.byIp[ip];
    this.save();
  }

  private save() {
    writeJsonAtomic(this.file, this.data);
  }
}
