// A newer server can answer a pull with a record kind this version does not
// know. The run stopped at that pull, before the photo bytes, so photos stayed
// on the phone for as long as the app was not updated. The bytes now go after
// the push whatever the pull said; the pull's own error still shows.

import { PHONE, expect, test } from './support/fixtures';
import { addPhoto } from './support/photo_steps';
import { HomePage } from './pages/HomePage';
import { LoginPage } from './pages/LoginPage';
import { VisitPage } from './pages/VisitPage';

test('photo bytes go up when the pull answer cannot be read', async ({ newContext, baseURL }) => {
  test.setTimeout(180_000);
  // No service worker: a page it controls sends its API requests past the
  // routes below, and every pull must get the newer server's answer.
  const context = await newContext({ ...PHONE, baseURL, label: 'phone', serviceWorkers: 'block' });
  const page = await context.newPage();
  const phone = { context, page, home: new HomePage(page), visit: new VisitPage(page) };
  await page.goto('/');
  await new LoginPage(page).loginAs('ksv1');
  await phone.home.expectShown();
  await phone.home.expectSynced();
  const id = await phone.home.startVisit(phone.home.proposalItems.first());
  await phone.visit.fillField('workforce', '18');
  let unreadable = 0;
  await phone.context.route('**/api/sync/pull**', (route) => {
    unreadable += 1;
    return route.fulfill({
      status: 200,
      contentType: 'application/json',
      body: JSON.stringify({ changes: [{ entity: 'a_future_kind', id: 'x' }], has_more: false, cursor: 1 }),
    });
  });
  const photo = await addPhoto(phone, 800);
  await phone.visit.save();
  await phone.visit.expectSyncState('synced', 30_000);
  await expect(phone.visit.photoItem(photo)).toHaveAttribute('data-state', 'sent', { timeout: 90_000 });
  expect(unreadable, 'the pull was answered as a newer server would').toBeGreaterThan(0);

  // Once the pull reads again, the server's verdict on the photo arrives.
  await phone.context.unroute('**/api/sync/pull**');
  await phone.home.goto();
  await phone.home.syncNow();
  await phone.visit.goto(id);
  // The timer's next pulls bring it if the server had not judged it yet.
  await expect(phone.visit.photoItem(photo)).toHaveAttribute('data-state', 'ok', { timeout: 60_000 });
});
