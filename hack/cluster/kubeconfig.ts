/** Kubeconfig files (client-cert users against the loopback API server) and the kubectl wrapper. */
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { stringify } from "yaml";
import { APISERVER_URL, BIN, HELM_WRAPPER, KUBECONFIG, KUBECTL_WRAPPER } from "./config.js";
import { PKI } from "./pki.js";

const b64 = (file: string) => readFileSync(file).toString("base64");

const kubeconfigYaml = (user: string, cert: string, key: string, server = APISERVER_URL) =>
  stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "crossway", cluster: { server, "certificate-authority-data": b64(PKI.caCert) } }],
    users: [{ name: user, user: { "client-certificate-data": b64(cert), "client-key-data": b64(key) } }],
    contexts: [{ name: "crossway", context: { cluster: "crossway", user } }],
    "current-context": "crossway",
  });

/** Writes only when the content changed, so a running reader never sees a half-written file. */
const writeIfChanged = (file: string, content: string, mode: number) => {
  let old: string | undefined;
  try {
    old = readFileSync(file, "utf8");
  } catch {
    old = undefined;
  }
  if (old !== content) writeFileSync(file, content, { mode });
  chmodSync(file, mode);
};

export const CONTROLLER_MANAGER_KUBECONFIG = PKI.controllerManagerCert.replace(/\.crt$/, ".kubeconfig");

export function writeKubeconfigs(): void {
  writeIfChanged(KUBECONFIG, kubeconfigYaml("crossway-admin", PKI.adminCert, PKI.adminKey), 0o600);
  writeIfChanged(
    CONTROLLER_MANAGER_KUBECONFIG,
    kubeconfigYaml("system:kube-controller-manager", PKI.controllerManagerCert, PKI.controllerManagerKey),
    0o600,
  );
  writeIfChanged(
    KUBECTL_WRAPPER,
    `#!/bin/sh\n# kubectl ${BIN.kubectl} against the local crossway cluster.\nexec "${BIN.kubectl}" --kubeconfig "${KUBECONFIG}" "$@"\n`,
    0o755,
  );
  writeIfChanged(
    HELM_WRAPPER,
    `#!/bin/sh\n# helm ${BIN.helm} against the local crossway cluster.\nexec "${BIN.helm}" --kubeconfig "${KUBECONFIG}" "$@"\n`,
    0o755,
  );
}
