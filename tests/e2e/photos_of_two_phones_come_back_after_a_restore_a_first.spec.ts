// Photos added and removed on two phones of one inspector after the night's
// backup, the server restored, phone A recovering first. A photo field now
// merges as a set, and the recovery followed the old rule (the later list
// wins): the second phone's list was not sent again because the first one's was
// later, so its new photo was live but left out of the answer. Now a list
// naming a photo the server's list lacks goes again, merged as a set.

import { test } from './support/fixtures';
import { photosComeBackAfterRestore } from './support/photos_after_restore';
import { restoredServers } from './support/restore';

// Its own servers: this spec kills one and restores it into another.
const servers = restoredServers();

test('photos of two phones come back after a restore, A recovering first', async ({ newContext }) => {
  await photosComeBackAfterRestore(newContext, servers, 'A');
});
