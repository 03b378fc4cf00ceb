// The registry intake, end to end: a supervisor uploads a commune office's CSV for
// 2026 (the 2025 tree), reads each row's fate in the preview (a typo first, then
// the file fixed and chosen again under the same name), commits it, and the
// new proposals show on the phone of the inspector whose 2020 district formed that
// commune. Deactivated from their page, they leave the phone at its next sync.

import { DESKTOP, PHONE, expect, test } from './support/fixtures';
import { HomePage } from './pages/HomePage';
import { LoginPage } from './pages/LoginPage';

// phường Tân An (07682) was formed from communes of Yên Dũng (221), ksv4's district.
const COMMUNE = '07682';
const INSPECTOR = 'ksv4';
const HEADER = 'Tên cơ sở,Xã/phường (mã hoặc tên),Nhóm ngành,Tên đề án,Hình thức hỗ trợ,Kinh phí đề nghị (đồng),Năm';

test('a registry file is previewed, committed and reaches the inspector in scope', async ({ page, newContext }) => {
  test.slow();
  await page.setViewportSize(DESKTOP.viewport!);
  const stamp = Date.now().toString(36);
  const titles = [`Máy ép viên nén ${stamp}`, `Dây chuyền sấy ${stamp}`];
  const csv = [
    HEADER,
    `Cơ sở Viên nén Tân An ${stamp},${COMMUNE},processing,${titles[0]},machinery,"1.200.000.000",2026`,
    `Hợp tác xã Sấy Tân An ${stamp},phường Tân An,processing,${titles[1]},machinery,450000000,2026`,
  ].join('\r\n');

  await test.step('the supervisor previews the file: two new facilities, two new proposals', async () => {
    const login = new LoginPage(page);
    await login.goto();
    await login.loginAs('giamsat');
    await page.goto('/registry');
    await expect(page.locator('html')).toHaveAttribute('data-hydrated', 'true', { timeout: 30_000 });
    // First with a typo in the commune code: the row is refused and says why.
    const typo = csv.replace(`,${COMMUNE},`, ',07862,');
    await page.getByTestId('registry-file').setInputFiles({ name: 'dang-ky.csv', mimeType: 'text/csv', buffer: Buffer.from(typo) });
    const report = page.getByTestId('registry-report');
    await expect(report).toHaveAttribute('data-refused', '1');
    await expect(page.getByTestId('registry-problem')).toHaveCount(1);
    await expect(page.getByTestId('registry-problem')).toHaveAttribute('data-row', '2');

    // The file fixed and chosen again under the same name. A browser fires no
    // change for the file already in the input, so the input forgets it as the
    // picker opens.
    const chooser = page.waitForEvent('filechooser');
    await page.locator('label[for="registry-file"]').click();
    const picker = await chooser;
    await expect(page.getByTestId('registry-file')).toHaveValue('');
    await expect(report, 'the typo file stays shown while the picker is open').toHaveAttribute('data-refused', '1');
    await picker.setFiles({ name: 'dang-ky.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await expect(report).toHaveAttribute('data-committed', 'false');
    await expect(report).toHaveAttribute('data-new-proposals', '2');
    await expect(page.getByTestId('registry-row')).toHaveCount(2);
    await expect(page.getByTestId('registry-row').nth(1)).toContainText('phường Tân An (07682)');
    await expect(page.getByTestId('registry-problem')).toHaveCount(0);
  });

  await test.step('the supervisor commits it', async () => {
    await page.getByTestId('registry-commit').click();
    await expect(page.getByTestId('registry-report')).toHaveAttribute('data-committed', 'true');
    await expect(page.getByTestId('registry-committed')).toBeVisible();
  });

  const phone = await (await newContext({ ...PHONE, label: 'phone' })).newPage();
  const home = new HomePage(phone);
  const ids: string[] = [];
  await test.step(`${INSPECTOR}'s phone lists them after its pull`, async () => {
    const login = new LoginPage(phone);
    await login.goto();
    await login.loginAs(INSPECTOR);
    await home.expectShown();
    for (const title of titles) {
      const item = home.proposalItems.filter({ hasText: title });
      await expect(item, `${title} must reach ${INSPECTOR}`).toHaveCount(1);
      await expect(item).toContainText('phường Tân An');
      ids.push((await item.getAttribute('data-proposal-id'))!);
    }
  });

  await test.step('deactivated on their page, they leave the phone at its next sync', async () => {
    for (const id of ids) {
      await page.goto(`/review/proposals/${id}`);
      await expect(page.locator('html')).toHaveAttribute('data-hydrated', 'true', { timeout: 30_000 });
      const panel = page.getByTestId('proposal-edit');
      await expect(panel).toHaveAttribute('data-active', 'true');
      await page.getByTestId('proposal-toggle-active').click();
      await expect(page.getByTestId('proposal-edit')).toHaveAttribute('data-active', 'false');
    }
    await home.click(home.syncButton);
    for (const title of titles) {
      await expect(home.proposalItems.filter({ hasText: title })).toHaveCount(0);
    }
  });
});
