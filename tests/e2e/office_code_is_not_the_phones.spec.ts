// The phone's bundle carries what /login needs only. The office's pages are one
// lazy function whose WASM chunks (`/pkg/split_office_pages*`, `/pkg/chunk_*`) a
// supervisor's browser fetches the first time an office page opens and the
// service worker keeps, while a phone working offline from a cold start never
// asks for one. The field's own lazy pieces (its pages, the sync run, the backup
// writer) and the English texts are precached: offline from a cold start, all of
// them open.

import { DESKTOP, PHONE, expect, test } from './support/fixtures';
import { makeJpeg } from './support/images';
import { ensureServiceWorkerControls } from './support/serviceWorker';
import { HomePage } from './pages/HomePage';
import { LoginPage } from './pages/LoginPage';
import { VisitPage } from './pages/VisitPage';
import type { BrowserContext, Page } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './support/server';

// The office's sentences (`app/locales/vi.office.json`) come with the office's
// chunk, not in the module every phone downloads. A page the browser renders
// itself (a link followed after hydration, not the server's HTML) shows them,
// never their keys.
function officeText(): any {
  return JSON.parse(readFileSync(join(REPO_ROOT, 'app/locales/vi.office.json'), 'utf8'));
}
const OFFICE_TEXT = officeText() as Record<string, Record<string, string>>;
const A_KEY = /\b(review|admin|plan|registry|office|export|years|units|date|forms|audit_[a-z]+)\.[a-z_]+\b/;

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
    .poll(() => chunks.filter((c) => /split_office_pages/.test(c.url)).length, {
      message: 'the office pages are one chunk, fetched when the first office page opens',
    })
    .toBeGreaterThan(0);
  // The service worker kept it.
  await expect
    .poll(() =>
      page.evaluate(async () => {
        for (const name of await caches.keys()) {
          const cache = await caches.open(name);
          const keys = await cache.keys();
          if (keys.some((r) => r.url.includes('split_office_pages'))) return true;
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
  const offline = chunks.slice(before).filter((c) => /split_office_pages/.test(c.url));
  expect(offline.every((c) => !c.network), `answered by the cache: ${JSON.stringify(offline)}`).toBe(true);
  // Its list cannot load, and it says so the office's way: nothing is kept on
  // this computer (the phone's sentence promised to keep and send the work).
  await expect(page.getByTestId('review-error')).toHaveText(officeText().errors.network.unreachable_office);
  await context.setOffline(false);
});


test('the office pages a browser renders itself show the office text, not its keys', async ({ newContext }) => {
  const context = await newContext({ ...DESKTOP, label: 'office' });
  const page = await context.newPage();
  const login = new LoginPage(page);
  await login.goto();
  await login.loginAs('giamsat');
  await page.goto('/');
  await expect(page.locator('html')).toHaveAttribute('data-hydrated', 'true', { timeout: 30_000 });
  for (const [link, testid, title] of [
    ['review-link', 'review-list-page', OFFICE_TEXT.review.title],
    ['plan-link', 'plan-page', OFFICE_TEXT.plan.title],
    ['registry-link', 'registry-page', OFFICE_TEXT.registry.title],
  ]) {
    await page.getByTestId(link).first().click();
    const shown = page.getByTestId(testid);
    await expect(shown).toBeVisible({ timeout: 30_000 });
    await expect(shown.locator('h1').first()).toContainText(title.split('{')[0].trim());
    expect(await shown.innerText()).not.toMatch(A_KEY);
  }
});

/** The paths the service worker precaches, from the worker the server renders. */
async function precacheList(page: Page): Promise<Set<string>> {
  const text = await (await page.request.get('/sw.js')).text();
  const list = text.match(/const PRECACHE = (\[[^\]]*\]);/);
  expect(list, 'the worker names its precache').not.toBeNull();
  return new Set(JSON.parse(list![1]) as string[]);
}

const OFFICE_ROUTE = /split_office_pages/;

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
  const precache = await precacheList(page);
  const fieldChunks = [...precache].filter((p) => CHUNK.test(p));
  expect(fieldChunks.some((p) => /split_field_pages/.test(p)), 'the field pages are a precached chunk').toBe(true);
  expect(fieldChunks.some((p) => /split_field_sync_run/.test(p)), 'the sync run is a precached chunk').toBe(true);
  expect(fieldChunks.filter((p) => OFFICE_ROUTE.test(p)), 'no office page is precached').toEqual([]);
  /** Chunks the phone asked for that are not the field's: office code. */
  const notField = () => chunks.filter((c) => !precache.has(new URL(c.url).pathname));
  await home.expectSynced();
  expect(notField(), 'logging in and listing proposals loads no office chunk').toEqual([]);

  await context.setOffline(true);
  const offlineFrom = chunks.length;
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
  await test.step('switches to English, which the service worker holds', async () => {
    await home.click(page.getByTestId('lang-switch'));
    await expect(page.locator('html')).toHaveAttribute('lang', 'en');
    await expect(page.getByTestId('lang-switch')).toHaveText('Tiếng Việt');
    // Named in its own language, so a screen reader says it right.
    await expect(page.getByTestId('lang-switch')).toHaveAttribute('lang', 'vi');
    // The server renders the next page in English from the first paint, not
    // Vietnamese until the app has loaded.
    const served = await (await page.request.get('/login')).text();
    expect(served).toContain('<html lang="en"');
    expect(served).toContain('>Survey<');
    await expect(page.locator('.app-title')).toHaveText('Survey');
    await home.click(page.getByTestId('lang-switch'));
    await expect(page.locator('html')).toHaveAttribute('lang', 'vi');
    await expect(page.getByTestId('lang-switch')).toHaveAttribute('lang', 'en');
  });
  await test.step('and backs up the phone', async () => {
    await home.goto();
    await home.expectShown();
    const backup = page.getByTestId('home-backup');
    const [download] = await Promise.all([page.waitForEvent('download'), home.click(backup.getByTestId('backup-export'))]);
    expect(download.suggestedFilename()).toMatch(/^khaosat-backup-ksv3-.*\.zip$/);
  });
  expect(notField(), 'the field app never needs an office chunk').toEqual([]);
  const offline = chunks.slice(offlineFrom);
  expect(offline.length, 'offline, the field pages came from their chunks').toBeGreaterThan(0);
  expect(offline.filter((c) => c.network), 'offline, every chunk came from the cache').toEqual([]);
  await context.setOffline(false);
});
