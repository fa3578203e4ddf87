/**
 * The cluster's PKI, made once with openssl and reused: a CA, the API server's serving cert (SANs
 * cover loopback, the pod bridge gateway and the in-cluster service names), client certs for the
 * admin user and the controller manager, the aggregation layer's front-proxy CA and client cert
 * (as kubeadm makes them), and the service-account signing key pair.
 * ECDSA P-256 throughout: generating it takes milliseconds, which keeps a cold local:up fast.
 */
import { execFile } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { BRIDGE_IP, DIRS, KUBERNETES_SERVICE_IP } from "./config.js";
import { log } from "./log.js";

const run = promisify(execFile);
const openssl = async (...args: string[]) => {
  try {
    await run("openssl", args, { cwd: DIRS.pki });
  } catch (err) {
    throw new Error(`openssl ${args.join(" ")} failed: ${(err as { stderr?: string }).stderr ?? err}`);
  }
};

const p = (name: string) => join(DIRS.pki, name);
export const PKI = {
  caCert: p("ca.crt"),
  caKey: p("ca.key"),
  apiserverCert: p("apiserver.crt"),
  apiserverKey: p("apiserver.key"),
  adminCert: p("admin.crt"),
  adminKey: p("admin.key"),
  controllerManagerCert: p("controller-manager.crt"),
  controllerManagerKey: p("controller-manager.key"),
  frontProxyCaCert: p("front-proxy-ca.crt"),
  frontProxyCaKey: p("front-proxy-ca.key"),
  frontProxyClientCert: p("front-proxy-client.crt"),
  frontProxyClientKey: p("front-proxy-client.key"),
  saKey: p("sa.key"),
  saPub: p("sa.pub"),
} as const;

const APISERVER_SANS = [
  "IP:127.0.0.1",
  `IP:${BRIDGE_IP}`,
  `IP:${KUBERNETES_SERVICE_IP}`,
  "DNS:localhost",
  "DNS:kubernetes",
  "DNS:kubernetes.default",
  "DNS:kubernetes.default.svc",
  "DNS:kubernetes.default.svc.cluster.local",
];

const DAYS = "3650";
const ecKey = (out: string) =>
  openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", out);

const makeCa = async (cert: string, key: string, cn: string) => {
  await ecKey(key);
  await openssl(
    "req",
    "-x509",
    "-new",
    "-key",
    key,
    "-subj",
    `/CN=${cn}`,
    "-days",
    DAYS,
    "-sha256",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
    "-out",
    cert,
  );
  log.info({ ca: cert }, "created CA");
};

/** Signs a leaf cert for `subject` with a CA; `ext` is an openssl extension section body. */
const signLeaf = async (name: string, subject: string, ext: string[], ca = { cert: PKI.caCert, key: PKI.caKey }) => {
  const key = p(`${name}.key`);
  const extFile = p(`${name}.ext`);
  await ecKey(key);
  await openssl("req", "-new", "-key", key, "-subj", subject, "-out", p(`${name}.csr`));
  writeFileSync(extFile, ext.join("\n") + "\n");
  await openssl(
    "x509",
    "-req",
    "-in",
    p(`${name}.csr`),
    "-CA",
    ca.cert,
    "-CAkey",
    ca.key,
    "-CAcreateserial",
    "-days",
    DAYS,
    "-sha256",
    "-extfile",
    extFile,
    "-out",
    p(`${name}.crt`),
  );
};

const CLIENT_EXT = [
  "basicConstraints=critical,CA:FALSE",
  "keyUsage=critical,digitalSignature",
  "extendedKeyUsage=clientAuth",
];

/** Creates whatever part of the PKI is missing; existing files are kept (idempotent). */
export async function ensurePki(): Promise<void> {
  if (!existsSync(PKI.caCert) || !existsSync(PKI.caKey)) await makeCa(PKI.caCert, PKI.caKey, "crossway-local-ca");
  if (!existsSync(PKI.apiserverCert)) {
    await signLeaf("apiserver", "/CN=kube-apiserver", [
      "basicConstraints=critical,CA:FALSE",
      "keyUsage=critical,digitalSignature,keyEncipherment",
      "extendedKeyUsage=serverAuth",
      `subjectAltName=${APISERVER_SANS.join(",")}`,
    ]);
    log.info({ sans: APISERVER_SANS }, "created API server serving cert");
  }
  if (!existsSync(PKI.adminCert)) {
    await signLeaf("admin", "/O=system:masters/CN=crossway-admin", CLIENT_EXT);
  }
  if (!existsSync(PKI.controllerManagerCert)) {
    await signLeaf("controller-manager", "/CN=system:kube-controller-manager", CLIENT_EXT);
  }
  if (!existsSync(PKI.frontProxyCaCert) || !existsSync(PKI.frontProxyCaKey)) {
    await makeCa(PKI.frontProxyCaCert, PKI.frontProxyCaKey, "crossway-front-proxy-ca");
  }
  if (!existsSync(PKI.frontProxyClientCert)) {
    await signLeaf("front-proxy-client", "/CN=front-proxy-client", CLIENT_EXT, {
      cert: PKI.frontProxyCaCert,
      key: PKI.frontProxyCaKey,
    });
  }
  if (!existsSync(PKI.saKey) || !existsSync(PKI.saPub)) {
    await ecKey(PKI.saKey);
    await openssl("pkey", "-in", PKI.saKey, "-pubout", "-out", PKI.saPub);
    log.info({ key: PKI.saKey }, "created service-account signing key pair");
  }
}
