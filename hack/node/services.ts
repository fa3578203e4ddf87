/**
 * Service load balancer, the k3s servicelb way without its proxy pods: a Service of type
 * LoadBalancer (with no loadBalancerClass) gets status.loadBalancer.ingress[0].ip = the IP of a
 * ready endpoint pod. Gateway pods listen on the Service's ports themselves, so
 * http://<ip>:<port> from the host reaches them. Re-evaluated on every Service/EndpointSlice change;
 * the current IP is kept while it stays ready.
 */
import { Informer } from "./informer.js";
import { Kube, KubeObject, isStatus } from "./kube.js";
import { Log, errInfo } from "./log.js";

export interface Service extends KubeObject {
  spec: {
    type?: string;
    loadBalancerClass?: string;
    ports?: { port: number; targetPort?: number | string; protocol?: string }[];
  };
  status?: { loadBalancer?: { ingress?: { ip?: string }[] } };
}
export interface EndpointSlice extends KubeObject {
  addressType?: string;
  endpoints?: { addresses: string[]; conditions?: { ready?: boolean; terminating?: boolean } }[];
}

/** Ready IPv4 endpoint addresses of a Service, sorted. */
export const readyAddresses = (slices: EndpointSlice[]): string[] =>
  [
    ...new Set(
      slices
        .filter((s) => (s.addressType ?? "IPv4") === "IPv4")
        .flatMap((s) => s.endpoints ?? [])
        .filter((e) => e.conditions?.ready !== false && !e.conditions?.terminating)
        .flatMap((e) => e.addresses),
    ),
  ].sort();

/** The ingress IP to publish: the current one while it is still ready, else the first ready one. */
export const chooseIngress = (current: string | undefined, ready: string[]): string | undefined =>
  current && ready.includes(current) ? current : ready[0];

export class ServiceLB {
  private pending = new Set<string>();
  private warned = new Set<string>();
  /** nothing is published before both caches are synced (an empty slice cache would clear every ingress) */
  private started = false;
  private scheduled = false;

  constructor(
    private readonly kube: Kube,
    private readonly services: () => Informer<Service>,
    private readonly slices: () => Informer<EndpointSlice>,
    private readonly log: Log,
  ) {}

  /** Queue a Service (namespace/name) for evaluation; coalesces bursts of events. */
  enqueue(key: string) {
    this.pending.add(key);
    if (this.scheduled || !this.started) return;
    this.scheduled = true;
    setTimeout(() => void this.drain(), 50);
  }

  /** Call once the Service and EndpointSlice caches are synced. */
  start() {
    this.started = true;
    for (const s of this.services().list()) this.enqueue(`${s.metadata.namespace}/${s.metadata.name}`);
  }

  private async drain() {
    this.scheduled = false;
    const keys = [...this.pending];
    this.pending.clear();
    for (const key of keys) {
      try {
        await this.reconcile(key);
      } catch (err) {
        this.log.warn({ service: key, err: errInfo(err) }, "load balancer status update failed; retrying");
        setTimeout(() => this.enqueue(key), 2000);
      }
    }
  }

  private async reconcile(key: string) {
    const [ns, name] = key.split("/");
    const svc = this.services().get(ns, name);
    if (!svc || svc.spec.type !== "LoadBalancer" || svc.spec.loadBalancerClass) return;
    const slices = this.slices()
      .list()
      .filter((s) => s.metadata.namespace === ns && s.metadata.labels?.["kubernetes.io/service-name"] === name);
    const remapped = (svc.spec.ports ?? []).filter((p) => typeof p.targetPort === "number" && p.targetPort !== p.port);
    if (remapped.length && !this.warned.has(key)) {
      this.warned.add(key);
      this.log.warn(
        { service: key, ports: remapped.map((p) => `${p.port}->${p.targetPort}`) },
        "LoadBalancer ports differ from their targetPorts: the ingress IP is a pod IP, so only <ip>:<targetPort> answers",
      );
    }
    const current = svc.status?.loadBalancer?.ingress?.[0]?.ip;
    const want = chooseIngress(current, readyAddresses(slices));
    const have = (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip);
    if (want ? have.length === 1 && have[0] === want : have.length === 0) return;
    const ingress = want
      ? [
          {
            ip: want,
            ipMode: "VIP",
            ports: (svc.spec.ports ?? []).map((p) => ({ port: p.port, protocol: p.protocol ?? "TCP" })),
          },
        ]
      : null;
    try {
      await this.kube.request(
        "PATCH",
        `/api/v1/namespaces/${ns}/services/${name}/status`,
        { status: { loadBalancer: { ingress } } },
        "merge",
      );
    } catch (err) {
      if (isStatus(err, 404)) return;
      throw err;
    }
    this.log.info({ service: key, ingress: want ?? null, was: current ?? null }, "load balancer ingress");
  }
}
