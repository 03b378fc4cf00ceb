// The phone's bundle carries the field app only: the office's pages are lazy
// routes whose WASM chunks (`/pkg/split_*`, `/pkg/chunk_*`) a supervisor's
// browser fetches the first time an office page opens and the service worker
// keeps, while a phone working offline from a cold start never asks for one.

import { DESKTOP, PHONE, expect, test } from './support/fixtures';
import { makeJpeg } from './support/images';
import { ensureServiceWorkerControls } from './support/serviceWorker';
import { HomePage } from './pages/HomePage';
import { LoginPage } from './pages/LoginPage';
import { VisitPage } from './pages/VisitPage';
import type { BrowserContext } from '@playwright/test';

const CHUNK = /\/pkg\/(split_|chunk_)[^/]*\.wasm$/;

/** Every chunk request of the context (pages and service worker), with whether the network answered it. */
function recordChunks(context: BrowserContext): { url: string; network: boolean }[] {
  const seen: { url: string; network: boolean }[] = [];
  context.on('requestfinished', async (request) => {
    if (!CHUNK.test(new URL(request.url()).pathname)) return;
    const response = await request.response();
    // Requests the worker itself makes reach the network; the page's, answered
    // by the worker from its cache, do not.
    seen.push({ url: request.url(), network: !!request.serviceWorker() || !response?.fromServiceWorker() });
  });
  context.on('requestfailed', (request) => {
    if (CHUNK.test(new URL(request.url()).pathname)) seen.push({ url: request.url(), network: false });
  });
  return seen;
}

test('a supervisor loads the office code the first time, then from the cache, also offline', async ({ newContext }) => {
  const context = await newContext({ ...DESKTOP, label: 'office' });
  const chunks = recordChunks(context);
  const page = await context.newPage();
  const login = new LoginPage(page);
  await login.goto();
  await login.loginAs('giamsat');
  await expect(page.locator('html')).toHaveAttribute('data-hydrated', 'true', { timeout: 30_000 });
  await ensureServiceWorkerControls(page, () => expect(page.locator('html')).toHaveAttribute('data-hydrated', 'true'));

  await page.goto('/review');
  await expect(page.locator('html')).toHaveAttribute('data-hydrated', 'true', { timeout: 30_000 });
  await expect(page.getByTestId('review-list-page')).toBeVisible();
  await expect
    .poll(() => chunks.filter((c) => /split___review_list_route/.test(c.url)).length, {
      message: 'the review list is its own chunk, fetched when the page opens',
    })
    .toBeGreaterThan(0);
  // The service worker kept it.
  await expect
    .poll(() =>
      page.evaluate(async () => {
        for (const name of await caches.keys()) {
          const cache = await caches.open(name);
          const keys = await cache.keys();
          if (keys.some((r) => r.url.includes('split___review_list_route'))) return true;
        }
        return false;
      }),
    )
    .toBe(true);

  // Offline, the same page opens from the shell and the cached chunk.
  const before = chunks.length;
  await context.setOffline(true);
  await page.goto('/review');
  await expect(page.getByTestId('review-list-page')).toBeVisible({ timeout: 30_000 });
  const offline = chunks.slice(before).filter((c) => /split___review_list_route/.test(c.url));
  expect(offline.every((c) => !c.network), `answered by the cache: ${JSON.stringify(offline)}`).toBe(true);
  await context.setOffline(false);
});

test('a phone offline from a cold start never asks for office code', async ({ newContext }) => {
  const context = await newContext({ ...PHONE, label: 'phone' });
  const chunks = recordChunks(context);
  const page = await context.newPage();
  const login = new LoginPage(page);
  const home = new HomePage(page);
  const visit = new VisitPage(page);
  await login.goto();
  await login.loginAs('ksv3');
  await home.expectShown();
  await ensureServiceWorkerControls(page, () => home.waitHydrated());
  expect(chunks, 'logging in and listing proposals loads no office chunk').toEqual([]);

  await context.setOffline(true);
  await page.reload();
  await home.expectShown();
  await home.waitHydrated();
  await test.step('a visit opened offline takes a photo', async () => {
    await home.startVisit(home.proposalItems.first());
    await expect(visit.form).toBeVisible();
    const photo = await makeJpeg(page, 1600, 1200, 0.9);
    const field = page.getByTestId('field-evidence_photos');
    await field.getByTestId('photo-input-gallery').setInputFiles([{ name: 'IMG_1.jpg', mimeType: 'image/jpeg', buffer: photo }]);
    await expect(field.getByTestId('photo-item')).toHaveCount(1, { timeout: 30_000 });
    await visit.save();
  });
  await test.step('and backs up the phone', async () => {
    await home.goto();
    await home.expectShown();
    const backup = page.getByTestId('home-backup');
    const [download] = await Promise.all([page.waitForEvent('download'), home.click(backup.getByTestId('backup-export'))]);
    expect(download.suggestedFilename()).toMatch(/^khaosat-backup-ksv3-.*\.zip$/);
  });
  expect(chunks, 'the field app never needs an office chunk').toEqual([]);
  await context.setOffline(false);
});
