/**
 * crossway's Prometheus metrics (prom-client, the library pepr's own metrics use). They live in
 * their own registry because pepr's MetricsCollector keeps its registry private and offers only
 * unlabelled counters and summaries; `exposeOnPeprEndpoint` appends them to what pepr's `/metrics`
 * serves, so one scrape of the module's endpoint returns `pepr_*` and `crossway_*` alike.
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { ObjectStatus } from "../engine/result";
import type { GatewayDataPlane } from "./dataplane";
import type { Condition } from "./status-merge";

const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export class CrosswayMetrics {
  readonly registry = new Registry();
  readonly reconcileDuration = new Histogram({
    name: "crossway_reconcile_duration_seconds",
    help: "Duration of one full reconcile (translate, data-plane sync, status writes), by outcome",
    labelNames: ["outcome"] as const,
    buckets: SECONDS,
    registers: [this.registry],
  });
  readonly reconcileFailures = new Counter({
    name: "crossway_reconcile_failures_total",
    help: "Reconciles that failed as a whole (retried with backoff)",
    registers: [this.registry],
  });
  readonly objectWriteFailures = new Counter({
    name: "crossway_object_write_failures_total",
    help: "Writes that failed for one object (status patch, a Gateway's data plane), retried for that object alone",
    labelNames: ["what"] as const,
    registers: [this.registry],
  });
  readonly objectsByCondition = new Gauge({
    name: "crossway_objects_by_condition",
    help: "Objects whose status (a route: any of its parents) carries this condition, as of the last reconcile",
    labelNames: ["kind", "type", "status", "reason"] as const,
    registers: [this.registry],
  });
  readonly publishedGeneration = new Gauge({
    name: "crossway_gateway_config_generation_published",
    help: "Config generation the controller published for the Gateway",
    labelNames: ["namespace", "gateway"] as const,
    registers: [this.registry],
  });
  readonly servedGeneration = new Gauge({
    name: "crossway_gateway_config_generation_served",
    help: "Config generation every ready data-plane pod of the Gateway serves (0: no ready pod)",
    labelNames: ["namespace", "gateway"] as const,
    registers: [this.registry],
  });
  readonly admissionDuration = new Histogram({
    name: "crossway_admission_duration_seconds",
    help: "Time crossway's validate handlers take (warnings, ownership, namespace labels), by kind and verdict",
    labelNames: ["kind", "verdict"] as const,
    buckets: SECONDS,
    registers: [this.registry],
  });
  readonly events = new Counter({
    name: "crossway_events_total",
    help: "Kubernetes Events by type and outcome (written, dropped by rate limit or full queue, failed)",
    labelNames: ["type", "outcome"] as const,
    registers: [this.registry],
  });

  /** Counts of objects by condition, replaced as a whole (objects that are gone drop out). */
  observeStatuses(statuses: ObjectStatus[]): void {
    const counts = new Map<string, { kind: string; type: string; status: string; reason: string; n: number }>();
    for (const s of statuses) {
      const st = s.status as { conditions?: Condition[]; parents?: { conditions?: Condition[] }[] };
      const conditions = [...(st.conditions ?? []), ...(st.parents ?? []).flatMap((p) => p.conditions ?? [])];
      const seen = new Set<string>();
      for (const c of conditions) {
        const key = `${s.kind}|${c.type}|${c.status}|${c.reason ?? ""}`;
        if (seen.has(key)) continue;
        seen.add(key);
        const entry = counts.get(key) ?? { kind: s.kind, type: c.type, status: c.status, reason: c.reason ?? "", n: 0 };
        entry.n++;
        counts.set(key, entry);
      }
    }
    this.objectsByCondition.reset();
    for (const { n, ...labels } of counts.values()) this.objectsByCondition.set(labels, n);
  }

  observeDataPlane(gateways: GatewayDataPlane[]): void {
    this.publishedGeneration.reset();
    this.servedGeneration.reset();
    for (const g of gateways) {
      const labels = { namespace: g.namespace, gateway: g.name };
      this.publishedGeneration.set(labels, g.generation);
      this.servedGeneration.set(labels, g.servedGeneration ?? 0);
    }
  }

  /** Time an admission handler; the verdict label says what it answered. */
  timeAdmission<T extends { allowed?: boolean; warnings?: string[] }>(kind: string, handler: () => T): T {
    const end = this.admissionDuration.startTimer({ kind });
    let verdict = "error";
    try {
      const res = handler();
      verdict = res.allowed === false ? "denied" : res.warnings?.length ? "warned" : "allowed";
      return res;
    } finally {
      end({ verdict });
    }
  }
}

/** The process's metrics (the watcher's controller and the admission handlers report here). */
export const moduleMetrics = new CrosswayMetrics();

/**
 * Serve `registry` on pepr's `/metrics` too: pepr's controller calls `collector.getMetrics()` per
 * scrape, so wrapping it appends our text exposition to pepr's (distinct names, one document).
 */
export function exposeOnPeprEndpoint(collector: { getMetrics: () => Promise<string> }, registry: Registry): void {
  const pepr = collector.getMetrics.bind(collector);
  collector.getMetrics = async () => {
    const [theirs, ours] = await Promise.all([pepr(), registry.metrics()]);
    return theirs.endsWith("\n") || theirs === "" ? theirs + ours : `${theirs}\n${ours}`;
  };
}
