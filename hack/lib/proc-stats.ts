/** CPU time and memory of a local process, from /proc (Linux), for the benches. */
import { readFileSync } from "node:fs";

export interface ProcSample {
  /** user + system CPU time so far, in seconds (clock ticks of 1/100 s). */
  cpuS: number;
  rssMiB: number;
  /** The kernel's own peak RSS (VmHWM) since the process started. */
  peakRssMiB: number;
}

/** undefined once the process is gone. */
export function procSample(pid: number): ProcSample | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0);
    return {
      cpuS: (Number(f[11]) + Number(f[12])) / 100,
      rssMiB: kib("VmRSS") / 1024,
      peakRssMiB: kib("VmHWM") / 1024,
    };
  } catch {
    return undefined;
  }
}

/** Direct children of `pid` (e.g. the workers of a master-worker HAProxy). */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}
