// Photos added and removed on two phones of one inspector after the night's
// backup, the server restored, phone B recovering first. A photo field now
// merges as a set, and the recovery followed the old rule (the later list
// wins): phone A, which never had B's new photo, took it for one it had
// removed, and its recovery removed it from the restored server (lost on every
// phone). Now a phone keeps the photos it removed and sends again only those.

import { test } from './support/fixtures';
import { photosComeBackAfterRestore } from './support/photos_after_restore';
import { restoredServers } from './support/restore';

// Its own servers: this spec kills one and restores it into another.
const servers = restoredServers();

test('photos of two phones come back after a restore, B recovering first', async ({ newContext }) => {
  await photosComeBackAfterRestore(newContext, servers, 'B');
});
