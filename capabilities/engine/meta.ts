/**
 * Small, pure helpers over Kubernetes object metadata shared by every engine stage.
 * Everything tolerates missing fields: the engine never throws on odd input.
 */

export const GATEWAY_GROUP = "gateway.networking.k8s.io";
export const CORE_GROUP = "";

export interface Meta {
  namespace?: string;
  name?: string;
  generation?: number;
  labels?: Record<string, string>;
  creationTimestamp?: string | Date;
}

export interface HasMeta {
  metadata?: Meta | { [key: string]: unknown };
}

export function metaOf(o: HasMeta | undefined): Meta {
  return ((o?.metadata ?? {}) as Meta) ?? {};
}

export const nameOf = (o: HasMeta | undefined): string => String(metaOf(o).name ?? "");
export const nsOf = (o: HasMeta | undefined): string => String(metaOf(o).namespace ?? "");
export const generationOf = (o: HasMeta | undefined): number => {
  const g = Number(metaOf(o).generation);
  return Number.isFinite(g) ? g : 0;
};

const RFC3339_SECONDS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

/** creationTimestamp as a sortable ISO string; objects without one sort last. */
export function createdOf(o: HasMeta | undefined): string {
  const t = metaOf(o).creationTimestamp;
  if (t instanceof Date) return isNaN(t.getTime()) ? "~" : t.toISOString().replace(".000Z", "Z");
  // the API server's own format (YYYY-MM-DDTHH:MM:SSZ) is already sortable
  if (typeof t === "string" && t.length === 20 && t.charCodeAt(19) === 90 && RFC3339_SECONDS.test(t)) return t;
  if (typeof t === "string" && t !== "") {
    const d = new Date(t);
    return isNaN(d.getTime()) ? "~" : d.toISOString().replace(".000Z", "Z");
  }
  return "~";
}

export const key = (namespace: string, name: string): string => `${namespace}/${name}`;
export const keyOf = (o: HasMeta | undefined): string => key(nsOf(o), nameOf(o));

/** Locale-free string comparison (byte order), so output never depends on the host's locale. */
export const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Push into a Map of arrays. */
export function pushTo<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}

/** The list's present items ([] when it is not a list): null/undefined entries are dropped. */
export function asArray<T>(v: T[] | undefined | null): NonNullable<T>[] {
  if (!Array.isArray(v)) return [];
  for (let i = 0; i < v.length; i++) {
    if (v[i] === null || v[i] === undefined) return v.filter((x) => x !== null && x !== undefined) as NonNullable<T>[];
  }
  return v as NonNullable<T>[]; // common case: no copy
}

const isObject = (x: unknown): boolean => typeof x === "object" && x !== null && !Array.isArray(x);

/** The list's object items only: junk entries (numbers, strings, nulls, lists) are dropped. */
export function objects<T>(v: T[] | undefined | null): T[] {
  if (!Array.isArray(v)) return [];
  for (let i = 0; i < v.length; i++) if (!isObject(v[i])) return v.filter(isObject);
  return v; // common case: no copy
}
