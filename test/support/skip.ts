// A suite that cannot run on this machine is registered as skipped, with its reason, so that
// npm test counts it in its closing line and names why (scripts/test.ts prints the reasons),
// instead of leaving it out unseen. CI has everything, so there a missing piece fails the run.
import type { Test } from 'uvu';

/** The prefix of the line scripts/test.ts collects the reasons from. */
export const SKIP_LINE = 'skipped: ';

export function skipSuite(suite: Test, what: string, reason: string): void {
  if (process.env.CI) throw new Error(`${what}: ${reason} (CI runs every suite)`);
  suite.skip(what, () => undefined);
  console.log(`${SKIP_LINE}${what}: ${reason}`);
}
