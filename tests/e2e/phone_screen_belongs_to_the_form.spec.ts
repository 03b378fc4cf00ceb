// The phone's screen belongs to the form (issue 17). On a 360×740 phone the
// header and the visit's bottom bar together take at most 20 % of the height in
// every state the header shows: synced, saving, syncing, uploading, offline, and
// "connected but the server cannot be reached". In each of them nothing widens
// the page beyond a 320 or 360 px screen, and a tap on "Hoàn tất" lands on the
// button. Each state is produced by construction (a held or failed request, the
// network switched off), never by waiting for time.

import type { Page, Route } from '@playwright/test';
import { PHONE, expect, test } from './support/fixtures';
import { makeJpeg } from './support/images';
import { HomePage } from './pages/HomePage';
import { LoginPage } from './pages/LoginPage';
import { VisitPage } from './pages/VisitPage';

test.use({ ...PHONE, geolocation: { latitude: 21.38, longitude: 106.55, accuracy: 20 }, permissions: ['geolocation'] });

/** 20 % of a 740 px screen. */
const CHROME_BUDGET_PX = 0.2 * 740;

interface Measure {
  header: number;
  bar: number;
  scrollWidth: number;
  innerWidth: number;
}

async function measure(page: Page): Promise<Measure> {
  return page.evaluate(() => ({
    header: document.querySelector('[data-testid="app-header"]')!.getBoundingClientRect().height,
    bar: document.querySelector('.form-actions')?.getBoundingClientRect().height ?? 0,
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
  }));
}

/** Chrome within budget at 360 px; no horizontal overflow at 360 and 320 px; the finalize button takes its own tap. */
async function expectScreenFits(page: Page, state: string): Promise<void> {
  const status = page.getByTestId('status-line');
  await expect(status, `the header must show the ${state} state`).toHaveAttribute('data-state', state);
  for (const width of [360, 320]) {
    await page.setViewportSize({ width, height: 740 });
    const m = await measure(page);
    console.log(`[chrome] ${state} at ${width} px: header ${m.header} px + bar ${m.bar} px = ${m.header + m.bar} px`);
    expect(m.scrollWidth, `${state} at ${width} px: nothing may be wider than the screen`).toBeLessThanOrEqual(m.innerWidth);
    if (width === 360) {
      expect(m.header + m.bar, `${state}: header ${m.header} px + bottom bar ${m.bar} px`).toBeLessThanOrEqual(CHROME_BUDGET_PX);
    }
    const finalize = page.getByTestId('finalize-button');
    await expect(finalize).toBeInViewport();
    const hit = await finalize.evaluate((button) => {
      const r = button.getBoundingClientRect();
      const el = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
      return el !== null && (el === button || button.contains(el));
    });
    expect(hit, `${state} at ${width} px: a tap on the finalize button lands on it`).toBe(true);
  }
  await page.setViewportSize({ width: 360, height: 740 });
}

test('header and bottom bar stay within 20 % of the phone screen in every state, and never widen the page', async ({
  page,
  context,
}) => {
  test.setTimeout(120_000);
  const login = new LoginPage(page);
  const home = new HomePage(page);
  const visit = new VisitPage(page);

  await login.goto();
  await login.loginAs('ksv5');
  await home.expectShown();
  await home.expectSynced();
  await home.startVisit(home.proposalItems.first());

  await test.step('synced, then saved: the save status floats over the page, it takes no row of the bar', async () => {
    await expectScreenFits(page, 'ok');
    await visit.fillField('workforce', '23');
    // Saved: the status floats over the page (it leaves after a moment; its
    // state, not its visibility, is what is checked here).
    await visit.save();
    await expect(page.getByTestId('status-line')).toHaveAttribute('data-state', 'ok', { timeout: 30_000 });
    await expectScreenFits(page, 'ok');
  });

  await test.step('a push that has not been answered: syncing', async () => {
    const held: Route[] = [];
    await page.route('**/api/sync/push', (route) => {
      held.push(route);
    });
    await visit.fillField('workforce', '24');
    await visit.save();
    await expect.poll(() => held.length, { message: 'the push is on its way' }).toBeGreaterThan(0);
    await expectScreenFits(page, 'syncing');
    for (const route of held.splice(0)) await route.continue();
    await page.unroute('**/api/sync/push');
    await expect(page.getByTestId('status-line')).toHaveAttribute('data-state', 'ok', { timeout: 30_000 });
  });

  await test.step('connected but the server cannot be reached: its own state, with the next try', async () => {
    await page.route('**/api/sync/**', (route) => route.abort('connectionrefused'));
    await home.click(home.syncButton);
    await expect(home.networkStatus).toHaveAttribute('data-reachable', 'false');
    await expect(home.networkStatus).toHaveAttribute('data-online', 'true');
    await expect(home.networkStatus).toContainText('Không tới được máy chủ');
    await expectScreenFits(page, 'unreachable');
    await home.click(page.getByTestId('header-menu-button'));
    const detail = page.getByTestId('status-detail');
    await expect(detail).toBeVisible();
    await expect(detail).toContainText('không tới được máy chủ');
    await expect(detail, 'when the phone tries again').toContainText(/Tự thử lại lúc \d{2}:\d{2}:\d{2}/);
    const open = await measure(page);
    expect(open.scrollWidth, 'the open menu does not widen the page').toBeLessThanOrEqual(open.innerWidth);
    // A tap outside closes the menu.
    await page.mouse.click(180, 560);
    await expect(detail).toBeHidden();
    await page.unroute('**/api/sync/**');
    await home.click(home.syncButton);
    await expect(page.getByTestId('status-line')).toHaveAttribute('data-state', 'ok', { timeout: 30_000 });
    await expect(home.networkStatus).toHaveAttribute('data-reachable', 'true');
  });

  await test.step('photo bytes travelling: uploading', async () => {
    const held: Route[] = [];
    await page.route('**/api/uploads/**', async (route) => {
      if (route.request().method() === 'PATCH') {
        held.push(route);
        return;
      }
      await route.continue();
    });
    const photo = await makeJpeg(page, 1600, 1200, 0.9, { noise: true });
    await visit.field('evidence_photos').getByTestId('photo-input-gallery').setInputFiles({
      name: 'IMG_NHA_XUONG.jpg',
      mimeType: 'image/jpeg',
      buffer: photo,
    });
    await expect(visit.photoItems('evidence_photos')).toHaveCount(1, { timeout: 60_000 });
    await expect.poll(() => held.length, { message: 'the first chunk is on its way', timeout: 30_000 }).toBeGreaterThan(0);
    await expect(page.getByTestId('upload-progress-text')).toContainText('Đang gửi ảnh');
    await expectScreenFits(page, 'uploading');
    for (const route of held.splice(0)) await route.continue();
    await page.unroute('**/api/uploads/**');
  });

  await test.step('offline', async () => {
    await context.setOffline(true);
    await expect(home.networkStatus).toHaveAttribute('data-online', 'false');
    await expectScreenFits(page, 'offline');
    await context.setOffline(false);
  });
});

test('sync state and review state read differently on the home screen', async ({ page }) => {
  const login = new LoginPage(page);
  const home = new HomePage(page);
  const visit = new VisitPage(page);
  await login.goto();
  await login.loginAs('ksv5');
  await home.expectSynced();
  const visitId = await home.startVisit(home.proposalItems.last());
  await visit.fillField('workforce', '7');
  await visit.save();
  await visit.expectSyncState('synced', 30_000);
  await home.goto();
  const item = home.visitItem(visitId);
  const sync = item.locator('.badge-sync');
  const review = item.locator('.badge:not(.badge-sync)');
  await expect(sync).toHaveText(/Đã lên máy chủ/);
  await expect(review).toHaveText('Đang thực hiện');
  // "Đã gửi" next to "Đã nộp" read as synonyms: the words and the look differ.
  const looks = await Promise.all(
    [sync, review].map((badge) => badge.evaluate((el) => getComputedStyle(el).backgroundColor + getComputedStyle(el).borderTopWidth)),
  );
  expect(looks[0]).not.toBe(looks[1]);
});

test('the storage gauge reads gigabytes the Vietnamese way', async ({ page }) => {
  // A 10 GB quota, as Chromium reports on a phone with room to spare.
  await page.addInitScript(() => {
    const MIB = 1024 * 1024;
    Object.defineProperty(navigator.storage, 'estimate', {
      value: async () => ({ usage: 1536 * MIB, quota: 10243 * MIB }),
    });
  });
  const login = new LoginPage(page);
  const home = new HomePage(page);
  await login.goto();
  await login.loginAs('ksv5');
  await home.expectShown();
  const gauge = page.getByTestId('storage-gauge');
  await expect(gauge).toContainText('1,5 GB');
  await expect(gauge).toContainText('10,0 GB');
  await expect(gauge).not.toContainText('10243');
});
