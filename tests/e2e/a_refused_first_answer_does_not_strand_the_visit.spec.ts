// A new visit whose first change the server refuses (a date typed as "-5")
// carried the visit's header with it: every later change, and the photo
// taken meanwhile, was refused for want of a visit on the server, for good.
// Fixing the date and saving again must bring the visit, its answers and its
// photo (record and bytes) to the server.

import { PHONE, expect, test } from './support/fixtures';
import { makeJpeg } from './support/images';
import { startNewVisit } from './support/newVisit';

test.use({ ...PHONE });

test('a visit whose first change was refused reaches the server once the answer is fixed, photo included', async ({ page }) => {
  const { visit, visitId } = await startNewVisit(page);
  const date = visit.field('visit_date');
  await date.fill('-5');
  await date.blur();
  await visit.fillField('workforce', '12');
  // The photo makes the draft go out with the bad date.
  await visit.field('evidence_photos').getByTestId('photo-input-gallery').setInputFiles({
    name: 'IMG_LO_NUNG.jpg',
    mimeType: 'image/jpeg',
    buffer: await makeJpeg(page, 800, 600, 0.8),
  });
  await visit.expectSyncState('refused', 30_000);

  await date.fill('05/12/2026');
  await date.blur();
  await visit.save();
  await visit.expectSyncState('synced', 30_000);
  const photo = visit.photoItems('evidence_photos').first();
  await expect(photo, 'the photo reaches the server, bytes and all').toHaveAttribute('data-state', 'ok', { timeout: 60_000 });

  const stored = await page.request.get(`/api/photos/${await photo.getAttribute('data-photo-id')}`);
  expect(stored.status()).toBe(200);
  expect((await stored.json()).visit_id).toBe(visitId);
});
