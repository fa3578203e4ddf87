/** Moved to hack/lib/eventually.ts (hack/ must not import from test/); import from there. */
export * from "../hack/lib/eventually.js";
