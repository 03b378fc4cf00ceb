// Makes sure the app's service worker controls a page before a test goes offline.

import { expect, type Page } from '@playwright/test';

/**
 * Waits until a service worker is active for the page's scope and controls the page.
 * A page loaded before the worker activated is only controlled after `clients.claim()`
 * or a reload: reload once when needed, then wait for hydration again.
 */
export async function ensureServiceWorkerControls(page: Page, waitHydrated: () => Promise<void>): Promise<void> {
  const ready = await page.evaluate(async () => {
    if (!('serviceWorker' in navigator)) return 'no serviceWorker API (not a secure context?)';
    const timeout = new Promise<string>((done) => setTimeout(() => done('timeout'), 30_000));
    return Promise.race([navigator.serviceWorker.ready.then(() => 'ready'), timeout]);
  });
  expect(ready, 'a service worker must register and activate (navigator.serviceWorker.ready)').toBe('ready');

  const controlled = () => page.evaluate(() => navigator.serviceWorker.controller !== null);
  if (!(await controlled())) {
    await page.reload();
    await waitHydrated();
  }
  await expect.poll(controlled, { message: 'the service worker must control the page', timeout: 10_000 }).toBe(true);
}
