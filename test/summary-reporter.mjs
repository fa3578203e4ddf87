/**
 * Prints jest's totals as one plain closing line ("jest: N passed, N failed, N skipped") at the
 * very end of the run, after jest's own summary, so CI logs end with a line any tool can read.
 */
export default class SummaryReporter {
  onRunComplete(_contexts, results) {
    const { numPassedTests: passed, numFailedTests: failed, numPendingTests: skipped } = results;
    process.once("exit", () => process.stderr.write(`jest: ${passed} passed, ${failed} failed, ${skipped} skipped\n`));
  }
}
