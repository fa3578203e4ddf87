import { ObjectIndex } from "../../capabilities/reconcilers/index";

const ns = (name: string, rv: string, uid = `uid-${name}`, labels: Record<string, string> = {}) => ({
  apiVersion: "v1",
  kind: "Namespace",
  metadata: { name, uid, resourceVersion: rv, labels },
});

describe("ObjectIndex", () => {
  it("keeps the newest version and ignores replays of older ones", () => {
    const idx = new ObjectIndex();
    expect(idx.upsert("Namespace", ns("hr", "10")).inputChanged).toBe(true);
    expect(idx.upsert("Namespace", ns("hr", "12", "uid-hr", { a: "b" })).inputChanged).toBe(true);
    expect(idx.upsert("Namespace", ns("hr", "11")).stored).toBe(false);
    expect(idx.upsert("Namespace", ns("hr", "12", "uid-hr", { a: "b" })).stored).toBe(false);
    expect(idx.get("Namespace", undefined, "hr")?.metadata?.labels).toEqual({ a: "b" });
  });

  it("a late delete of a predecessor does not remove the recreated object", () => {
    const idx = new ObjectIndex();
    idx.upsert("Namespace", ns("hr", "10", "old"));
    idx.upsert("Namespace", ns("hr", "20", "new"));
    expect(idx.remove("Namespace", ns("hr", "15", "old")).inputChanged).toBe(false);
    expect(idx.get("Namespace", undefined, "hr")?.metadata?.uid).toBe("new");
  });

  it("a late event of a predecessor does not replace the recreated object", () => {
    const idx = new ObjectIndex();
    idx.upsert("Namespace", ns("hr", "20", "new"));
    expect(idx.upsert("Namespace", ns("hr", "15", "old")).stored).toBe(false);
    expect(idx.get("Namespace", undefined, "hr")?.metadata?.uid).toBe("new");
  });

  it("a late update cannot resurrect a deleted object", () => {
    const idx = new ObjectIndex();
    idx.upsert("Namespace", ns("hr", "10"));
    idx.remove("Namespace", ns("hr", "12"));
    expect(idx.upsert("Namespace", ns("hr", "11")).stored).toBe(false);
    expect(idx.get("Namespace", undefined, "hr")).toBeUndefined();
  });

  it("status-only updates of Gateway API kinds are stored without changing the engine input", () => {
    const idx = new ObjectIndex();
    const gw = {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "Gateway",
      metadata: { name: "g", namespace: "infra", uid: "u", resourceVersion: "1", generation: 1 },
    };
    idx.upsert("Gateway", gw);
    const v = idx.version;
    const r = idx.upsert("Gateway", {
      ...gw,
      metadata: { ...gw.metadata, resourceVersion: "2" },
      status: { x: 1 },
    } as never);
    expect(r).toEqual({ stored: true, inputChanged: false });
    expect(idx.version).toBe(v);
    const spec = idx.upsert("Gateway", { ...gw, metadata: { ...gw.metadata, resourceVersion: "3", generation: 2 } });
    expect(spec.inputChanged).toBe(true);
  });

  it("holds the Secrets it is given (read by name); our config Secrets never reach the engine", () => {
    const idx = new ObjectIndex();
    const secret = (name: string, type: string, labels: Record<string, string> = {}) => ({
      apiVersion: "v1",
      kind: "Secret",
      type,
      metadata: { name, namespace: "a", uid: name, resourceVersion: "1", labels },
    });
    idx.upsert("Secret", secret("cert", "kubernetes.io/tls"));
    // a certificateRef may name an Opaque Secret: the engine is to say it has the wrong type
    idx.upsert("Secret", secret("opaque", "Opaque"));
    idx.upsert("Secret", secret("crossway-g-config", "Opaque", { "crossway.dev/gateway": "g" }));
    expect(idx.size("Secret")).toBe(3);
    expect(idx.snapshot().secrets.map((s) => s.metadata?.name)).toEqual(["cert", "opaque"]);
  });

  it("forget drops an object without a tombstone: read again later, it is held again", () => {
    const idx = new ObjectIndex();
    const cert = {
      apiVersion: "v1",
      kind: "Secret",
      type: "kubernetes.io/tls",
      metadata: { name: "cert", namespace: "a", uid: "u1", resourceVersion: "5" },
    };
    idx.upsert("Secret", cert);
    const v = idx.version;
    expect(idx.forget("Secret", "a", "cert")).toBe(true);
    expect(idx.version).toBe(v + 1);
    expect(idx.forget("Secret", "a", "cert")).toBe(false);
    expect(idx.upsert("Secret", cert)).toEqual({ stored: true, inputChanged: true });
    // whereas a DELETE remembers the uid, so a late event cannot resurrect it
    idx.remove("Secret", cert);
    expect(idx.upsert("Secret", cert).stored).toBe(false);
  });

  it("snapshot is sorted by namespace/name whatever the event order", () => {
    const a = new ObjectIndex();
    const b = new ObjectIndex();
    const objs = ["c", "a", "b"].map((n, i) => ns(n, String(i + 1)));
    objs.forEach((o) => a.upsert("Namespace", o));
    [...objs].reverse().forEach((o) => b.upsert("Namespace", o));
    expect(JSON.stringify(a.snapshot())).toBe(JSON.stringify(b.snapshot()));
    expect(a.snapshot().namespaces.map((n) => n.metadata?.name)).toEqual(["a", "b", "c"]);
  });

  it("replaceAll drops objects missing from a newer list but keeps newer-than-list ones", () => {
    const idx = new ObjectIndex();
    idx.upsert("Namespace", ns("gone", "5"));
    idx.upsert("Namespace", ns("fresh", "50"));
    idx.upsert("Namespace", ns("kept", "6"));
    expect(idx.replaceAll("Namespace", [ns("kept", "6")], "20")).toBe(true);
    expect(idx.list("Namespace").map((n) => n.metadata?.name)).toEqual(["fresh", "kept"]);
    // and the dropped one cannot come back from a stale watch event
    expect(idx.upsert("Namespace", ns("gone", "5")).stored).toBe(false);
  });
});
