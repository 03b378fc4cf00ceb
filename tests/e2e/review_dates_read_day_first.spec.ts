// Dates read dd/mm/yyyy everywhere (issue 17): the review list's date filters
// showed mm/dd/yyyy in an English-locale browser, so "06/01/2020" meant two
// different days to two people. They are typed and shown day first whatever
// the browser's language, and a text that is no date is said, not applied.

import { DESKTOP, expect, test } from './support/fixtures';
import { SUPERVISOR } from './support/demo';
import { LoginPage } from './pages/LoginPage';

test.use({ ...DESKTOP, locale: 'en-US' });

test('the review list\'s date filters take and show dd/mm/yyyy in an English browser', async ({ page }) => {
  const login = new LoginPage(page);
  await login.goto();
  await login.loginAs(SUPERVISOR);
  await expect(page.getByTestId('review-list-page')).toBeVisible();
  const from = page.getByTestId('filter-from');
  await expect(from).toHaveAttribute('placeholder', 'dd/mm/yyyy');
  await from.fill('1/6/2020');
  await from.press('Enter');
  await expect(page).toHaveURL((url) => url.searchParams.get('from') === '2020-06-01');
  await expect(from).toHaveValue('01/06/2020');
  await login.reload();
  await expect(page.getByTestId('filter-from'), 'the URL\'s date reads day first').toHaveValue('01/06/2020');

  const to = page.getByTestId('filter-to');
  await to.fill('31/02/2020');
  await to.press('Enter');
  await expect(page.getByTestId('filter-to-error')).toBeVisible();
  await expect(to).toHaveAttribute('aria-invalid', 'true');
  expect(new URL(page.url()).searchParams.has('to'), 'a text that is no date changes nothing').toBe(false);
  await to.fill('30/06/2020');
  await to.press('Enter');
  await expect(page).toHaveURL((url) => url.searchParams.get('to') === '2020-06-30');
  await expect(page.getByTestId('filter-to-error')).toBeHidden();
});

test('switching to English turns the whole review list, its state chips and headings included', async ({ page }) => {
  const login = new LoginPage(page);
  await login.goto();
  await login.loginAs(SUPERVISOR);
  await expect(page.getByTestId('review-list-page')).toBeVisible();
  await login.waitHydrated();
  const all = page.getByTestId('state-count-all');
  const info = page.getByTestId('page-info');
  await expect(all).toContainText('Tất cả');
  await expect(info).toContainText('Trang');
  await login.click(page.getByTestId('lang-switch'));
  await expect(page.locator('html')).toHaveAttribute('lang', 'en');
  await expect(all).not.toContainText('Tất cả');
  await expect(page.getByTestId('state-count-submitted')).not.toContainText('Chờ duyệt');
  await expect(info).not.toContainText('Trang');
  // Back to Vietnamese for the specs after this one.
  await login.click(page.getByTestId('lang-switch'));
  await expect(page.locator('html')).toHaveAttribute('lang', 'vi');
});
