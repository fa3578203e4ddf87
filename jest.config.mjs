/**
 * Jest runs TypeScript as native ESM (kubernetes-fluent-client and @kubernetes/client-node are
 * ESM-only). pepr's published CJS bundle require()s them, which jest's module loader cannot do,
 * so tests load pepr from its shipped TypeScript sources instead (same version, same code).
 *
 * Two projects, both run by `npm test`:
 * - `unit` (`npm run test:unit`): no globalSetup, no cluster, no root. A real `haproxy` on
 *   loopback is fine; the local cluster's API server, network namespaces and root are not.
 * - `cluster` (`npm run test:cluster`): its globalSetup runs hack/setup.sh and brings up the local
 *   cluster these suites share.
 * A test file is `cluster` when CLUSTER below names it; every other test file is `unit`.
 * JEST_PROJECT=unit|cluster keeps one project (jest's --selectProjects would swallow the test paths
 * that `npm run test:unit -- <path>` appends after it).
 */
const CLUSTER = [
  "test/agent/watch.test.ts",
  "test/cluster/",
  "test/conformance/",
  "test/e2e/",
  "test/shell/dataplane.test.ts",
  "test/shell/dist.test.ts",
  "test/shell/helm-chart.test.ts",
  "test/shell/module.test.ts",
];
const clusterGlobs = CLUSTER.map((p) => `<rootDir>/${p}${p.endsWith("/") ? "**/*.test.ts" : ""}`);
const clusterRegexes = CLUSTER.map((p) => `<rootDir>/${p.replace(/\./g, "\\.")}`);

const common = {
  testEnvironment: "node",
  extensionsToTreatAsEsm: [".ts"],
  transform: {
    "^.+\\.ts$": ["ts-jest", { useESM: true, diagnostics: false }],
  },
  transformIgnorePatterns: ["/node_modules/(?!pepr/src/)"],
  moduleNameMapper: {
    "^pepr$": "<rootDir>/node_modules/pepr/src/lib.ts",
    "^(\\.{1,2}/.*)\\.js$": "$1",
  },
  testMatch: ["<rootDir>/test/**/*.test.ts"],
  // .local/ holds the local cluster's state (etcd's *.snap files look like jest snapshots).
  modulePathIgnorePatterns: ["<rootDir>/.local/", "<rootDir>/dist/"],
  setupFiles: ["<rootDir>/test/setup-env.ts"],
};

const projects = [
  { ...common, displayName: "unit", testPathIgnorePatterns: ["/node_modules/", ...clusterRegexes] },
  { ...common, displayName: "cluster", testMatch: clusterGlobs, globalSetup: "<rootDir>/test/global-setup.mjs" },
];
const only = process.env.JEST_PROJECT;
if (only && !projects.some((p) => p.displayName === only)) throw new Error(`JEST_PROJECT=${only}: no such project`);

export default {
  watchPathIgnorePatterns: ["<rootDir>/.local/"],
  reporters: ["default", "<rootDir>/test/summary-reporter.mjs"],
  projects: projects.filter((p) => !only || p.displayName === only),
};
