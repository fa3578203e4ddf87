/**
 * jest globalSetup: make `npm ci && npm test` work on a fresh machine. Runs hack/setup.sh
 * (Debian packages + Go-built binaries, cached under ~/.cache/crossway — a no-op when done) and then
 * brings up the one local cluster the integration suites share (hack/cluster/jest-global-setup.mjs).
 */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import clusterSetup from "../hack/cluster/jest-global-setup.mjs";

const repo = fileURLToPath(new URL("..", import.meta.url));

export default async function globalSetup() {
  execFileSync("bash", [`${repo}hack/setup.sh`], { stdio: ["ignore", "inherit", "inherit"] });
  await clusterSetup();
}
