// A link that looks up but carries nothing: the request goes out and no
// answer ever comes. The sync run waited on it for as long as the browser
// did, showing "syncing", while every trigger (the sync button too) only
// asked it to run again. The request now has a deadline: given up, it fails
// as unreachable and the run is tried again, and the visit reaches the server.

import { expect, test } from './support/fixtures';
import { openPhone } from './support/phones';

test('a push the link never answers is given up and sent again', async ({ newContext, baseURL }) => {
  test.setTimeout(240_000);
  const phone = await openPhone(newContext, baseURL!, 'phone');
  const id = await phone.home.startVisit(phone.home.proposalItems.first());
  let held = 0;
  await phone.context.route('**/api/sync/push', async (route) => {
    if (held === 0) {
      held += 1;
      return; // never answered: the link swallowed it
    }
    await route.continue();
  });
  await phone.visit.fillField('workforce', '27');
  await phone.visit.save();
  await phone.visit.expectSyncState('synced', 180_000);
  expect(held, 'the first push was swallowed').toBe(1);
  expect(new URL(phone.page.url()).pathname).toBe(`/visits/${id}`);
});
