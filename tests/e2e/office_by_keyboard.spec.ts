// The office works by keyboard (issue 17, item 13): from the top of a page,
// Tab reaches the filters, the list, the visit and the exports, each shows
// where the focus is, and Enter or the arrow keys use them. No mouse here.

import type { Page } from '@playwright/test';
import { DESKTOP, expect, test } from './support/fixtures';
import { SUPERVISOR } from './support/demo';
import { LoginPage } from './pages/LoginPage';

test.use({ ...DESKTOP });

/** Presses Tab until the focused element matches `selector`; fails after `max` presses. */
async function tabTo(page: Page, selector: string, max = 60): Promise<void> {
  for (let i = 0; i < max; i += 1) {
    await page.keyboard.press('Tab');
    if (await page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector)) {
      const outline = await page.evaluate(() => {
        const style = getComputedStyle(document.activeElement!);
        return style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2;
      });
      expect(outline, `${selector} shows that it has the focus`).toBe(true);
      return;
    }
  }
  throw new Error(`Tab never reached ${selector}`);
}

test('a supervisor filters, opens a visit and downloads the plan by keyboard', async ({ page }) => {
  const login = new LoginPage(page);
  await login.goto();
  // The login form itself, by keyboard.
  await tabTo(page, '[data-testid="login-username"]');
  await page.keyboard.type(SUPERVISOR);
  await page.keyboard.press('Tab');
  await page.keyboard.type('khaosat-demo');
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('review-list-page')).toBeVisible();
  await login.waitHydrated();
  // On a wide screen every link is in the header: no menu button that opens
  // nothing (a later `.btn` rule once showed it again).
  await expect(page.getByTestId('header-menu-button')).toBeHidden();
  await expect(page.getByTestId('header-menu')).toBeVisible();

  await tabTo(page, '[data-testid="filter-state"]');
  await page.keyboard.press('ArrowDown');
  await expect(page).toHaveURL((url) => url.searchParams.has('state'));
  await page.goto('/review');
  await login.waitHydrated();
  await tabTo(page, '[data-testid="review-list-page"] a[href^="/review/visits/"]');
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(/\/review\/visits\//);
  await login.waitHydrated();

  await page.goto('/plan?year=2020');
  await login.waitHydrated();
  await tabTo(page, '[data-testid="export-plan-xlsx"]');
  const [download] = await Promise.all([page.waitForEvent('download'), page.keyboard.press('Enter')]);
  expect(download.suggestedFilename()).toMatch(/^khaosat-ke-hoach-2020\.xlsx$/);
});
