// A photo taken on another phone (or before the app was reinstalled) is not in
// this phone's IndexedDB: its thumbnail comes from the server. It showed
// nothing offline. The service worker now keeps the thumbnails this phone has
// seen: online the server still answers each view, offline the kept copy
// shows, and a logout drops them for whoever comes next.

import { expect, test } from './support/fixtures';
import { openPhone, syncFromHome as sync } from './support/phones';
import { FIELD, addPhoto, saveAndSync } from './support/photo_steps';
import { LoginPage } from './pages/LoginPage';
import type { InspectorPhone } from './support/phones';

/** The pixel width the browser decoded for a photo's thumbnail (0: nothing shown). */
function shownWidth(phone: InspectorPhone, photoId: string): () => Promise<number> {
  return () =>
    phone.visit
      .photoItem(photoId)
      .getByTestId('photo-thumb')
      .evaluate((img: HTMLImageElement) => (img.complete ? img.naturalWidth : 0))
      .catch(() => 0);
}

/** How many photos the phone's service worker keeps (-1 while a navigation
 *  replaces the page: the poll asks again). */
function keptPhotos(phone: InspectorPhone): Promise<number> {
  return phone.page
    .evaluate(async () =>
      (await caches.has('khaosat-photos')) ? (await (await caches.open('khaosat-photos')).keys()).length : 0,
    )
    .catch(() => -1);
}

test('a photo taken on another phone shows offline once seen, and a logout drops it', async ({ newContext, baseURL }) => {
  test.setTimeout(180_000);
  const a = await openPhone(newContext, baseURL!, 'phone A');
  const b = await openPhone(newContext, baseURL!, 'phone B');

  const id = await a.home.startVisit(a.home.proposalItems.first());
  await a.visit.fillField('workforce', '9');
  const photo = await addPhoto(a, 800);
  await saveAndSync(a);

  await test.step('B sees A\'s photo from the server', async () => {
    await sync(b);
    await b.visit.goto(id);
    await expect(b.visit.photoItem(photo)).toHaveCount(1);
    await expect.poll(shownWidth(b, photo), { timeout: 30_000 }).toBeGreaterThan(0);
    await expect.poll(() => keptPhotos(b)).toBe(1);
  });

  await test.step('offline, after a reload, B still shows it', async () => {
    await b.context.setOffline(true);
    await b.page.reload();
    await expect(b.visit.form).toBeVisible();
    await expect(b.visit.photoItems(FIELD)).toHaveCount(1);
    await expect.poll(shownWidth(b, photo), { timeout: 30_000 }).toBeGreaterThan(0);
  });

  await test.step('a logout drops what B kept', async () => {
    await b.context.setOffline(false);
    await b.home.goto();
    await b.home.click(b.page.getByTestId('logout-button'));
    await expect(b.page).toHaveURL(/\/login/);
    await new LoginPage(b.page).expectShown();
    await expect.poll(() => keptPhotos(b)).toBe(0);
  });
});
