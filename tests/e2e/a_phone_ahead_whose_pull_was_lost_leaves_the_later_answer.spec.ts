// The restore of "two phones give a restored server the later answer", with
// the earlier phone's clock 10 min ahead and the pull after its push lost.
// The server re-stamped that phone's change to its own clock, but the phone
// kept its own stamp as when the answer was written. After the restore that
// stamp looked later than the other phone's answer, and the earlier answer
// was sent over it. The push answer now names the server's stamp
// (`stamped`), and the phone keeps that one.

import { test } from './support/fixtures';
import { laterAnswerSurvivesRestore } from './support/later_answer';
import { restoredServers } from './support/restore';

// Its own servers: this spec kills one and restores it into another.
const servers = restoredServers();

test('a phone whose clock runs ahead and whose pull was lost leaves the later answer', async ({ newContext }) => {
  await laterAnswerSurvivesRestore(newContext, servers, 'ahead', { clockAheadMs: 10 * 60_000, pullLost: true });
});
