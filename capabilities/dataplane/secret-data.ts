/**
 * Config files ⇄ the config Secret's `data`. A Secret holds at most 1 MiB, and haproxy.cfg for
 * thousands of routes is larger, so big files travel gzip-compressed under `<name>.gz` (config
 * text compresses ~15×). Deterministic: Node's gzip writes no timestamp. Used by the controller
 * (encode) and bundled into the agent (decode): node built-ins only.
 */
import { gunzipSync, gzipSync } from "node:zlib";

const GZIP_SUFFIX = ".gz";
/** Files larger than this are stored compressed. */
export const GZIP_THRESHOLD = 64 * 1024;

export function encodeConfigFiles(files: Record<string, string>): Record<string, string> {
  const data: Record<string, string> = {};
  for (const name of Object.keys(files).sort()) {
    const raw = Buffer.from(files[name], "utf8");
    if (raw.length > GZIP_THRESHOLD) data[`${name}${GZIP_SUFFIX}`] = gzipSync(raw, { level: 9 }).toString("base64");
    else data[name] = raw.toString("base64");
  }
  return data;
}

/** The files, or why the data cannot be read (never throws). */
export function decodeConfigData(data: Record<string, string>): { files: Record<string, string> } | { error: string } {
  const files: Record<string, string> = {};
  for (const [key, value] of Object.entries(data)) {
    if (typeof value !== "string") return { error: `data[${JSON.stringify(key)}] is not a string` };
    const bytes = Buffer.from(value, "base64");
    if (!key.endsWith(GZIP_SUFFIX)) {
      files[key] = bytes.toString("utf8");
      continue;
    }
    try {
      files[key.slice(0, -GZIP_SUFFIX.length)] = gunzipSync(bytes).toString("utf8");
    } catch (e) {
      return { error: `data[${JSON.stringify(key)}] is not gzip: ${(e as Error).message}` };
    }
  }
  return { files };
}
