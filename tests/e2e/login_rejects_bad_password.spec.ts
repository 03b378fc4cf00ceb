// A wrong password is refused with a message the inspector can read, in Vietnamese
// unless they switch to English.

import { expect, test } from './support/fixtures';
import { VIETNAMESE_LETTER } from './support/demo';
import { LoginPage } from './pages/LoginPage';

test('a wrong password shows an error in Vietnamese and keeps the user on the login', async ({ page }) => {
  const login = new LoginPage(page);
  await login.goto();
  expect(await login.lang(), 'the app speaks Vietnamese by default').toBe('vi');

  await login.submitCredentials('ksv1', 'not-the-password');
  await expect(login.error).toBeVisible();
  await expect(login.error, 'the error must be in Vietnamese').toHaveText(VIETNAMESE_LETTER);
  await expect(page).toHaveURL((url) => url.pathname === '/login');
  const vietnameseSubmit = (await login.submit.innerText()).trim();
  expect(vietnameseSubmit).toMatch(VIETNAMESE_LETTER);

  await login.click(login.langSwitch);
  await expect(page.locator('html')).toHaveAttribute('lang', 'en');
  await expect(login.submit, 'the submit button must switch to English').not.toHaveText(vietnameseSubmit);
  await expect(login.submit).not.toHaveText(VIETNAMESE_LETTER);
  if (await login.error.isVisible()) {
    await expect(login.error, 'a shown error must switch to English').not.toHaveText(VIETNAMESE_LETTER);
  }
  await expect(page).toHaveURL((url) => url.pathname === '/login');

  await login.click(login.langSwitch);
  await expect(page.locator('html')).toHaveAttribute('lang', 'vi');
  await expect(login.submit).toHaveText(vietnameseSubmit);
});
