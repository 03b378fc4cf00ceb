// A photo chosen just before the inspector leaves the visit: the phone goes on
// decoding, shrinking and storing it after the visit page has gone. It must
// not crash the app (the page's signals are gone by then), and the photo must
// still be listed in its field's answer, which is what the server gets. The
// photo is large (12 MP of noise), so storing it takes far longer than the tap
// on the header's link; the spec checks that the photo was not listed yet just
// before that tap. The second test chooses a second photo while the first is
// stored; both must end up in the answer (the two list changes take turns).
// The third leaves the page itself (close, reload) while the photo is stored:
// the chosen file would go with the page, so the browser asks first, and asks
// nothing once the photo is stored.

import { PHONE, expect, test } from './support/fixtures';
import { makeJpeg } from './support/images';
import { startNewVisit } from './support/newVisit';
import type { Page } from '@playwright/test';

test.use({ ...PHONE, geolocation: { latitude: 21.29, longitude: 106.2, accuracy: 20 }, permissions: ['geolocation'] });

/** Logs ksv1 in, starts a visit, and records every value of its photo field's
 *  answer that the phone pushes, in order. */
async function startVisitRecordingPushes(page: Page) {
  const { home, visit, visitId } = await startNewVisit(page);
  const pushedPhotoLists: unknown[] = [];
  page.on('request', (request) => {
    if (request.method() !== 'POST' || !request.url().endsWith('/api/sync/push')) return;
    const body = request.postDataJSON() as { mutations: Array<{ record_id: string; fields: Record<string, unknown> }> };
    for (const m of body.mutations) {
      if (m.record_id === visitId && 'evidence_photos' in m.fields) pushedPhotoLists.push(m.fields.evidence_photos);
    }
  });
  return { home, visit, visitId, pushedPhotoLists };
}

test('a photo still being stored when the inspector leaves the visit is kept in its field', async ({ page }) => {
  test.setTimeout(120_000);
  const { home, visit, visitId, pushedPhotoLists } = await startVisitRecordingPushes(page);
  await visit.fillField('main_products', 'Gạch nung');
  await visit.save();

  await test.step('the photo is chosen and the visit left at once', async () => {
    const photo = await makeJpeg(page, 4000, 3000, 0.8, { noise: true });
    const items = visit.photoItems('evidence_photos');
    await visit.field('evidence_photos').getByTestId('photo-input-gallery').setInputFiles({
      name: 'IMG_LO_GACH.jpg',
      mimeType: 'image/jpeg',
      buffer: photo,
    });
    expect(await items.count(), 'the visit is left before its photo is stored').toBe(0);
    await page.locator('header a.app-title').click();
    await home.expectShown();
  });

  await test.step('back in the visit, the photo is there and the answer the server gets lists it', async () => {
    const item = home.visitItem(visitId);
    await expect(item).toBeVisible();
    await home.click(item.locator('a').first());
    await expect(visit.form).toBeVisible();
    const photos = visit.photoItems('evidence_photos');
    await expect(photos).toHaveCount(1, { timeout: 60_000 });
    const photoId = await photos.first().getAttribute('data-photo-id');
    // An explicit save from a screen read before the photo was listed must not
    // take it out again.
    await visit.save();
    await expect
      .poll(() => pushedPhotoLists.at(-1), { message: 'the last pushed answer lists the photo', timeout: 30_000 })
      .toEqual([photoId]);
    await visit.expectSyncState('synced', 30_000);
    expect(pushedPhotoLists.at(-1)).toEqual([photoId]);
  });
});

test('two photos chosen in turn while the first is still being stored are both listed', async ({ page }) => {
  test.setTimeout(120_000);
  const { visit, pushedPhotoLists } = await startVisitRecordingPushes(page);
  const input = visit.field('evidence_photos').getByTestId('photo-input-gallery');
  const photos = visit.photoItems('evidence_photos');
  const first = await makeJpeg(page, 4000, 3000, 0.8, { noise: true });
  const second = await makeJpeg(page, 4000, 3000, 0.8, { noise: true });
  await input.setInputFiles({ name: 'IMG_1.jpg', mimeType: 'image/jpeg', buffer: first });
  expect(await photos.count(), 'the second is chosen while the first is being stored').toBe(0);
  await input.setInputFiles({ name: 'IMG_2.jpg', mimeType: 'image/jpeg', buffer: second });
  await expect(photos).toHaveCount(2, { timeout: 60_000 });
  const ids = await photos.evaluateAll((items) => items.map((item) => item.getAttribute('data-photo-id')));
  await expect(page.getByTestId('photo-busy')).toHaveCount(0, { timeout: 60_000 });
  await expect
    .poll(() => (pushedPhotoLists.at(-1) as string[] | undefined)?.slice().sort(), {
      message: 'the last pushed answer lists both photos',
      timeout: 30_000,
    })
    .toEqual(ids.slice().sort());
});

test('leaving the page while a photo is being stored asks first, and not after', async ({ page }) => {
  test.setTimeout(120_000);
  const { visit, pushedPhotoLists } = await startVisitRecordingPushes(page);
  const photos = visit.photoItems('evidence_photos');
  const photo = await makeJpeg(page, 4000, 3000, 0.8, { noise: true });
  // Chosen through the button, as on a phone: the browser asks before
  // unloading only a page the user has touched.
  const chooser = page.waitForEvent('filechooser');
  await visit.field('evidence_photos').getByTestId('photo-input-gallery').locator('xpath=..').click();
  await (await chooser).setFiles({ name: 'IMG_4.jpg', mimeType: 'image/jpeg', buffer: photo });
  expect(await photos.count(), 'the page is left while its photo is being stored').toBe(0);

  const asked = page.waitForEvent('dialog');
  await page.close({ runBeforeUnload: true });
  const dialog = await asked;
  expect(dialog.type()).toBe('beforeunload');
  await dialog.dismiss();

  await expect(photos).toHaveCount(1, { timeout: 60_000 });
  const photoId = await photos.first().getAttribute('data-photo-id');
  await expect(page.getByTestId('photo-busy')).toHaveCount(0, { timeout: 60_000 });
  await expect
    .poll(() => pushedPhotoLists.at(-1), { message: 'the last pushed answer lists the photo', timeout: 30_000 })
    .toEqual([photoId]);

  const askedAgain: string[] = [];
  page.on('dialog', (d) => {
    askedAgain.push(d.type());
    void d.accept();
  });
  await page.close({ runBeforeUnload: true });
  await expect.poll(() => page.isClosed(), { message: 'the page closes without asking' }).toBe(true);
  expect(askedAgain).toEqual([]);
});
