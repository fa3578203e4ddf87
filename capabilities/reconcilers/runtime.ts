/**
 * The process-wide controller and the named functions the capability routes events to.
 * `startForRole()` starts what this process's role needs:
 * - build (`pepr build` loading the module): nothing;
 * - watcher (PEPR_WATCH_MODE=true) or dev (`pepr dev`, hack/dev-module.ts): prime the index,
 *   then the reconcile loop;
 * - admission (pepr's webhook Deployment runs no watches): own watches to keep the index that
 *   the warnings read current.
 * - watcher and admission (not dev): the webhook certificate's expiry, reported at start and daily
 *   (certificate-expiry.ts).
 */
import { metricsCollector } from "pepr";
import { translate } from "../engine";
import { renderGateway } from "../render";
import { dataPlaneObjects } from "../dataplane/manifests";
import type { KubernetesObject } from "kubernetes-fluent-client";
import type { DataPlaneManifests } from "./dataplane";
import { readSettings } from "./config";
import { Controller } from "./controller";
import { admissionHandlers } from "./admission";
import { liveKubeClient } from "./kube";
import { describeError, log } from "./log";
import { chooseConfigCheck } from "./config-checks";
import { watchCertificateExpiry } from "./certificate-expiry";
import { exposeOnPeprEndpoint, moduleMetrics } from "./metrics";

/** The data-plane objects of one Gateway: one Service port per IR port. */
const gatewayManifests: DataPlaneManifests = (gw, ir) => {
  const owner = {
    name: gw.metadata!.name!,
    namespace: gw.metadata!.namespace!,
    uid: gw.metadata!.uid!,
    infrastructure: gw.spec?.infrastructure,
  };
  return dataPlaneObjects(
    owner,
    ir.ports.map((p) => p.port),
  ) as unknown as KubernetesObject[];
};

/** `haproxy -c` for vetting configs before they are published (config-checks.ts picks which). */
const configCheck = () => (process.env.PEPR_MODE === "build" ? undefined : chooseConfigCheck(process.env, log));

const problems: string[] = [];
const settings = readSettings(process.env, problems);
problems.forEach((p) => log.error({ setting: p }, "invalid module setting"));

export const controller = new Controller({
  settings,
  kube: liveKubeClient(),
  translate,
  dataPlane: { render: (ir) => renderGateway(ir), manifests: gatewayManifests, check: configCheck() },
  metrics: moduleMetrics,
});

// crossway_* metrics on pepr's /metrics (port 3000 of the watcher and admission pods).
exposeOnPeprEndpoint(metricsCollector, moduleMetrics.registry);

export const upserted = controller.upserted;
export const deleted = controller.deleted;

export const {
  warnHTTPRoute,
  warnGRPCRoute,
  warnGateway,
  warnListenerSet,
  warnReferenceGrant,
  enforceNamespaceLabels,
} = admissionHandlers(controller, translate);

export function startForRole(env: NodeJS.ProcessEnv = process.env): void {
  if (env.PEPR_MODE === "build") return;
  const role = env.PEPR_WATCH_MODE === "true" || env.PEPR_MODE === "dev" ? "controller" : "admission";
  log.info({ role, controllerName: settings.controllerName }, "crossway starting");
  if (env.PEPR_MODE === "dev" && process.connected) {
    // Started by hack/dev-module.ts: do not outlive it.
    process.once("disconnect", () => process.kill(process.pid, "SIGTERM"));
  }
  // in the cluster both roles serve pepr's HTTPS endpoints with the install's webhook certificate
  // (dev mode uses a throwaway one), at pepr's default path unless SSL_CERT_PATH names another
  if (env.PEPR_MODE !== "dev") watchCertificateExpiry(env.SSL_CERT_PATH || "/etc/certs/tls.crt", log);
  const started = role === "controller" ? controller.start() : controller.startWatchingDirectly();
  started.catch((e) => log.error(describeError(e), `crossway ${role} failed to start`));
}
