// Two phones of one inspector both changed an answer after the night's
// backup: the first phone at one moment, the second later, on top of it.
// The server is then lost and restored. The phone with the later answer
// recovers first; the one with the earlier answer comes online after it.
// A restored server numbers versions from the backup's again, so the second
// to recover used to find the first one's resend "not newer" than what it
// had seen, and sent its earlier answer over the later one. Now each phone
// compares when the answers were written (a resend keeps its first time),
// and the later answer stays, whichever phone recovers last.

import { test } from './support/fixtures';
import { laterAnswerSurvivesRestore } from './support/later_answer';
import { restoredServers } from './support/restore';

// Its own servers: this spec kills one and restores it into another.
const servers = restoredServers();

test('two phones of one inspector give a restored server the later answer', async ({ newContext }) => {
  await laterAnswerSurvivesRestore(newContext, servers, 'two', { clockAheadMs: 0, pullLost: false });
});
