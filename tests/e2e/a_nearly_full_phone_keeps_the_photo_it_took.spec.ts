// A phone with little room left: the photo field says so before the next
// shot, and a shot that fits is stored. It used to be refused after it was
// taken whenever less than 50 MB plus the camera file's size was free, and
// most Android cameras keep no copy of a shot made for a page.

import { PHONE, expect, test } from './support/fixtures';
import { makeJpeg } from './support/images';
import { startNewVisit } from './support/newVisit';

test.use({ ...PHONE });

test('a nearly full phone warns before the shot and keeps a photo that fits', async ({ page }) => {
  // 30 MB free of the app's quota, whatever the disk holds.
  await page.addInitScript(() => {
    const quota = 2 * 1024 * 1024 * 1024;
    navigator.storage.estimate = async () => ({ usage: quota - 30 * 1024 * 1024, quota });
  });
  const { visit } = await startNewVisit(page);
  const field = visit.field('evidence_photos');
  await expect(field.getByTestId('photo-room-low')).toContainText('còn 30 MB');
  const jpeg = await makeJpeg(page, 4000, 3000, 0.95, { noise: true });
  await field.getByTestId('photo-input-camera').setInputFiles([{ name: 'IMG_2001.jpg', mimeType: 'image/jpeg', buffer: jpeg }]);
  await expect(visit.photoItems('evidence_photos')).toHaveCount(1, { timeout: 60_000 });
  await expect(field.getByTestId('photo-error')).toHaveCount(0);
});
