#!/usr/bin/env node
// Screenshots of the inspector's phone at 360×740 in the states issue 17 names:
// the home page synced, a visit form, offline, the server unreachable, and the
// header menu open. With each, the header's and the visit bar's heights, so a
// picture and its figure travel together.
//
// Then a photo uploading (its bytes held back) and, on a 1366×900 desktop, the
// supervisor's page of a visit.
//
// Usage: node tests/bench/phone_screens.mjs BASE_URL OUT_DIR
// (a server: `khaosat serve --demo --site-root target/site --addr 127.0.0.1:3911`).
// Not a test: writes PNGs and prints the heights. A state an older build cannot
// show (it is also run against the main before issue 17) is skipped with its reason.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { launchChromium } from './browser.mjs';

const base = (process.argv[2] ?? 'http://127.0.0.1:3911').replace(/\/+$/, '');
const out = process.argv[3] ?? 'target/screens';
mkdirSync(out, { recursive: true });

const browser = await launchChromium();
const context = await browser.newContext({
  viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2,
});
const page = await context.newPage();
const heights = async () =>
  page.evaluate(() => {
    const h = (sel) => document.querySelector(sel)?.getBoundingClientRect().height ?? 0;
    return { header: Math.round(h('[data-testid="app-header"]')), bar: Math.round(h('.form-actions')) };
  });
const PHOTO = new URL('../../../shared/bench/photos/Wood.jpg', import.meta.url);
const step = async (name, fn) => {
  try {
    await fn();
  } catch (error) {
    console.log(`${name}: skipped (${String(error.message ?? error).split('\n')[0]})`);
  }
};
const shot = async (name, note) => {
  await page.screenshot({ path: join(out, `${name}.png`) });
  const { header, bar } = await heights();
  console.log(`${name}.png: header ${header} px, bottom bar ${bar} px (${(((header + bar) / 740) * 100).toFixed(1)} % of 740) — ${note}`);
};

await page.goto(`${base}/login`);
await page.locator('html[data-hydrated="true"]').waitFor({ state: 'attached' });
await page.getByTestId('login-username').fill('ksv1');
await page.getByTestId('login-password').fill('khaosat-demo');
await page.getByTestId('login-submit').click();
await page.getByTestId('proposal-item').first().waitFor();
// Before issue 17 the header had no status line, only the sync status.
await page
  .locator('[data-testid="status-line"][data-state="ok"], [data-testid="sync-status"][data-state="ok"]')
  .first()
  .waitFor({ timeout: 30_000 });
await shot('1-home-synced', 'home, synced');

await step('2-menu-open', async () => {
  await page.getByTestId('header-menu-button').click({ timeout: 3_000 });
  await page.getByTestId('header-menu').waitFor({ timeout: 3_000 });
  await shot('2-menu-open', 'header menu open');
  await page.keyboard.press('Escape');
});

await page.getByTestId('proposal-item').first().getByTestId('start-visit').click();
const confirm = page.getByTestId('confirm-new-visit');
await confirm.click({ timeout: 2_000 }).catch(() => undefined);
await page.getByTestId('visit-form').waitFor();
await shot('3-visit-form', 'visit form');

await step('saved', async () => {
  await page.getByTestId('field-workforce').fill('25', { timeout: 3_000 });
  await page.getByTestId('save-button').click();
  await page.locator('[data-testid="visit-sync-state"][data-state="synced"]').waitFor({ timeout: 30_000 });
});

await step('6-visit-uploading', async () => {
  const held = [];
  await page.route('**/api/uploads/**', (route) =>
    route.request().method() === 'PATCH' ? held.push(route) : route.continue(),
  );
  const input = page.locator('[data-testid="field-evidence_photos"] [data-testid="photo-input-gallery"]');
  await input.setInputFiles(new URL(PHOTO).pathname, { timeout: 5_000 });
  await page.getByTestId('upload-progress-text').waitFor({ timeout: 60_000 });
  await page.getByTestId('upload-progress-text').scrollIntoViewIfNeeded();
  await shot('6-visit-uploading', 'visit form, a photo uploading');
  for (const route of held.splice(0)) await route.continue();
});

await step('4-visit-offline', async () => {
  await context.setOffline(true);
  await page.waitForTimeout(1_000);
  await shot('4-visit-offline', 'visit form, offline');
  await context.setOffline(false);
});

await step('5-visit-unreachable', async () => {
  await page.route('**/api/**', (route) => route.abort('connectionrefused'));
  await page.getByTestId('sync-button').click({ timeout: 3_000 });
  await page.locator('[data-testid="status-line"][data-state="unreachable"]').waitFor({ timeout: 10_000 });
  await shot('5-visit-unreachable', 'visit form, server unreachable');
});
await page.unroute('**/api/**');

await step('7-office-visit', async () => {
  const office = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  const desk = await office.newPage();
  await desk.goto(`${base}/login`);
  await desk.locator('html[data-hydrated="true"]').waitFor({ state: 'attached' });
  await desk.getByTestId('login-username').fill('giamsat');
  await desk.getByTestId('login-password').fill('khaosat-demo');
  await desk.getByTestId('login-submit').click();
  await desk.waitForURL((url) => url.pathname !== '/login');
  await desk.goto(`${base}/review`);
  const link = desk.locator('a[href^="/review/visits/"]').first();
  await link.waitFor({ timeout: 20_000 });
  await link.click();
  await desk.waitForURL(/\/review\/visits\//);
  await desk.waitForTimeout(1_500);
  await desk.screenshot({ path: join(out, '7-office-visit.png') });
  console.log('7-office-visit.png: the supervisor\'s page of a visit, 1366×900');
});

await browser.close();
