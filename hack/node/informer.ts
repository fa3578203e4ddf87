/**
 * List+watch cache for one resource path (e.g. /api/v1/pods). Keeps the last-seen object per
 * namespace/name, relists on 410 Gone or stream errors, and reports upserts and deletions
 * (including deletions only noticed by a relist) to one handler.
 */
import { Kube, KubeObject, isStatus } from "./kube.js";
import { Log, errInfo } from "./log.js";

export type Change<T> = { type: "upsert"; obj: T; old?: T } | { type: "delete"; obj: T };

const keyOf = (o: KubeObject) => `${o.metadata.namespace ?? ""}/${o.metadata.name}`;

export class Informer<T extends KubeObject> {
  readonly cache = new Map<string, T>();
  private rv = "";
  private readonly ctl = new AbortController();
  private resolveSynced!: () => void;
  readonly synced = new Promise<void>((r) => (this.resolveSynced = r));

  constructor(
    private readonly kube: Kube,
    private readonly path: string,
    private readonly onChange: (c: Change<T>) => void,
    private readonly log: Log,
  ) {}

  get(namespace: string | undefined, name: string): T | undefined {
    return this.cache.get(`${namespace ?? ""}/${name}`);
  }

  list(): T[] {
    return [...this.cache.values()];
  }

  stop() {
    this.ctl.abort();
  }

  start(): this {
    void this.run();
    return this;
  }

  private emit(c: Change<T>) {
    try {
      this.onChange(c);
    } catch (err) {
      this.log.error({ path: this.path, key: keyOf(c.obj), err: errInfo(err) }, "informer handler threw");
    }
  }

  private async relist() {
    const list = await this.kube.request<{ metadata: { resourceVersion: string }; items: T[] }>("GET", this.path);
    const seen = new Set<string>();
    for (const obj of list.items) {
      const key = keyOf(obj);
      seen.add(key);
      const old = this.cache.get(key);
      this.cache.set(key, obj);
      if (old?.metadata.resourceVersion !== obj.metadata.resourceVersion) this.emit({ type: "upsert", obj, old });
    }
    for (const [key, obj] of [...this.cache]) {
      if (!seen.has(key)) {
        this.cache.delete(key);
        this.emit({ type: "delete", obj });
      }
    }
    this.rv = list.metadata.resourceVersion;
    this.resolveSynced();
  }

  private onEvent(type: string, obj: T) {
    if (obj.metadata?.resourceVersion) this.rv = obj.metadata.resourceVersion;
    if (type === "BOOKMARK") return;
    const key = keyOf(obj);
    if (type === "DELETED") {
      this.cache.delete(key);
      this.emit({ type: "delete", obj });
      return;
    }
    const old = this.cache.get(key);
    this.cache.set(key, obj);
    this.emit({ type: "upsert", obj, old });
  }

  private async run() {
    let backoff = 500;
    let needList = true;
    while (!this.ctl.signal.aborted) {
      try {
        if (needList) await this.relist();
        needList = false;
        backoff = 500;
        const sep = this.path.includes("?") ? "&" : "?";
        const q = `watch=1&allowWatchBookmarks=true&timeoutSeconds=300&resourceVersion=${encodeURIComponent(this.rv)}`;
        await this.kube.watchStream(`${this.path}${sep}${q}`, (t, o) => this.onEvent(t, o as T), this.ctl.signal);
      } catch (err) {
        if (this.ctl.signal.aborted) return;
        needList = true;
        if (!isStatus(err, 410)) {
          this.log.warn({ path: this.path, err: errInfo(err), retryMs: backoff }, "watch failed; relisting");
          await new Promise((r) => setTimeout(r, backoff));
          backoff = Math.min(backoff * 2, 10_000);
        }
      }
    }
  }
}
