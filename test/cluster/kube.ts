/** Moved to hack/lib/kubectl.ts (hack/ must not import from test/); import from there. */
export * from "../../hack/lib/kubectl.js";
