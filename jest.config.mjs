/**
 * Jest runs TypeScript as native ESM (kubernetes-fluent-client and @kubernetes/client-node are
 * ESM-only). pepr's published CJS bundle require()s them, which jest's module loader cannot do,
 * so tests load pepr from its shipped TypeScript sources instead (same version, same code).
 */
export default {
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
  watchPathIgnorePatterns: ["<rootDir>/.local/"],
  setupFiles: ["<rootDir>/test/setup-env.ts"],
  globalSetup: "<rootDir>/test/global-setup.mjs",
  reporters: ["default", "<rootDir>/test/summary-reporter.mjs"],
};
