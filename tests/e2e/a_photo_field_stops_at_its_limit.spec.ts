// A photo field holds at most 100 photos (`app::photos::MAX_PER_FIELD`, which
// the server also holds for every attach and list). Photos chosen beyond it
// are left out, and the field says how many; at the limit it offers no camera
// and says why. What it took reaches the server whole.

import { PHONE, expect, test } from './support/fixtures';
import { makeJpeg } from './support/images';
import { startNewVisit } from './support/newVisit';

test.use({ ...PHONE });

const FIELD = 'evidence_photos';
const MAX = 100;

test('a photo field takes photos up to its limit, names what it left out, and then offers no camera', async ({ page }) => {
  const { visit, visitId } = await startNewVisit(page);
  const field = visit.field(FIELD);
  const gallery = field.getByTestId('photo-input-gallery');
  // Each photo its own bytes, as a camera's are.
  const photos = async (from: number, count: number) =>
    Promise.all(
      Array.from({ length: count }, async (_, i) => ({
        name: `IMG_${from + i}.jpg`,
        mimeType: 'image/jpeg',
        buffer: await makeJpeg(page, 64 + from + i, 48, 0.8),
      })),
    );

  await gallery.setInputFiles(await photos(0, MAX - 2));
  await expect(visit.photoItems(FIELD)).toHaveCount(MAX - 2, { timeout: 120_000 });
  await expect(field.getByTestId('photo-busy')).toHaveCount(0, { timeout: 60_000 });
  await expect(field.getByTestId('photo-error')).toHaveCount(0);
  await expect(field.getByTestId('photo-full')).toHaveCount(0);

  await test.step('three more: two fit, and the field says the third was left out', async () => {
    await gallery.setInputFiles(await photos(MAX - 2, 3));
    await expect(field.getByTestId('photo-error')).toContainText('1 ảnh đã chọn không được thêm', { timeout: 60_000 });
    await expect(visit.photoItems(FIELD)).toHaveCount(MAX);
    await expect(field.getByTestId('photo-full')).toContainText(`đã đủ ${MAX} ảnh`);
    await expect(gallery, 'no camera at the limit').toHaveCount(0);
    await expect(field.getByTestId('photo-input-camera')).toHaveCount(0);
  });

  await test.step('the visit and its 100 photos reach the server', async () => {
    await visit.save();
    await visit.expectSyncState('synced', 60_000);
    let cursor = 0;
    let listed: unknown = undefined;
    for (;;) {
      const page_ = await (await page.request.get(`/api/sync/pull?cursor=${cursor}`)).json();
      for (const change of page_.changes) {
        if (change.entity === 'visit' && change.record.id === visitId) listed = change.record.answers[FIELD];
      }
      cursor = page_.cursor;
      if (!page_.has_more) break;
    }
    expect(Array.isArray(listed) && listed.length, 'the field on the server').toBe(MAX);
  });
});
