// On a slow link the login page paints long before its WASM has loaded (issue
// 17 measured 1.4 s against 15.5 s on 400 kbit/s). A tap in that window used to
// submit the form to `/login?`, reload the page and wipe both fields. The form
// now posts by itself to the same login endpoint (same checks, limits and
// Origin rule) and the app adopts the session once it loads. The WASM is held
// back with page.route, so the tap lands before hydration by construction.

import type { Page, Route } from '@playwright/test';
import { PHONE, expect, test } from './support/fixtures';
import { DEMO_PASSWORD, proposalsInScope } from './support/demo';
import { HomePage } from './pages/HomePage';
import { LoginPage } from './pages/LoginPage';

test.use({ ...PHONE });

/** Holds every WASM request until `release` is called. */
async function holdWasm(page: Page): Promise<{ held: Route[]; release: () => Promise<void> }> {
  const held: Route[] = [];
  let holding = true;
  await page.route('**/*.wasm', (route) => {
    if (holding) held.push(route);
    else void route.continue();
  });
  return {
    held,
    release: async () => {
      holding = false;
      // Requests of pages the form's posts left behind are gone: only the current page's matter.
      for (const route of held.splice(0)) await route.continue().catch(() => undefined);
    },
  };
}

test('a login tapped before the app has loaded logs in, and the app adopts the session when it loads', async ({ page }) => {
  const login = new LoginPage(page);
  const home = new HomePage(page);
  const wasm = await holdWasm(page);

  await page.goto('/login');
  await expect.poll(() => wasm.held.length, { message: 'the app code is requested and held' }).toBeGreaterThan(0);
  await expect(page.locator('html')).not.toHaveAttribute('data-hydrated', 'true');
  await expect(page.getByTestId('login-loading'), 'the page says the app is still loading').toBeVisible();

  await test.step('a wrong password: back on the login page with the name kept and the reason said', async () => {
    await login.username.fill('ksv4');
    await login.password.fill('khong-phai-mat-khau');
    await login.submit.click();
    await expect(page).toHaveURL((url) => url.pathname === '/login' && url.searchParams.get('error') === 'auth.bad_credentials');
    await expect(login.username).toHaveValue('ksv4');
    await expect(login.error).toContainText('Sai tên đăng nhập hoặc mật khẩu');
  });

  await test.step('the right password: the server logs in and the page says it is finishing', async () => {
    await expect(page.locator('html')).not.toHaveAttribute('data-hydrated', 'true');
    await login.password.fill(DEMO_PASSWORD);
    await login.submit.click();
    await expect(page).toHaveURL((url) => url.pathname === '/login' && url.searchParams.has('signed_in'));
    await expect(page.getByTestId('login-loading')).toBeVisible();
  });

  await test.step('the app loads, binds this phone to the session and syncs the inspector\'s proposals', async () => {
    await wasm.release();
    await home.expectShown();
    await home.expectSynced();
    await home.expectProposalCount(proposalsInScope('ksv4'));
    await expect(home.userName).not.toBeEmpty();
  });

  await test.step('a reload opens from the phone\'s own session', async () => {
    await home.reload();
    await home.expectShown();
    await expect(home.proposalItems.first()).toBeVisible();
  });
});
