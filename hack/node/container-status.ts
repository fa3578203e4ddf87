/**
 * The agent's view of one container (process, restarts, probe counters) and how it renders as a
 * Kubernetes ContainerStatus.
 */
import { ChildProcess } from "node:child_process";
import { ImageMapping } from "./images.js";
import { Container, ContainerState, ContainerStatus } from "./types.js";

export interface Ctr {
  spec: Container;
  init: boolean;
  /** undefined: unknown image, reported Ready without running */
  mapping?: ImageMapping;
  pid?: number;
  startTicks?: number;
  startedAt?: string;
  child?: ChildProcess;
  /** a process found alive from a previous agent run: exit noticed by polling */
  adopted: boolean;
  /** unknown image "running" without a process */
  skipped: boolean;
  restartCount: number;
  everStarted: boolean;
  lastState: ContainerState;
  terminated?: NonNullable<ContainerState["terminated"]>;
  waiting?: { reason: string; message?: string };
  nextStartAt: number;
  backoffMs: number;
  /** init container completed, or main container finished for good */
  done: boolean;
  ready: boolean;
  probeOk: number;
  probeFail: number;
  nextProbeAt: number;
  liveFail: number;
  nextLiveAt: number;
  /** the startupProbe succeeded (or there is none): readiness/liveness probes may run */
  startupDone: boolean;
  startupFail: number;
  nextStartupAt: number;
  probing: boolean;
}

export const newCtr = (
  spec: Container,
  init: boolean,
  mapping: ImageMapping | undefined,
  restartCount: number,
): Ctr => ({
  spec,
  init,
  mapping,
  adopted: false,
  skipped: false,
  restartCount,
  everStarted: false,
  lastState: {},
  nextStartAt: 0,
  backoffMs: 1000,
  done: false,
  ready: false,
  probeOk: 0,
  probeFail: 0,
  nextProbeAt: 0,
  liveFail: 0,
  nextLiveAt: 0,
  startupDone: !spec.startupProbe,
  startupFail: 0,
  nextStartupAt: 0,
  probing: false,
});

export const isRunning = (c: Ctr) => c.pid !== undefined || c.skipped;

export function renderStatus(c: Ctr): ContainerStatus {
  let state: ContainerState;
  if (isRunning(c)) state = { running: { startedAt: c.startedAt! } };
  else if (c.waiting) state = { waiting: c.waiting };
  else if (c.terminated) state = { terminated: c.terminated };
  else state = { waiting: { reason: "ContainerCreating" } };
  const id = c.skipped ? "crossway://not-run" : c.pid !== undefined ? `crossway://pid-${c.pid}` : undefined;
  return {
    name: c.spec.name,
    image: c.spec.image,
    imageID: c.mapping ? `crossway://${c.mapping.binary}` : "",
    ...(id ? { containerID: id } : {}),
    ready: c.ready && isRunning(c),
    started: isRunning(c) && c.startupDone,
    restartCount: c.restartCount,
    state,
    lastState: c.lastState,
  };
}
