/**
 * Kubelet's AtomicWriter: a volume dir holds `..<timestamp>/` with the files, `..data` -> that dir,
 * and one symlink per top-level name -> `..data/<name>`. An update writes a new timestamped dir
 * and renames a fresh `..data` symlink over the old one, so readers see the old set or the new
 * set, never a mix. Unchanged content is not rewritten.
 */
import fs from "node:fs";
import path from "node:path";

export interface FileContent {
  data: Buffer;
  mode: number;
}
export type FileSet = Map<string, FileContent>;

/** Rejects absolute paths and `..` elements, as the API server's validation does. */
export const checkRelPath = (p: string): string | undefined => {
  if (!p || path.isAbsolute(p)) return `path "${p}" must be relative`;
  if (p.split("/").some((e) => e === ".." || e.startsWith(".."))) return `path "${p}" must not contain '..'`;
  return undefined;
};

const readTree = (root: string, rel = "", out: FileSet = new Map()): FileSet => {
  for (const ent of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${ent.name}` : ent.name;
    if (ent.isDirectory()) readTree(root, r, out);
    else {
      const full = path.join(root, r);
      out.set(r, { data: fs.readFileSync(full), mode: fs.statSync(full).mode & 0o777 });
    }
  }
  return out;
};

const sameFiles = (a: FileSet, b: FileSet) =>
  a.size === b.size && [...a].every(([k, v]) => b.has(k) && b.get(k)!.mode === v.mode && b.get(k)!.data.equals(v.data));

let seq = 0;

/** Makes `dir` hold exactly `files`; returns true when it changed anything. */
export function writeAtomic(dir: string, files: FileSet): boolean {
  fs.mkdirSync(dir, { recursive: true });
  const dataLink = path.join(dir, "..data");
  let oldTarget: string | undefined;
  try {
    oldTarget = fs.readlinkSync(dataLink);
  } catch {
    oldTarget = undefined;
  }
  if (oldTarget && fs.existsSync(path.join(dir, oldTarget)) && sameFiles(readTree(path.join(dir, oldTarget)), files))
    return false;

  const stamp = `..${new Date().toISOString().replace(/[:.]/g, "_")}.${process.pid}.${seq++}`;
  const newDir = path.join(dir, stamp);
  fs.mkdirSync(newDir);
  for (const [rel, f] of files) {
    const full = path.join(newDir, rel);
    fs.mkdirSync(path.dirname(full), { recursive: true });
    fs.writeFileSync(full, f.data);
    fs.chmodSync(full, f.mode);
  }
  const tmpLink = path.join(dir, "..data_tmp");
  fs.rmSync(tmpLink, { force: true });
  fs.symlinkSync(stamp, tmpLink);
  fs.renameSync(tmpLink, dataLink);

  const tops = new Set([...files.keys()].map((k) => k.split("/")[0]));
  for (const top of tops) {
    const link = path.join(dir, top);
    if (!fs.existsSync(link) && !isLink(link)) fs.symlinkSync(path.join("..data", top), link);
  }
  for (const name of fs.readdirSync(dir)) {
    if (name.startsWith("..")) {
      if (name !== "..data" && name !== stamp) fs.rmSync(path.join(dir, name), { recursive: true, force: true });
    } else if (!tops.has(name)) fs.rmSync(path.join(dir, name), { recursive: true, force: true });
  }
  return true;
}

const isLink = (p: string) => {
  try {
    return fs.lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
};
