// A caption typed while its photo uploads: every acknowledged chunk updates the
// photo's state and percent, and none of them may replace the caption input,
// take its focus or drop what was typed. The link is slowed by holding each
// PATCH in page.route until the test lets it through, so chunks land between
// (and during) the keystrokes by construction, not by timing. The caption is
// never left (no blur): it reaches IndexedDB after the pause in typing, and the
// server after the bytes; the server's record must hold exactly what was typed.

import { PHONE, expect, test } from './support/fixtures';
import { makeJpeg } from './support/images';
import { HomePage } from './pages/HomePage';
import { LoginPage } from './pages/LoginPage';
import { VisitPage } from './pages/VisitPage';
import type { Route } from '@playwright/test';

test.use({ ...PHONE, geolocation: { latitude: 21.29, longitude: 106.2, accuracy: 20 }, permissions: ['geolocation'] });

const CAPTION = 'Máy móc hiện có trong xưởng';
/** Typed in pieces, a chunk acknowledged between each. */
const PIECES = ['Máy', ' móc hiện', ' có trong', ' xưởng'];
/** The chunks before the last must all fit: 64 + 128 + 256 + 512 KiB, then more. */
const SEVERAL_CHUNKS = (64 + 128 + 256 + 512) * 1024;

test('a caption typed while its photo uploads keeps focus and text and reaches the server', async ({ page }) => {
  test.setTimeout(120_000);
  const login = new LoginPage(page);
  const home = new HomePage(page);
  const visit = new VisitPage(page);

  await page.goto('/');
  await login.expectShown();
  await login.loginAs('ksv2');
  await home.expectShown();

  // The slow link: each PATCH waits here until the test lets it through.
  const held: Route[] = [];
  let holding = true;
  let uploadLength = 0;
  await page.route('**/api/uploads/**', async (route) => {
    const request = route.request();
    if (request.method() === 'POST') uploadLength = Number(request.headers()['upload-length']);
    if (request.method() === 'PATCH' && holding) {
      held.push(route);
      return;
    }
    await route.continue();
  });
  const letOneChunkThrough = async () => {
    await expect.poll(() => held.length, { message: 'the next chunk is on its way' }).toBeGreaterThan(0);
    await held.shift()!.continue();
  };

  await home.startVisit(home.proposalItems.first());
  const photo = await makeJpeg(page, 2048, 1536, 0.9, { noise: true });
  const items = visit.photoItems('evidence_photos');
  await visit.field('evidence_photos').getByTestId('photo-input-gallery').setInputFiles({
    name: 'IMG_XUONG.jpg',
    mimeType: 'image/jpeg',
    buffer: photo,
  });
  await expect(items).toHaveCount(1, { timeout: 60_000 });
  const item = items.first();
  const caption = item.getByTestId('photo-caption');
  const badge = item.getByTestId('photo-state');

  await test.step('the first chunk is acknowledged: the photo is uploading', async () => {
    await letOneChunkThrough();
    await expect(item).toHaveAttribute('data-state', 'uploading');
    await expect(badge).toContainText('%');
    expect(uploadLength, 'the phone\'s file takes several chunks').toBeGreaterThan(SEVERAL_CHUNKS);
  });

  await test.step('typed in pieces while chunks are acknowledged: the same input keeps focus and text', async () => {
    await caption.click();
    // A re-created input would not carry this property.
    await caption.evaluate((el) => Object.assign(el, { khaosatProbe: true }));
    let typed = '';
    for (const [i, piece] of PIECES.entries()) {
      await expect(item, 'still uploading while the inspector types').toHaveAttribute('data-state', 'uploading');
      const before = await badge.getAttribute('data-percent');
      if (i === PIECES.length - 1) {
        await caption.pressSequentially(piece);
      } else if (i === PIECES.length - 2) {
        // A chunk lands in the middle of the typing.
        await Promise.all([letOneChunkThrough(), caption.pressSequentially(piece)]);
        await expect(badge).not.toHaveAttribute('data-percent', before ?? '');
      } else {
        await caption.pressSequentially(piece);
        await letOneChunkThrough();
        await expect(badge, 'the progress moved on').not.toHaveAttribute('data-percent', before ?? '');
      }
      typed += piece;
      await expect(caption).toBeFocused();
      await expect(caption).toHaveValue(typed);
      expect(await caption.evaluate((el) => (el as HTMLInputElement & { khaosatProbe?: boolean }).khaosatProbe)).toBe(true);
    }
    expect(typed).toBe(CAPTION);
    await expect(item).toHaveAttribute('data-state', 'uploading');
  });

  await test.step('the rest of the bytes go; the caption, never left, reaches the server exactly', async () => {
    holding = false;
    for (const route of held.splice(0)) await route.continue();
    await expect(item).toHaveAttribute('data-state', /^(sent|ok)$/, { timeout: 60_000 });
    await expect(caption).toBeFocused();
    await expect(caption).toHaveValue(CAPTION);
    await visit.waitCaptionSaved(item);
    const photoId = await item.getAttribute('data-photo-id');
    await expect
      .poll(
        async () => {
          const response = await page.request.get(`/api/photos/${photoId}`);
          return response.ok() ? (await response.json()).caption : `HTTP ${response.status()}`;
        },
        { message: 'the server has the caption as typed', timeout: 30_000 },
      )
      .toBe(CAPTION);
  });

  await test.step('after a reload the caption is still on the phone', async () => {
    await visit.reload();
    await expect(items).toHaveCount(1);
    await expect(caption).toHaveValue(CAPTION);
    await expect(item).toHaveAttribute('data-state', /^(sent|ok)$/);
  });
});
