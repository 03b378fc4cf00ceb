// An administrator-only account has no field data (issue 17). Its browser never
// asks to pull or push, so no refusal turns into a permanent red "Bạn không có
// quyền…" in the header. The plan it sees on screen it may also download, and a
// download the server refuses says why on the page instead of saving the error
// as a file.

import { DESKTOP, expect, test } from './support/fixtures';
import { LoginPage } from './pages/LoginPage';
import { PlanPage } from './pages/PlanPage';

test.use({ ...DESKTOP });

test('an administrator-only account does not sync, downloads the plan, and is told on screen when a download is refused', async ({
  page,
  context,
}) => {
  const syncRequests: string[] = [];
  page.on('request', (request) => {
    if (new URL(request.url()).pathname.startsWith('/api/sync/')) syncRequests.push(request.url());
  });
  const login = new LoginPage(page);
  const plan = new PlanPage(page);

  await test.step('the administrator lands on the accounts page with no sync status or error', async () => {
    await login.goto();
    await login.loginAs('quantri');
    await expect(page).toHaveURL((url) => url.pathname === '/admin');
    await login.waitHydrated();
    await expect(page.getByTestId('status-line')).toHaveAttribute('data-state', 'idle');
    await expect(page.getByTestId('sync-status')).toHaveCount(0);
    await expect(page.getByTestId('sync-button')).toHaveCount(0);
    await expect(page.getByRole('alert')).toHaveCount(0);
  });

  await test.step('the home page sends the administrator on to the accounts page', async () => {
    await login.open('/');
    await expect(page).toHaveURL((url) => url.pathname === '/admin');
  });

  await test.step('the plan downloads as a workbook', async () => {
    await plan.openPlan(2020);
    const sheets = await plan.downloadXlsx();
    expect(Object.keys(sheets).length).toBeGreaterThan(0);
  });

  await test.step('the session gone, the refused download is said on screen and nothing is saved', async () => {
    await context.clearCookies();
    let downloads = 0;
    page.on('download', () => {
      downloads += 1;
    });
    await plan.click(plan.byTestId('export-plan-csv'));
    const error = page.getByTestId('download-error');
    await expect(error).toBeVisible();
    await expect(error).toHaveAttribute('data-for', 'export-plan-csv');
    await expect(error).toContainText('Hãy đăng nhập để tiếp tục');
    expect(downloads, 'an error body is not a file').toBe(0);
  });

  expect(syncRequests, 'an administrator-only browser never calls the sync API').toEqual([]);
});
