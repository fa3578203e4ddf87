/**
 * jest globalSetup: one local cluster for the whole run, started (or found running) before any
 * suite, by the same code as `npm run local:up` (run through tsx: jest loads globalSetup without its
 * TypeScript module mapping). Wire with `globalSetup: "<rootDir>/hack/cluster/jest-global-setup.mjs"`.
 * The cluster is left running for the next run; `npm run local:down` stops it.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";

const repo = fileURLToPath(new URL("../..", import.meta.url));

export default function globalSetup() {
  return new Promise((resolve, reject) => {
    execFile(
      `${repo}node_modules/.bin/tsx`,
      [`${repo}hack/cluster/up.ts`],
      { cwd: repo, timeout: 180_000, env: { ...process.env, LOG_LEVEL: "warn" } },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`local cluster did not come up: ${stderr.trim() || err.message}`));
        else resolve(process.stderr.write(`\n${stdout}`));
      },
    );
  });
}
