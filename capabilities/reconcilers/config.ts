/**
 * The module's configuration, read once from the environment (package.json `pepr.env`, or the
 * Helm chart's `env` values when deployed). Every knob is documented in capabilities/MODULE.md.
 */
import { CONTROLLER_NAME } from "../dataplane/conventions";

export interface ModuleSettings {
  /** GatewayClass spec.controllerName we own. */
  controllerName: string;
  /** Namespace label keys only label admins may add, change or remove. Empty = policy off. */
  protectedLabels: string[];
  /** Users allowed to change protected labels. */
  labelAdmins: string[];
  /** Groups allowed to change protected labels. */
  labelAdminGroups: string[];
  /** Trailing debounce of the reconcile loop. */
  debounceMs: number;
  /** Longest a dirty mark waits for a recompute, however busy the event stream. */
  maxWaitMs: number;
  /** First retry delay after a failed reconcile; doubles up to backoffMaxMs. */
  backoffBaseMs: number;
  backoffMaxMs: number;
  /**
   * First retry delay of one object whose write failed (status patch, a Gateway's data plane);
   * doubles up to objectBackoffMaxMs. Only that object waits; the loop goes on for the others.
   */
  objectBackoffBaseMs: number;
  objectBackoffMaxMs: number;
  /** Full relist of every watched kind, to repair any missed watch event. 0 = off. */
  resyncSeconds: number;
  /**
   * One extra relist this long after start. The index is primed by a list before pepr's watches
   * start, and an object deleted in between is reported by no watch (their own lists no longer
   * hold it). 0 = off.
   */
  catchUpResyncSeconds: number;
  /**
   * Each Secret the controller needs (certificateRefs, its config Secrets) is read by name again
   * this often (±20 %), which is how a rotated certificate reaches the data plane.
   */
  secretRefreshSeconds: number;
}

const list = (raw: string | undefined, fallback: string): string[] =>
  (raw ?? fallback)
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);

function numIn(env: NodeJS.ProcessEnv, key: string, fallback: number, min: number, problems: string[]): number {
  const raw = env[key];
  if (raw === undefined || raw.trim() === "") return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min) {
    problems.push(`${key}=${JSON.stringify(raw)} is not a number >= ${min}; using ${fallback}`);
    return fallback;
  }
  return n;
}

/** Invalid values fall back to their default and are reported in `problems` (logged at startup). */
export function readSettings(env: NodeJS.ProcessEnv = process.env, problems: string[] = []): ModuleSettings {
  const num = (key: string, fallback: number, min: number) => numIn(env, key, fallback, min, problems);
  return {
    controllerName: env.CROSSWAY_CONTROLLER_NAME?.trim() || CONTROLLER_NAME,
    protectedLabels: list(env.CROSSWAY_PROTECTED_LABELS, "shared-gateway-access"),
    labelAdmins: list(env.CROSSWAY_LABEL_ADMINS, ""),
    labelAdminGroups: list(env.CROSSWAY_LABEL_ADMIN_GROUPS, "system:masters"),
    debounceMs: num("CROSSWAY_DEBOUNCE_MS", 75, 0),
    maxWaitMs: num("CROSSWAY_MAX_WAIT_MS", 500, 1),
    backoffBaseMs: num("CROSSWAY_BACKOFF_BASE_MS", 200, 1),
    backoffMaxMs: num("CROSSWAY_BACKOFF_MAX_MS", 30_000, 1),
    objectBackoffBaseMs: num("CROSSWAY_OBJECT_BACKOFF_BASE_MS", 200, 1),
    objectBackoffMaxMs: num("CROSSWAY_OBJECT_BACKOFF_MAX_MS", 60_000, 1),
    resyncSeconds: num("CROSSWAY_RESYNC_SECONDS", 300, 0),
    catchUpResyncSeconds: num("CROSSWAY_CATCH_UP_RESYNC_SECONDS", 15, 0),
    secretRefreshSeconds: num("CROSSWAY_SECRET_REFRESH_SECONDS", 30, 1),
  };
}
