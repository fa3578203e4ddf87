/**
 * The `haproxy-vet` sidecar of the module's watcher pod: the controller runs in pepr's controller
 * image, which has no haproxy, so it hands each config to check to this container, which runs the
 * data plane's own image (HAPROXY_IMAGE: the same HAProxy version by construction). The two share
 * an emptyDir (VET_DIR, mounted at the same path in both) and this protocol:
 *
 * 1. The controller writes the files into `new.<id>/` and renames it to `job.<id>/` (atomic: the
 *    sidecar never sees a half-written job).
 * 2. The sidecar claims a job by renaming it to `run.<id>/`, runs
 *    `haproxy -c -C run.<id> -f run.<id>/haproxy.cfg` (bounded by `timeout`), writes the output
 *    and exit code into `.res.<id>/`, renames that to `res.<id>/` (atomic again) and removes the
 *    run directory. The controller reads `res.<id>/` and removes it.
 * 3. At start the sidecar publishes its `haproxy -v` line in `version` (written aside, renamed),
 *    which the controller sends with each vetted config (ANN_VETTED_WITH).
 *
 * The sidecar removes its own leftovers at start and results nobody collected (a controller that
 * gave up or restarted) after a few minutes. The script is plain POSIX sh plus coreutils/findutils
 * (the image is Debian's, without node), and is exported here so hack/build-module.ts ships and
 * test/shell/vet-sidecar.test.ts runs the exact same text.
 */
import { HAPROXY_IMAGE } from "./conventions";

/** Where the shared emptyDir is mounted, in both containers. */
export const VET_DIR = "/run/crossway-vet";
/** Set on the watcher container: the controller checks configs through the sidecar in this dir. */
export const VET_DIR_ENV = "CROSSWAY_VET_DIR";
export const VET_CONTAINER = "haproxy-vet";
export const VET_VOLUME = "crossway-vet";
/** The sidecar's bound on one `haproxy -c` (a 10,000-route config took 1.1 s on one core here). */
export const VET_RUN_SECONDS = 120;
/** The sidecar's idle poll: a check waits on average half of it to be picked up. */
export const VET_POLL_SECONDS = 0.2;

/** Names in VET_DIR (see the protocol above). */
export const vetPaths = {
  version: "version",
  writing: (id: string) => `new.${id}`,
  job: (id: string) => `job.${id}`,
  run: (id: string) => `run.${id}`,
  result: (id: string) => `res.${id}`,
  /** In a result directory: haproxy's output, and its exit code (a decimal line). */
  out: "out",
  rc: "rc",
};

/** The sidecar's script; `$1` is the shared directory. */
export const VET_SCRIPT = [
  `d=$1; umask 007; cd "$d" || exit 1`,
  // leftovers of an earlier run of this container (the emptyDir outlives it)
  `rm -rf run.* .res.* .version`,
  `haproxy -v >.version 2>&1 && IFS= read -r v <.version && printf '%s\\n' "$v" >.version && mv -f .version version || { echo "haproxy -v failed" >&2; cat .version >&2; exit 1; }`,
  `echo "haproxy-vet: $v; checking configs in $d"`,
  `n=0`,
  `while :; do`,
  `  for j in job.*; do`,
  `    [ -d "$j" ] || continue`,
  `    id=\${j#job.}`,
  // claim it; a job the controller took back meanwhile is gone (mv fails): skip it
  `    mv "$j" "run.$id" 2>/dev/null || continue`,
  `    mkdir ".res.$id" || { rm -rf "run.$id"; continue; }`,
  `    timeout ${VET_RUN_SECONDS} haproxy -c -C "$d/run.$id" -f "$d/run.$id/haproxy.cfg" >".res.$id/${vetPaths.out}" 2>&1`,
  `    echo $? >".res.$id/${vetPaths.rc}"`,
  `    mv ".res.$id" "res.$id"`,
  `    rm -rf "run.$id"`,
  `  done`,
  // about once a minute: results nobody collected within 5 minutes
  `  n=$((n + 1)); if [ "$n" -ge 300 ]; then n=0; find . -maxdepth 1 -name 'res.*' -mmin +5 -exec rm -rf {} +; fi`,
  `  sleep ${VET_POLL_SECONDS}`,
  `done`,
].join("\n");

/** The sidecar's command: its script on `dir` (VET_DIR in the pod; a temp dir in tests). */
export const vetSidecarCommand = (dir: string = VET_DIR): string[] => ["/bin/sh", "-c", VET_SCRIPT, VET_CONTAINER, dir];

/** The shared volume: only job files and results live here. */
export const vetVolume = () => ({ name: VET_VOLUME, emptyDir: { sizeLimit: "64Mi" } });

/** What the watcher container gets: the shared volume, and the env that selects the sidecar check. */
export const vetWatcherMount = () => ({ name: VET_VOLUME, mountPath: VET_DIR });
export const vetWatcherEnv = () => ({ name: VET_DIR_ENV, value: VET_DIR });

/**
 * The sidecar container. Least privilege like the data-plane containers: non-root (the pod's
 * user, so that both containers may remove each other's files), read-only root filesystem, no
 * capabilities, RuntimeDefault seccomp. Small requests: it idles in `sleep`. The memory limit
 * leaves room for `haproxy -c` of a 10,000-route config (the controller's first check after a
 * start covers every route), which peaked at 249 MiB RSS here; an OOM kill is no verdict (the
 * controller publishes unvetted), so a tighter limit would silently turn vetting off at scale.
 */
export const vetSidecarContainer = () => ({
  name: VET_CONTAINER,
  image: HAPROXY_IMAGE,
  imagePullPolicy: "IfNotPresent",
  command: vetSidecarCommand(),
  resources: {
    // idle, the poll loop used 0.4 s of CPU in 20 s here (2% of a core, mostly forking `sleep`)
    requests: { cpu: "20m", memory: "32Mi" },
    limits: { cpu: "500m", memory: "512Mi" },
  },
  securityContext: {
    runAsNonRoot: true,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ["ALL"] },
    seccompProfile: { type: "RuntimeDefault" },
  },
  volumeMounts: [{ name: VET_VOLUME, mountPath: VET_DIR }],
});
