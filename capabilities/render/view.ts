/**
 * The view model the section templates read: everything derived from the IR once, in order
 * (IR → hosts → matching → targets), so templates only print.
 */
import { X509Certificate, createPrivateKey } from "node:crypto";
import type { GatewayIR, PortIR } from "../engine/ir";
import { hostDispatch, keyByHost, keyableByHost, type HostDispatch } from "./hosts";
import { portMatching, type PortMatching } from "./matching";
import {
  portTargets,
  serviceBackends,
  targetValue,
  type PortTargets,
  type RuleBackend,
  type ServiceBackend,
} from "./targets";

/** Direct-mode map value of a weighted rule: the frontend then picks a backend at random. */
export const weightedMarker = (no: number) => `~w${no}`;

export interface RenderOptions {
  /** Folder of haproxy.cfg and the runtime socket inside the pod (RUN_DIR) or a test. */
  runDir: string;
  /** Address the frontends bind ("" = all interfaces; tests use 127.0.0.1). */
  bindAddress: string;
}

export interface PortFiles {
  hosts: string;
  wildcard: string;
  exact: string;
  prefix: string;
  targets: string;
  next: string;
  chains: string;
  /** rule number → route, for the access log (access-log.ts) */
  routes: string;
  crtList: string;
}

export interface CertFile {
  file: string;
  pem: string;
  sni?: string;
}

export interface PortView {
  port: PortIR;
  bindAddress: string;
  files: PortFiles;
  hosts: HostDispatch;
  matching: PortMatching;
  targets: PortTargets;
  ruleBackends: RuleBackend[];
  /** Present for HTTPS ports with at least one certificate. */
  crtList?: CertFile[];
  /**
   * Direct mode (no gated complex rules on the port): the path maps yield the target itself
   * (a backend name, or `~w<rule>` for a weighted pick), saving a lookup per request. Otherwise
   * they yield rule numbers, compared with the complex rules, then mapped to targets.
   */
  direct: boolean;
  /** The path maps are keyed `<host>:<path>` (no Host → vhost lookup; see keyableByHost). */
  hostKeyed: boolean;
  exactMap: [string, string | number][];
  prefixMap: [string, string | number][];
}

export interface RenderView {
  gateway: { namespace: string; name: string };
  runDir: string;
  /** RenderOptions.bindAddress, for frontends that are not listener ports (health). */
  bindAddress: string;
  hasTls: boolean;
  /** Some rule mirrors requests: load the mirror Lua action. */
  hasMirror: boolean;
  ports: PortView[];
  services: ServiceBackend[];
  warnings: string[];
}

const portFiles = (port: number): PortFiles => ({
  hosts: `p${port}-hosts.map`,
  wildcard: `p${port}-wildcard.map`,
  exact: `p${port}-exact.map`,
  prefix: `p${port}-prefix.map`,
  targets: `p${port}-targets.map`,
  next: `p${port}-next.map`,
  chains: `p${port}-chains.map`,
  routes: `p${port}-routes.map`,
  crtList: `p${port}.crtlist`,
});

/** Why HAProxy would refuse this certificate/key pair, if it would. */
function certProblem(certPem: string, keyPem: string): string | undefined {
  try {
    const cert = new X509Certificate(certPem);
    if (!cert.checkPrivateKey(createPrivateKey(keyPem))) return "the private key does not match the certificate";
    return undefined;
  } catch (e) {
    return `cannot be parsed (${(e as Error).message})`;
  }
}

/**
 * Certificates of an HTTPS port; the hostname-less listener's come first (the default cert).
 * A pair HAProxy would refuse is left out with a warning, so one bad Secret cannot block the
 * whole Gateway's config.
 */
function certFiles(port: PortIR, warnings: string[]): CertFile[] {
  const listeners = port.listeners
    .map((l, i) => ({ l, i }))
    .sort((a, b) => Number(a.l.hostname !== undefined) - Number(b.l.hostname !== undefined) || a.i - b.i);
  return listeners.flatMap(({ l, i }) =>
    (l.tls?.certificates ?? []).flatMap((c, j) => {
      const problem = certProblem(c.certPem, c.keyPem);
      if (problem) {
        warnings.push(`listener ${l.id}: certificate ${c.ref.namespace}/${c.ref.name} ${problem}; not served`);
        return [];
      }
      return [
        { file: `cert-${port.port}-${i}-${j}.pem`, pem: `${c.certPem.trim()}\n${c.keyPem.trim()}\n`, sni: l.hostname },
      ];
    }),
  );
}

export function buildView(ir: GatewayIR, opts: RenderOptions): RenderView {
  const services = serviceBackends(ir.ports);
  const byName = new Map(services.map((s) => [s.name, s]));
  const warnings: string[] = [];
  const ports: PortView[] = [];
  for (const port of ir.ports) {
    const crt = port.protocol === "HTTPS" ? certFiles(port, warnings) : undefined;
    if (crt && crt.length === 0) {
      warnings.push(`port ${port.port}: HTTPS without certificates is not served`);
      continue;
    }
    const hosts = hostDispatch(port);
    const matching = portMatching(hosts.vhosts);
    warnings.push(...matching.warnings);
    const targets = portTargets(port.port, matching.rules, byName);
    const direct = matching.complex.length === 0;
    const target = new Map(
      targets.targets.map((t) => [
        t.no,
        t.choices.length === 1 ? targetValue(t.choices[0].backend, t.no) : weightedMarker(t.no),
      ]),
    );
    const hostKeyed = keyableByHost(hosts, direct);
    const values = (entries: [string, number][]): [string, string | number][] => {
      const valued: [string, string | number][] = direct ? entries.map(([k, no]) => [k, target.get(no)!]) : entries;
      return hostKeyed ? keyByHost(hosts, valued) : valued;
    };
    ports.push({
      port,
      bindAddress: opts.bindAddress,
      files: portFiles(port.port),
      hosts,
      matching,
      targets,
      ruleBackends: targets.ruleBackends,
      crtList: crt,
      direct,
      hostKeyed,
      exactMap: values(matching.exactMap),
      prefixMap: values(matching.prefixMap),
    });
  }
  const hasMirror = ports.some((p) => p.ruleBackends.some((rb) => rb.filters.some((f) => f.type === "RequestMirror")));
  return {
    gateway: ir.gateway,
    runDir: opts.runDir,
    bindAddress: opts.bindAddress,
    hasTls: ports.some((p) => p.crtList),
    hasMirror,
    ports,
    services,
    warnings,
  };
}
