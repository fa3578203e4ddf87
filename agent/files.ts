/** The rendered files in RUN_DIR: read, compare, write atomically, restore. */
import { existsSync, readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export type Files = Record<string, string>;

/** Lists the files the agent wrote, so files dropped by a new config can be removed. */
const MANIFEST = ".crossway-files.json";
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export function checkFiles(files: Files): string | undefined {
  if (typeof files["haproxy.cfg"] !== "string" || files["haproxy.cfg"].length === 0)
    return "the config has no haproxy.cfg";
  const bad = Object.keys(files).find((n) => !SAFE_NAME.test(n) || n === MANIFEST || n.endsWith(".sock"));
  return bad === undefined ? undefined : `file name ${JSON.stringify(bad)} is not allowed`;
}

export function readCurrent(dir: string): Files | undefined {
  if (!existsSync(join(dir, "haproxy.cfg"))) return undefined;
  let names: string[] = ["haproxy.cfg"];
  try {
    names = JSON.parse(readFileSync(join(dir, MANIFEST), "utf8")) as string[];
  } catch {
    // written by someone else: compare haproxy.cfg only
  }
  const out: Files = {};
  for (const n of names) if (existsSync(join(dir, n))) out[n] = readFileSync(join(dir, n), "utf8");
  return out;
}

function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode: 0o644 });
  renameSync(tmp, path);
}

/** Write `files` (haproxy.cfg last) and remove files of `previous` that `files` no longer has. */
export function writeFiles(dir: string, files: Files, previous: Files | undefined): void {
  const names = Object.keys(files).sort(
    (a, b) => Number(a === "haproxy.cfg") - Number(b === "haproxy.cfg") || (a < b ? -1 : 1),
  );
  for (const n of names) writeAtomic(join(dir, n), files[n]);
  writeAtomic(join(dir, MANIFEST), JSON.stringify(names));
  for (const n of Object.keys(previous ?? {})) if (!(n in files) && existsSync(join(dir, n))) unlinkSync(join(dir, n));
}

export const sameFiles = (a: Files, b: Files) =>
  Object.keys(a).length === Object.keys(b).length && Object.keys(a).every((k) => a[k] === b[k]);
