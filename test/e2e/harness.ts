/** Moved to hack/lib/e2e.ts (hack/ must not import from test/); import from there. */
export * from "../../hack/lib/e2e.js";
