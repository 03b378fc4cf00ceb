#!/usr/bin/env node
// Screenshots of the inspector's phone at 360×740 in the states issue 17 names:
// the home page synced, a visit form, offline, the server unreachable, and the
// header menu open. With each, the header's and the visit bar's heights, so a
// picture and its figure travel together.
//
// Usage: node tests/bench/phone_screens.mjs BASE_URL OUT_DIR
// (a server: `khaosat serve --demo --site-root target/site --addr 127.0.0.1:3911`).
// Not a test: writes PNGs and prints the heights; exits 1 when a state was not reached.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from '@playwright/test';

const base = (process.argv[2] ?? 'http://127.0.0.1:3911').replace(/\/+$/, '');
const out = process.argv[3] ?? 'target/screens';
mkdirSync(out, { recursive: true });
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ARGS });
const context = await browser.newContext({
  viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2,
});
const page = await context.newPage();
const heights = async () =>
  page.evaluate(() => {
    const h = (sel) => document.querySelector(sel)?.getBoundingClientRect().height ?? 0;
    return { header: Math.round(h('[data-testid="app-header"]')), bar: Math.round(h('.form-actions')) };
  });
const shot = async (name, note) => {
  await page.screenshot({ path: join(out, `${name}.png`) });
  const { header, bar } = await heights();
  console.log(`${name}.png: header ${header} px, bottom bar ${bar} px (${(((header + bar) / 740) * 100).toFixed(1)} % of 740) — ${note}`);
};

await page.goto(`${base}/login`);
await page.locator('html[data-hydrated="true"]').waitFor({ state: 'attached' });
await page.locator('[name="username"]').fill('ksv1');
await page.locator('[name="password"]').fill('khaosat-demo');
await page.locator('[name="password"]').press('Enter');
await page.getByTestId('proposal-item').first().waitFor();
await page.locator('[data-testid="status-line"][data-state="ok"]').waitFor({ timeout: 30_000 });
await shot('1-home-synced', 'home, synced');

await page.getByTestId('header-menu-button').click();
await page.getByTestId('header-menu').waitFor();
await shot('2-menu-open', 'header menu open');
await page.keyboard.press('Escape');

await page.getByTestId('proposal-item').first().getByTestId('start-visit').click();
const confirm = page.getByTestId('confirm-new-visit');
if (await confirm.isVisible().catch(() => false)) await confirm.click();
await page.getByTestId('visit-form').waitFor();
await shot('3-visit-form', 'visit form');

await context.setOffline(true);
await page.locator('[data-testid="status-line"][data-state="offline"]').waitFor();
await shot('4-visit-offline', 'visit form, offline');
await context.setOffline(false);

await page.route('**/api/**', (route) => route.abort('connectionrefused'));
await page.getByTestId('sync-button').click();
await page.locator('[data-testid="status-line"][data-state="unreachable"]').waitFor({ timeout: 30_000 });
await shot('5-visit-unreachable', 'visit form, server unreachable');

await browser.close();
