/**
 * Keeps the cluster-scoped RouteOwnershipIndex `crossway` equal to the engine's ownership index:
 * the parameter of the ValidatingAdmissionPolicies (policy/ownership-vap.ts) that refuse, in the
 * API server itself, the route writes an `admission: Deny` policy would cut back. Written on the
 * first run and then only when it changes; a failed write waits out its own backoff and never
 * holds up statuses or the data plane.
 */
import type { KubernetesObject } from "kubernetes-fluent-client";
import { OWNERSHIP_INDEX_NAME, type OwnershipIndexSpec } from "../engine/graph/ownership-index";
import type { KubeClient } from "./kube";
import { describeError, type Logger } from "./log";
import { ObjectRetries, type RetryPolicy } from "./retries";

const KEY = "RouteOwnershipIndex";

export class OwnershipIndexWriter {
  readonly #kube: KubeClient;
  readonly #log: Logger;
  readonly #retries: ObjectRetries;
  /** JSON of the spec last written (undefined: nothing written by this process yet). */
  #written: string | undefined;

  constructor(kube: KubeClient, opts: { log: Logger; retry: RetryPolicy }) {
    this.#kube = kube;
    this.#log = opts.log;
    this.#retries = new ObjectRetries(opts.retry);
  }

  /** Write the index if it changed; returns when to try again after a failure. */
  async write(spec: OwnershipIndexSpec): Promise<number | undefined> {
    const json = JSON.stringify(spec);
    if (json === this.#written || !this.#retries.due(KEY, json)) return this.#retries.nextRetryInMs();
    const obj = {
      apiVersion: "crossway.dev/v1alpha1",
      kind: "RouteOwnershipIndex",
      metadata: { name: OWNERSHIP_INDEX_NAME, labels: { "app.kubernetes.io/part-of": "crossway" } },
      spec,
    } as KubernetesObject;
    try {
      await this.#kube.apply(obj);
      this.#written = json;
      this.#retries.succeeded(KEY);
      this.#log.info(
        { kind: KEY, name: OWNERSHIP_INDEX_NAME, listeners: spec.listeners.length },
        "ownership admission index written",
      );
      return undefined;
    } catch (e) {
      const { attempt, retryInMs } = this.#retries.failed(KEY, { fingerprint: json });
      this.#log.warn(
        { kind: KEY, name: OWNERSHIP_INDEX_NAME, ...describeError(e), attempt, retryInMs },
        "writing the ownership admission index failed; admission: Deny holds only while the module is up",
      );
      return retryInMs;
    }
  }
}
