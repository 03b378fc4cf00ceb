// A lazy page (the field's home, here) hydrates against the HTML the server
// rendered, which knows nothing of the phone's IndexedDB. CI once caught the
// race behind this: the phone read its session from IndexedDB before the home
// page's chunk had arrived, the page then rendered "logged in" over the
// server's "loading" and hydration trapped (`RuntimeError: unreachable`). Here
// the chunks are held until the session read has finished, so the order that
// was rare is forced on every run.

import type { Route } from '@playwright/test';
import { PHONE, expect, test } from './support/fixtures';
import { HomePage } from './pages/HomePage';
import { LoginPage } from './pages/LoginPage';

// The page's own requests must reach page.route, not a service worker's cache.
test.use({ ...PHONE, serviceWorkers: 'block' });

const CHUNK = /\/pkg\/(split_|chunk_)[^/]*\.wasm$/;

test('a page whose code arrives after the session was read hydrates without a mismatch', async ({ page }) => {
  const login = new LoginPage(page);
  const home = new HomePage(page);
  await page.goto('/');
  await login.loginAs('ksv1');
  await home.expectShown();

  // Counts finished reads of the session record (IndexedDB `meta` / "session").
  await page.addInitScript(() => {
    const w = window as unknown as { __sessionReads: number };
    w.__sessionReads = 0;
    const get = IDBObjectStore.prototype.get;
    IDBObjectStore.prototype.get = function (this: IDBObjectStore, query: IDBValidKey | IDBKeyRange) {
      const request = get.call(this, query);
      if (query === 'session') request.addEventListener('success', () => (w.__sessionReads += 1));
      return request;
    };
  });
  const held: Route[] = [];
  let holding = true;
  await page.route(CHUNK, (route) => {
    if (holding) held.push(route);
    else void route.continue();
  });

  await page.reload({ waitUntil: 'commit' });
  await expect.poll(() => held.length, { message: 'the home page\'s chunks are requested and held' }).toBeGreaterThan(0);
  await expect
    .poll(() => page.evaluate(() => (window as unknown as { __sessionReads?: number }).__sessionReads ?? 0), {
      message: 'the phone has read who is logged in',
    })
    .toBeGreaterThan(0);
  // One more turn of the page's event loop: whatever the read resolves runs now.
  await page.evaluate(() => new Promise((resolve) => setTimeout(resolve, 0)));
  await expect(page.getByTestId('loading'), 'the server\'s placeholder is still there').toBeVisible();

  holding = false;
  for (const route of held.splice(0)) await route.continue();
  await home.expectShown();
  await expect(home.proposalItems.first()).toBeVisible();
  // The fixture fails the test on any page error, a hydration trap included.
});
