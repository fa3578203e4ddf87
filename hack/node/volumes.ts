/**
 * Pod volumes as host directories under <state>/pods/<uid>/volumes/<name>, bind-mounted into each
 * container's private mount namespace:
 *   emptyDir -> a plain dir shared by the pod's containers; hostPath -> the host path itself;
 *   configMap / secret / downwardAPI / projected (service account token, ca.crt, namespace) ->
 *   files written kubelet-style by writeAtomic, re-written when their sources change.
 * A missing non-optional source leaves the volume not ready with a specific reason.
 */
import fs from "node:fs";
import path from "node:path";
import { FileSet, checkRelPath, writeAtomic } from "./atomic-writer.js";
import { resolveFieldRef } from "./fieldref.js";
import { ConfigMap, KeyToPath, Pod, Secret, Volume } from "./types.js";

export interface Token {
  token: string;
  expiresAt: number;
}

export interface VolumeSources {
  configMap(namespace: string, name: string): ConfigMap | undefined;
  secret(namespace: string, name: string): Secret | undefined;
  /** A TokenRequest token for the pod's service account, cached until 80% of its lifetime. */
  token(pod: Pod, audience: string | undefined, expirationSeconds: number): Promise<Token>;
}

export type VolumeResult = { ok: true; hostPath: string; changed: boolean } | { ok: false; reason: string };

class NotReady extends Error {}

const DEFAULT_MODE = 0o644;

const configMapEntries = (cm: ConfigMap): Map<string, Buffer> => {
  const m = new Map<string, Buffer>();
  for (const [k, v] of Object.entries(cm.data ?? {})) m.set(k, Buffer.from(v, "utf8"));
  for (const [k, v] of Object.entries(cm.binaryData ?? {})) m.set(k, Buffer.from(v, "base64"));
  return m;
};

const secretEntries = (s: Secret): Map<string, Buffer> => {
  const m = new Map<string, Buffer>();
  for (const [k, v] of Object.entries(s.data ?? {})) m.set(k, Buffer.from(v, "base64"));
  return m;
};

/** Adds a ConfigMap/Secret's keys (all, or the listed items) to `files`. */
const addKeys = (
  files: FileSet,
  what: string,
  entries: Map<string, Buffer> | undefined,
  items: KeyToPath[] | undefined,
  optional: boolean | undefined,
  mode: number,
) => {
  if (!entries) {
    if (optional) return;
    throw new NotReady(`${what} not found`);
  }
  const list = items?.length ? items : [...entries.keys()].map((key) => ({ key, path: key, mode: undefined }));
  for (const it of list) {
    const bad = checkRelPath(it.path);
    if (bad) throw new NotReady(`${what}: ${bad}`);
    const data = entries.get(it.key);
    if (!data) {
      if (optional) continue;
      throw new NotReady(`${what} has no key "${it.key}"`);
    }
    files.set(it.path, { data, mode: it.mode ?? mode });
  }
};

const addDownward = (
  files: FileSet,
  pod: Pod,
  podIP: string,
  items: { path: string; fieldRef?: { fieldPath: string }; mode?: number }[],
  mode: number,
) => {
  for (const it of items) {
    const bad = checkRelPath(it.path);
    if (bad) throw new NotReady(`downwardAPI: ${bad}`);
    if (!it.fieldRef) throw new NotReady(`downwardAPI item "${it.path}": only fieldRef is supported`);
    const v = resolveFieldRef(pod, it.fieldRef.fieldPath, podIP);
    if (v instanceof Error) throw new NotReady(v.message);
    files.set(it.path, { data: Buffer.from(v, "utf8"), mode: it.mode ?? mode });
  }
};

async function fileSetFor(pod: Pod, vol: Volume, podIP: string, src: VolumeSources): Promise<FileSet> {
  const ns = pod.metadata.namespace ?? "default";
  const files: FileSet = new Map();
  if (vol.configMap) {
    const cm = src.configMap(ns, vol.configMap.name);
    addKeys(
      files,
      `ConfigMap ${ns}/${vol.configMap.name}`,
      cm && configMapEntries(cm),
      vol.configMap.items,
      vol.configMap.optional,
      vol.configMap.defaultMode ?? DEFAULT_MODE,
    );
  } else if (vol.secret) {
    const s = src.secret(ns, vol.secret.secretName);
    addKeys(
      files,
      `Secret ${ns}/${vol.secret.secretName}`,
      s && secretEntries(s),
      vol.secret.items,
      vol.secret.optional,
      vol.secret.defaultMode ?? DEFAULT_MODE,
    );
  } else if (vol.downwardAPI) {
    addDownward(files, pod, podIP, vol.downwardAPI.items ?? [], vol.downwardAPI.defaultMode ?? DEFAULT_MODE);
  } else if (vol.projected) {
    const mode = vol.projected.defaultMode ?? DEFAULT_MODE;
    for (const p of vol.projected.sources ?? []) {
      if (p.configMap) {
        const cm = src.configMap(ns, p.configMap.name);
        addKeys(
          files,
          `ConfigMap ${ns}/${p.configMap.name}`,
          cm && configMapEntries(cm),
          p.configMap.items,
          p.configMap.optional,
          mode,
        );
      } else if (p.secret) {
        const s = src.secret(ns, p.secret.name);
        addKeys(files, `Secret ${ns}/${p.secret.name}`, s && secretEntries(s), p.secret.items, p.secret.optional, mode);
      } else if (p.downwardAPI) {
        addDownward(files, pod, podIP, p.downwardAPI.items ?? [], mode);
      } else if (p.serviceAccountToken) {
        const t = p.serviceAccountToken;
        const bad = checkRelPath(t.path);
        if (bad) throw new NotReady(`serviceAccountToken: ${bad}`);
        const tok = await src.token(pod, t.audience, t.expirationSeconds ?? 3600);
        files.set(t.path, { data: Buffer.from(tok.token, "utf8"), mode });
      } else {
        throw new NotReady(`projected source ${Object.keys(p).join(",")} is not supported`);
      }
    }
  }
  return files;
}

/** Brings one volume's host directory up to date. */
export async function materialiseVolume(
  pod: Pod,
  vol: Volume,
  volumesDir: string,
  podIP: string,
  src: VolumeSources,
): Promise<VolumeResult> {
  const dir = path.join(volumesDir, vol.name);
  try {
    if (vol.hostPath) {
      const t = vol.hostPath.type ?? "";
      if (t === "DirectoryOrCreate") fs.mkdirSync(vol.hostPath.path, { recursive: true });
      if (t === "FileOrCreate" && !fs.existsSync(vol.hostPath.path)) fs.writeFileSync(vol.hostPath.path, "");
      if (!fs.existsSync(vol.hostPath.path)) throw new NotReady(`hostPath ${vol.hostPath.path} does not exist`);
      return { ok: true, hostPath: vol.hostPath.path, changed: false };
    }
    if (vol.emptyDir) {
      fs.mkdirSync(dir, { recursive: true });
      fs.chmodSync(dir, 0o777);
      return { ok: true, hostPath: dir, changed: false };
    }
    if (vol.configMap || vol.secret || vol.projected || vol.downwardAPI) {
      const changed = writeAtomic(dir, await fileSetFor(pod, vol, podIP, src));
      return { ok: true, hostPath: dir, changed };
    }
    const kind = Object.keys(vol).filter((k) => k !== "name");
    return {
      ok: false,
      reason: `volume "${vol.name}": type ${kind.join(",") || "(none)"} is not supported by the local node`,
    };
  } catch (err) {
    const msg = err instanceof NotReady ? err.message : `${(err as Error).message ?? err}`;
    return { ok: false, reason: `volume "${vol.name}": ${msg}` };
  }
}

/** Does this volume read the given object (for updates on a watch event)? */
export const volumeUses = (vol: Volume, kind: "ConfigMap" | "Secret", name: string): boolean => {
  if (kind === "ConfigMap" && vol.configMap?.name === name) return true;
  if (kind === "Secret" && vol.secret?.secretName === name) return true;
  return (vol.projected?.sources ?? []).some((p) =>
    kind === "ConfigMap" ? p.configMap?.name === name : p.secret?.name === name,
  );
};
