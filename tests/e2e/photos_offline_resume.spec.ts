// Photos end to end: two photos attached offline (a 48 MP JPEG made here, and a
// landscape JPEG whose EXIF says "turn 90°", when and where), thumbnails that
// render offline and survive a reload, a sync whose connection is cut after the
// first PATCH (page.route abort, not a timing race), the upload resuming from an
// offset above 0, and the supervisor seeing both photos with the right
// orientation, time and place.

import { DESKTOP, PHONE, expect, test } from './support/fixtures';
import { SUPERVISOR } from './support/demo';
import { withExif } from './support/exif';
import { makeJpeg } from './support/images';
import { phoneReady } from './support/newVisit';
import { LoginPage } from './pages/LoginPage';

const GPS = { latitude: 20.95, longitude: 105.85, accuracy: 30 };
test.use({ ...PHONE, geolocation: GPS, permissions: ['geolocation'] });

test('photos attached offline survive a reload, resume after a cut connection and reach the supervisor upright', async ({
  page,
  context,
  newContext,
}) => {
  test.setTimeout(240_000);
  const { home, visit } = await phoneReady(page);

  const big = await makeJpeg(page, 8000, 6000, 0.92);
  expect(big.length, 'the 48 MP JPEG is a real camera-sized file').toBeGreaterThan(500_000);
  const tilted = withExif(await makeJpeg(page, 1600, 1200, 0.9), {
    orientation: 6,
    takenLocal: '2026:03:05 14:30:00',
    offset: '+07:00',
    lat: 21.2731,
    lon: 106.1946,
  });

  await context.setOffline(true);
  const visitId = await home.startVisit(home.proposalItems.first());
  await expect(visit.form).toBeVisible();
  const field = page.getByTestId('field-evidence_photos');
  const items = field.getByTestId('photo-item');

  await test.step('two photos attached offline: downscaled, dated and placed, thumbnails from the stored bytes', async () => {
    await field.getByTestId('photo-input-gallery').setInputFiles([
      { name: 'IMG_48MP.jpg', mimeType: 'image/jpeg', buffer: big },
      { name: 'IMG_TILTED.jpg', mimeType: 'image/jpeg', buffer: tilted },
    ]);
    await expect(items).toHaveCount(2, { timeout: 60_000 });
    await expect(field.getByTestId('photo-error')).toHaveCount(0);
    await expect(items.nth(0)).toHaveAttribute('data-state', 'waiting');
    // The big one has no EXIF: the phone's clock and GPS.
    await expect(items.nth(0).getByTestId('photo-place')).toContainText('20.95000, 105.85000 (GPS điện thoại ±30 m)');
    await expect(items.nth(0).getByTestId('photo-time')).toContainText('giờ điện thoại');
    // The tilted one: time and place from its EXIF.
    await expect(items.nth(1).getByTestId('photo-time')).toHaveText('05/03/2026 14:30 (theo ảnh)');
    await expect(items.nth(1).getByTestId('photo-place')).toHaveText('21.27310, 106.19460 (theo ảnh)');
    for (const i of [0, 1]) {
      const thumb = items.nth(i).getByTestId('photo-thumb');
      await expect(thumb).toHaveAttribute('src', /^blob:/);
      await expect.poll(() => thumb.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBeGreaterThan(0);
    }
    // Downscaled on the phone: longest side 2048; the tilted one turned upright.
    const sizes = await page.evaluate(async () => {
      const shown = [...document.querySelectorAll('[data-testid=photo-thumb]')] as HTMLImageElement[];
      return shown.map((img) => [img.naturalWidth, img.naturalHeight]);
    });
    expect(sizes).toEqual([[2048, 1536], [1200, 1600]]);
    await items.nth(1).getByTestId('photo-caption').fill('Biển hiệu nhà xưởng');
    await items.nth(1).getByTestId('photo-caption').press('Tab');
    await visit.waitCaptionSaved(items.nth(1));
  });

  await test.step('a reload offline keeps both photos and their thumbnails', async () => {
    await visit.reload();
    await expect(items).toHaveCount(2);
    await expect(items.nth(1).getByTestId('photo-caption')).toHaveValue('Biển hiệu nhà xưởng');
    // The tab names the page, not only the app.
    await expect(page).toHaveTitle('Phiếu khảo sát · Khảo sát khuyến công');
    // Told apart by a screen reader too: the caption is in the picture's name.
    await expect(items.nth(1).getByTestId('photo-thumb')).toHaveAttribute('alt', 'Ảnh hiện trường: Biển hiệu nhà xưởng');
    await expect(items.nth(0).getByTestId('photo-thumb')).toHaveAttribute('alt', 'Ảnh hiện trường');
    for (const i of [0, 1]) {
      await expect.poll(() => items.nth(i).getByTestId('photo-thumb').evaluate((img: HTMLImageElement) => img.naturalWidth)).toBeGreaterThan(0);
    }
  });

  const patches: { offset: number; aborted: boolean }[] = [];
  let cut = true;
  await test.step('online: the first PATCH is the last before the connection is cut', async () => {
    await page.route('**/api/uploads/**', async (route) => {
      const request = route.request();
      if (request.method() !== 'PATCH') return route.continue();
      const offset = Number(request.headers()['upload-offset']);
      if (cut && patches.filter((p) => !p.aborted).length >= 1) {
        patches.push({ offset, aborted: true });
        return route.abort('connectionreset');
      }
      patches.push({ offset, aborted: false });
      return route.continue();
    });
    await context.setOffline(false);
    await expect.poll(() => patches.filter((p) => p.aborted).length, { timeout: 60_000 }).toBeGreaterThanOrEqual(2);
    await expect(items.nth(0)).toHaveAttribute('data-state', 'uploading');
    await expect(page.getByTestId('upload-progress-text')).toContainText('Đang gửi ảnh');
  });

  await test.step('the link comes back: the upload resumes from an offset above 0 and both photos are judged ok', async () => {
    const before = patches.length;
    cut = false;
    await home.open('/');
    await home.click(home.syncButton);
    await expect.poll(() => patches.length, { timeout: 60_000 }).toBeGreaterThan(before);
    const resumed = patches[before];
    expect(resumed.aborted).toBe(false);
    expect(resumed.offset, 'resumed from the last acknowledged byte, not from 0').toBeGreaterThan(0);
    const firstCut = patches.find((p) => p.aborted)!;
    expect(resumed.offset, 'it continues exactly where the cut request would have').toBe(firstCut.offset);
    await page.goto(`/visits/${visitId}`);
    await expect(items).toHaveCount(2);
    await expect
      .poll(async () => {
        await page.getByTestId('sync-button').click({ timeout: 2_000 }).catch(() => {});
        return items.evaluateAll((els) => els.map((e) => e.getAttribute('data-state')));
      }, { timeout: 120_000, intervals: [2_000] })
      .toEqual(['ok', 'ok']);
  });

  await test.step('the supervisor sees both photos upright, with time, place and caption', async () => {
    const office = await newContext({ ...DESKTOP, label: 'desktop' });
    const officePage = await office.newPage();
    await officePage.goto('/');
    await new LoginPage(officePage).loginAs(SUPERVISOR);
    await officePage.goto(`/review/visits/${visitId}`);
    const gallery = officePage.getByTestId('gallery-photo');
    await expect(gallery).toHaveCount(2);
    const tiltedItem = gallery.filter({ hasText: 'Biển hiệu nhà xưởng' });
    await expect(tiltedItem.getByTestId('gallery-time')).toHaveText('05/03/2026 14:30 (theo ảnh)');
    await expect(tiltedItem.getByTestId('gallery-place')).toHaveText('21.27310, 106.19460 (theo ảnh)');
    const thumb = tiltedItem.getByTestId('gallery-thumb');
    await expect.poll(() => thumb.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBeGreaterThan(0);
    const corner = await thumb.evaluate((img: HTMLImageElement) => {
      const c = document.createElement('canvas');
      c.width = img.naturalWidth;
      c.height = img.naturalHeight;
      const ctx = c.getContext('2d')!;
      ctx.drawImage(img, 0, 0);
      const at = (x: number, y: number) => Array.from(ctx.getImageData(x, y, 1, 1).data.slice(0, 3));
      return { w: c.width, h: c.height, topRight: at(c.width - 6, 6), topLeft: at(6, 6) };
    });
    expect(corner.w, 'portrait: the EXIF turn was applied').toBeLessThan(corner.h);
    expect(corner.topRight[0]).toBeGreaterThan(180);
    expect(corner.topRight[1]).toBeLessThan(90);
    expect(corner.topLeft[0]).toBeLessThan(180);
    const ids = await gallery.evaluateAll((els) => els.map((e) => e.getAttribute('data-photo-id')));
    const records = await Promise.all(ids.map(async (id) => (await officePage.request.get(`/api/photos/${id}`)).json()));
    const bigRecord = records.find((r) => r.caption !== 'Biển hiệu nhà xưởng');
    expect([bigRecord.width, bigRecord.height]).toEqual([2048, 1536]);
    expect(bigRecord.size, 'the phone sends a fraction of the camera file').toBeLessThan(big.length / 3);

    // The full size opens in the page, whole (it opened in a new tab, cropped).
    await officePage.getByTestId('gallery-open').first().click();
    const viewer = officePage.getByTestId('photo-viewer');
    await expect(viewer).toBeVisible();
    await expect(viewer).toHaveAttribute('role', 'dialog');
    await expect(officePage.getByTestId('viewer-close')).toBeFocused();
    const image = officePage.getByTestId('viewer-image');
    await expect.poll(() => image.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBeGreaterThan(0);
    const fits = await image.evaluate((img: HTMLImageElement) => {
      const r = img.getBoundingClientRect();
      return r.left >= 0 && r.top >= 0 && r.right <= innerWidth && r.bottom <= innerHeight && r.width > 100;
    });
    expect(fits, 'the whole photo is on screen').toBe(true);
    await expect(officePage.getByTestId('viewer-position')).toHaveText('Ảnh 1 / 2');
    const first = await viewer.getAttribute('data-photo-id');
    await officePage.keyboard.press('ArrowRight');
    await expect(viewer).toHaveAttribute('data-index', '1');
    await expect(viewer).not.toHaveAttribute('data-photo-id', first!);
    await expect(officePage.getByTestId('viewer-time')).not.toBeEmpty();
    await expect(officePage.getByTestId('viewer-original')).toHaveAttribute('href', /\/api\/photos\//);
    await officePage.keyboard.press('ArrowRight');
    await expect(viewer, 'past the last photo comes the first').toHaveAttribute('data-index', '0');
    // "Next" pressed by keyboard keeps the focus (it jumped to "close", where
    // the next Enter shut the viewer), and Tab stays inside the dialog.
    await officePage.getByTestId('viewer-next').focus();
    await officePage.keyboard.press('Enter');
    await expect(viewer).toHaveAttribute('data-index', '1');
    await expect(officePage.getByTestId('viewer-next')).toBeFocused();
    for (let i = 0; i < 8; i++) await officePage.keyboard.press('Tab');
    expect(await officePage.evaluate(() => !!document.activeElement?.closest('[data-testid=photo-viewer]')), 'Tab stays in the viewer').toBe(true);
    await officePage.getByTestId('viewer-next').focus();
    await officePage.keyboard.press('Enter');
    await expect(viewer).toHaveAttribute('data-index', '0');
    await officePage.keyboard.press('Escape');
    await expect(viewer).toHaveCount(0);
    await expect(officePage.getByTestId('gallery-open').first(), 'focus returns to the photo').toBeFocused();
    await office.close();
  });
});
