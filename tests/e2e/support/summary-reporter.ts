// Prints one plain closing line, "e2e: N passed, N failed, N flaky, N skipped", after
// the list reporter's summary, so CI logs (which read such a line) see how many tests
// ran. A flaky test (failed, then passed on its traced retry) fails the run
// (`failOnFlakyTests`), so it is never counted as passed.

import type { FullResult, Reporter, Suite } from '@playwright/test/reporter';

export default class SummaryReporter implements Reporter {
  private root: Suite | undefined;

  onBegin(_config: unknown, suite: Suite): void {
    this.root = suite;
  }

  onEnd(_result: FullResult): void {
    // `playwright test --list` runs no test: nothing to count.
    if (process.argv.includes('--list')) return;
    let passed = 0;
    let failed = 0;
    let flaky = 0;
    let skipped = 0;
    for (const test of this.root?.allTests() ?? []) {
      const outcome = test.outcome();
      if (outcome === 'expected') passed += 1;
      else if (outcome === 'flaky') flaky += 1;
      else if (outcome === 'unexpected') failed += 1;
      else skipped += 1;
    }
    console.log(`e2e: ${passed} passed, ${failed} failed, ${flaky} flaky, ${skipped} skipped`);
  }

  printsToStdio(): boolean {
    return true;
  }
}
