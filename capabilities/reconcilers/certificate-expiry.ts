/**
 * The webhook's serving certificate is made per install with a validity of a year (`npm run
 * credentials`, or the Helm chart at install). Once it expires the API server cannot call the
 * webhook, and with failurePolicy Ignore the admission warnings and the webhook half of the label
 * policy stop without a sound. Both controller roles mount it, so each says when it expires at
 * start and checks again daily: a warning from 30 days before (what to run to renew it), an error
 * once expired. A certificate that cannot be read is reported, never fatal.
 */
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Logger } from "./log";

export const WARN_DAYS = 30;
const DAY_MS = 86_400_000;
const RENEW = "renew it: rerun `npm run credentials` with the install's overlay as --out, or `helm upgrade` the chart";

export function certificateExpiry(pem: string | Buffer, now: Date) {
  const cert = new X509Certificate(pem);
  const notAfter = new Date(cert.validTo);
  return { notAfter: notAfter.toISOString(), daysLeft: Math.floor((notAfter.getTime() - now.getTime()) / DAY_MS) };
}

/** One log line about the certificate in `file`; `quiet` leaves out the line for a certificate that is fine. */
export function reportCertificateExpiry(file: string, log: Logger, now = new Date(), quiet = false): void {
  let expiry: ReturnType<typeof certificateExpiry>;
  try {
    expiry = certificateExpiry(readFileSync(file), now);
  } catch (e) {
    log.warn({ file, error: (e as Error).message }, "webhook certificate unreadable: its expiry is not checked");
    return;
  }
  const fields = { file, ...expiry };
  if (expiry.daysLeft < 0) log.error({ ...fields, renew: RENEW }, "webhook certificate expired");
  else if (expiry.daysLeft < WARN_DAYS) log.warn({ ...fields, renew: RENEW }, "webhook certificate expires soon");
  else if (!quiet) log.info(fields, "webhook certificate");
}

/** Report now, then daily (only when it needs renewing). Returns the stop function. */
export function watchCertificateExpiry(file: string, log: Logger, everyMs = DAY_MS): () => void {
  reportCertificateExpiry(file, log);
  const timer = setInterval(() => reportCertificateExpiry(file, log, new Date(), true), everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
