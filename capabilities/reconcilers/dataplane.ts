/**
 * Per Gateway in the IR: publish the rendered config as the Gateway's config Secret (only when its
 * content hash changed, with a generation that survives controller restarts), server-side apply
 * the data-plane objects, and work out what the data plane actually serves:
 * - `addresses` from the data-plane LoadBalancer Service's ingress;
 * - Programmed=True only when at least one ready data-plane pod exists and every ready one
 *   reports (ANN_SERVED_GENERATION) the current config generation; otherwise Pending / Invalid /
 *   AddressNotAssigned with a message saying what it waits for (the `dataPlane` conditions of
 *   engine/conditions.ts).
 * Data-plane objects of Gateways that are no longer ours are deleted (deleted Gateways are left
 * to owner references and the garbage collector).
 */
import { createHash } from "node:crypto";
import type { KubernetesObject } from "kubernetes-fluent-client";
import type { GatewayIR } from "../engine/ir";
import type { Gateway } from "../crd";
import { dataPlane as P, type Condition } from "../engine/conditions";
import {
  ANN_CONFIG_GENERATION,
  ANN_CONFIG_HASH,
  ANN_REJECTED,
  ANN_SERVED_GENERATION,
  ANN_VETTED_WITH,
  LABEL_COMPONENT,
  LABEL_GATEWAY,
  CONTROLLER_NAME,
  configSecretName,
  dataPlaneName,
} from "../dataplane/conventions";
import { propagatedAnnotations, propagatedLabels } from "../dataplane/metadata";
import { encodeConfigFiles } from "../dataplane/secret-data";
import type { ObjectIndex } from "./index";
import type { KubeClient } from "./kube";
import { describeError, log as rootLog, type Logger } from "./log";
import { canonical } from "./status-merge";

export type RenderGateway = (ir: GatewayIR) => { files: Record<string, string>; warnings?: string[] };
/**
 * The data-plane objects (Deployment, Service, RBAC …) of one Gateway. Called with an IR without
 * ports only to learn the identities of what to delete.
 */
export type DataPlaneManifests = (gateway: Gateway, ir: GatewayIR) => KubernetesObject[];

/** The Programmed condition of a Gateway as its data plane serves it (a `dataPlane` condition). */
export type ProgrammedState = Condition;

export interface GatewayDataPlane {
  namespace: string;
  name: string;
  generation: number;
  /** The generation every ready data-plane pod serves (0: no ready pod); for metrics. */
  servedGeneration?: number;
  addresses: { type: "IPAddress" | "Hostname"; value: string }[];
  programmed: ProgrammedState;
}

export interface SyncResult {
  gateways: GatewayDataPlane[];
  errors: { namespace: string; name: string; error: string; status?: number }[];
}

const CONFIG_COMPONENT = "crossway-config";
/**
 * On the config Secret: sha256 of its propagated labels/annotations, so a change of the Gateway's
 * spec.infrastructure re-applies the Secret (same generation: the files did not change).
 */
const ANN_METADATA_HASH = "crossway.dev/metadata-hash";
/**
 * On the config Secret: the controllerName of the crossway that wrote it. Another crossway (other
 * controllerName) in the same cluster never deletes it as the data plane of "a Gateway that is no
 * longer ours". Secrets without it (written before it existed) count as ours.
 */
const ANN_CONTROLLER = "crossway.dev/controller-name";
const REJECTED_MAX = 400;

export function configHash(files: Record<string, string>): string {
  const h = createHash("sha256");
  for (const name of Object.keys(files).sort()) h.update(`${name}\0${files[name]}\0`);
  return h.digest("hex");
}

const ownerRef = (gw: Gateway) => ({
  apiVersion: "gateway.networking.k8s.io/v1",
  kind: "Gateway",
  name: gw.metadata!.name!,
  uid: gw.metadata!.uid!,
  controller: true,
  blockOwnerDeletion: true,
});

const objKey = (o: KubernetesObject) =>
  `${o.apiVersion}/${o.kind}/${o.metadata?.namespace ?? ""}/${o.metadata?.name ?? ""}`;

interface PodLike extends KubernetesObject {
  status?: { conditions?: { type: string; status: string }[] };
}

const podName = (p: PodLike) => String(p.metadata?.name);

const isReady = (p: PodLike) =>
  !p.metadata?.deletionTimestamp && (p.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");

export function programmedState(
  pods: PodLike[],
  generation: number,
  addresses: GatewayDataPlane["addresses"],
  serviceName: string,
): ProgrammedState {
  const ready = pods.filter(isReady);
  const served = (p: PodLike) => Number(p.metadata?.annotations?.[ANN_SERVED_GENERATION] ?? "0") || 0;
  const behind = ready.filter((p) => served(p) < generation);
  const rejected = pods.find((p) => p.metadata?.annotations?.[ANN_REJECTED] && served(p) < generation);
  if (rejected) {
    const why = String(rejected.metadata!.annotations![ANN_REJECTED]).slice(0, REJECTED_MAX);
    return P.podRejected(podName(rejected), generation, why);
  }
  if (ready.length === 0) return P.noReadyPod(generation, pods.length);
  if (behind.length > 0) {
    const list = behind.map((p) => ({ pod: podName(p), serves: served(p) }));
    return P.podsBehind(generation, ready.length, list);
  }
  if (addresses.length === 0) return P.addressNotAssigned(generation, serviceName);
  return P.serving(generation, ready.length);
}

/** The config generation all ready pods serve: the oldest one a ready pod reports (0 if none is ready). */
export function servedGeneration(pods: PodLike[]): number {
  const ready = pods.filter(isReady);
  if (ready.length === 0) return 0;
  return Math.min(...ready.map((p) => Number(p.metadata?.annotations?.[ANN_SERVED_GENERATION] ?? "0") || 0));
}

export function serviceAddresses(svc: KubernetesObject | undefined): GatewayDataPlane["addresses"] {
  const ingress =
    (svc as { status?: { loadBalancer?: { ingress?: { ip?: string; hostname?: string }[] } } })?.status?.loadBalancer
      ?.ingress ?? [];
  const out: GatewayDataPlane["addresses"] = [];
  for (const i of ingress) {
    if (i.ip) out.push({ type: "IPAddress", value: i.ip });
    else if (i.hostname) out.push({ type: "Hostname", value: i.hostname });
  }
  return out;
}

export class DataPlaneSync {
  readonly #kube: KubeClient;
  readonly #index: ObjectIndex;
  readonly #render: RenderGateway;
  readonly #manifests: DataPlaneManifests;
  readonly #log: Logger;
  readonly #controllerName: string;
  /**
   * The HAProxy version line the configs published now were checked with (config-vet.ts), if they
   * were: asked at each publish, as a check may be unavailable for a while (config-checks.ts).
   */
  readonly #vettedWith: () => string | undefined;
  /** What we last applied successfully, by object key → canonical JSON. Lost on restart (re-apply once). */
  #applied = new Map<string, string>();

  constructor(
    kube: KubeClient,
    index: ObjectIndex,
    render: RenderGateway,
    manifests: DataPlaneManifests,
    opts: { log?: Logger; controllerName?: string; vettedWith?: () => string | undefined } = {},
  ) {
    this.#kube = kube;
    this.#index = index;
    this.#render = render;
    this.#manifests = manifests;
    this.#log = (opts.log ?? rootLog).child({ sync: "dataplane" });
    this.#controllerName = opts.controllerName ?? CONTROLLER_NAME;
    this.#vettedWith = opts.vettedWith ?? (() => undefined);
  }

  /**
   * `refused`: Gateways (`ns/name`) whose own configuration the data plane refuses (config-vet.ts):
   * nothing new is published for them, the last accepted config keeps serving, and Programmed
   * says why.
   */
  async sync(
    irs: GatewayIR[],
    isOurs: (gw: Gateway) => boolean,
    refused: ReadonlyMap<string, string> = new Map(),
  ): Promise<SyncResult> {
    const result: SyncResult = { gateways: [], errors: [] };
    for (const ir of irs) {
      const { namespace, name } = ir.gateway;
      try {
        const gw = this.#index.get<Gateway>("Gateway", namespace, name);
        if (!gw) continue;
        result.gateways.push(await this.#syncOne(gw, ir, refused.get(`${namespace}/${name}`)));
      } catch (e) {
        const d = describeError(e);
        result.errors.push({ namespace, name, ...d });
        this.#log.error({ ...d, namespace, name }, "data-plane sync failed");
      }
    }
    await this.#removeForeign(irs, isOurs, result);
    return result;
  }

  async #syncOne(gw: Gateway, ir: GatewayIR, refused: string | undefined): Promise<GatewayDataPlane> {
    const namespace = gw.metadata!.namespace!;
    const name = gw.metadata!.name!;
    const generation = refused === undefined ? await this.#publishConfig(gw, ir) : this.#publishedGeneration(gw);
    for (const obj of this.#manifests(gw, ir)) await this.#applyIfChanged(obj);
    const serviceName = dataPlaneName(name);
    const addresses = serviceAddresses(this.#index.get("Service", namespace, serviceName));
    const pods = this.#pods(namespace, name);
    return {
      namespace,
      name,
      generation,
      servedGeneration: servedGeneration(pods),
      addresses,
      programmed:
        refused === undefined
          ? programmedState(pods, generation, addresses, serviceName)
          : P.configRefused(generation, refused),
    };
  }

  /** The config generation in the Gateway's config Secret (0 if none). */
  #publishedGeneration(gw: Gateway): number {
    const secret = this.#index.get("Secret", gw.metadata!.namespace!, configSecretName(gw.metadata!.name!));
    return Number(secret?.metadata?.annotations?.[ANN_CONFIG_GENERATION] ?? "0") || 0;
  }

  /** Returns the config generation now published for this Gateway. */
  async #publishConfig(gw: Gateway, ir: GatewayIR): Promise<number> {
    const namespace = gw.metadata!.namespace!;
    const gwName = gw.metadata!.name!;
    const secretName = configSecretName(gwName);
    const { files, warnings } = this.#render(ir);
    const hash = configHash(files);
    const infra = gw.spec?.infrastructure;
    const labels = propagatedLabels(gwName, infra, { [LABEL_GATEWAY]: gwName, [LABEL_COMPONENT]: CONFIG_COMPONENT });
    const metaHash = configHash({
      labels: JSON.stringify(labels),
      annotations: JSON.stringify(propagatedAnnotations(infra)),
      controller: this.#controllerName,
    });
    // The index holds what we wrote or last read (secrets.ts re-reads it); if it holds nothing
    // yet (a read under way), the API server is asked.
    const existing =
      this.#index.get("Secret", namespace, secretName) ??
      (await this.#kube.get("Secret", { namespace, name: secretName }));
    const ann = existing?.metadata?.annotations ?? {};
    const current = Number(ann[ANN_CONFIG_GENERATION] ?? "0") || 0;
    const sameFiles = !!existing && ann[ANN_CONFIG_HASH] === hash;
    // A Gateway deleted and created again under the same name: the garbage collector is about to
    // delete the old Secret, unless it is applied again with the new owner.
    const owned = (existing?.metadata?.ownerReferences ?? []).some((r) => r.uid === gw.metadata?.uid);
    if (sameFiles && owned && ann[ANN_METADATA_HASH] === metaHash) return current;
    // Never go backwards, even if the Secret was deleted: pods report what they serve.
    const generation = sameFiles ? current : Math.max(current, this.#servedMax(namespace, gwName)) + 1;
    const vettedWith = this.#vettedWith();
    const secret = {
      apiVersion: "v1",
      kind: "Secret",
      type: "Opaque",
      metadata: {
        name: secretName,
        namespace,
        labels,
        annotations: propagatedAnnotations(infra, {
          [ANN_CONFIG_GENERATION]: String(generation),
          [ANN_CONFIG_HASH]: hash,
          [ANN_METADATA_HASH]: metaHash,
          [ANN_CONTROLLER]: this.#controllerName,
          ...(vettedWith ? { [ANN_VETTED_WITH]: vettedWith } : {}),
        }),
        ownerReferences: [ownerRef(gw)],
      },
      // Files over 64 KiB gzip-compressed: a 10k-route haproxy.cfg (~2 MB) would exceed the 1 MiB Secret limit.
      data: encodeConfigFiles(files),
    };
    const applied = await this.#kube.apply(secret as KubernetesObject);
    this.#index.upsert("Secret", applied);
    this.#log.info(
      {
        namespace,
        gateway: gwName,
        generation,
        hash: hash.slice(0, 12),
        renderWarnings: warnings?.length ? warnings : undefined,
      },
      sameFiles ? "updated data-plane config labels/annotations" : "published data-plane config",
    );
    return generation;
  }

  #servedMax(namespace: string, gwName: string): number {
    return this.#pods(namespace, gwName).reduce(
      (m, p) => Math.max(m, Number(p.metadata?.annotations?.[ANN_SERVED_GENERATION] ?? "0") || 0),
      0,
    );
  }

  #pods(namespace: string, gwName: string): PodLike[] {
    return this.#index
      .list<PodLike>("Pod")
      .filter((p) => p.metadata?.namespace === namespace && p.metadata?.labels?.[LABEL_GATEWAY] === gwName);
  }

  /** Forget what was applied, so the next sync re-applies every object (repairs manual edits). */
  forgetApplied(): void {
    this.#applied.clear();
  }

  async #applyIfChanged(obj: KubernetesObject) {
    const key = objKey(obj);
    const want = canonical(obj);
    if (this.#applied.get(key) === want) return;
    await this.#kube.apply(obj);
    this.#applied.set(key, want);
    this.#log.info(
      { kind: obj.kind, namespace: obj.metadata?.namespace, name: obj.metadata?.name },
      "applied data-plane object",
    );
  }

  /** Config Secrets of Gateways that exist but are not ours any more: delete their data plane. */
  async #removeForeign(irs: GatewayIR[], isOurs: (gw: Gateway) => boolean, result: SyncResult) {
    const programmed = new Set(irs.map((i) => `${i.gateway.namespace}/${i.gateway.name}`));
    for (const secret of this.#index.list("Secret")) {
      const gwName = secret.metadata?.labels?.[LABEL_GATEWAY];
      const namespace = secret.metadata?.namespace ?? "";
      if (!gwName || secret.metadata?.labels?.[LABEL_COMPONENT] !== CONFIG_COMPONENT) continue;
      const writer = secret.metadata?.annotations?.[ANN_CONTROLLER];
      if (writer !== undefined && writer !== this.#controllerName) continue; // another crossway's
      if (programmed.has(`${namespace}/${gwName}`)) continue;
      const gw = this.#index.get<Gateway>("Gateway", namespace, gwName);
      if (!gw || isOurs(gw)) continue; // gone: GC handles it; ours but not accepted: keep serving
      try {
        // one placeholder port so that port-dependent objects (the Service) are listed too
        const empty: GatewayIR = {
          gateway: { namespace, name: gwName },
          generation: 0,
          ports: [{ port: 1, protocol: "HTTP", listeners: [] }],
        };
        for (const obj of this.#manifests(gw, empty)) {
          await this.#kube.delete(obj);
          this.#applied.delete(objKey(obj));
        }
        await this.#kube.delete(secret);
        this.#index.remove("Secret", secret);
        this.#log.info({ namespace, gateway: gwName }, "removed data plane of a Gateway that is no longer ours");
      } catch (e) {
        const d = describeError(e);
        result.errors.push({ namespace, name: gwName, ...d });
        this.#log.error({ ...d, namespace, gateway: gwName }, "data-plane removal failed");
      }
    }
  }
}
