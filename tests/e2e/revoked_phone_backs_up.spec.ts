// A phone revoked by an administrator (lost, or handed to someone else) stops
// syncing at once and says why, but keeps what it had not sent and can save it as a
// backup file that a supervisor imports.

import { readFile } from 'node:fs/promises';
import { PHONE, expect, test } from './support/fixtures';
import { proposalsInScope } from './support/demo';
import { ensureServiceWorkerControls } from './support/serviceWorker';
import { HomePage } from './pages/HomePage';
import { LoginPage } from './pages/LoginPage';
import { VisitPage } from './pages/VisitPage';

test.use({ ...PHONE });

/** The inspector whose phone is revoked; no other spec revokes anything of theirs. */
const INSPECTOR = 'ksv4';

test('a revoked phone stops syncing, says why, and still backs up its unsent visit', async ({ page, context, request }) => {
  test.slow();
  const login = new LoginPage(page);
  const home = new HomePage(page);
  const visit = new VisitPage(page);
  let visitId = '';

  await test.step('the inspector saves a visit offline: it waits in the outbox', async () => {
    await login.goto();
    await login.loginAs(INSPECTOR);
    await home.expectShown();
    await home.expectProposalCount(proposalsInScope(INSPECTOR));
    await ensureServiceWorkerControls(page, () => home.waitHydrated());
    visitId = await home.startVisit(home.proposalItems.first());
    await visit.fillField('workforce', '23');
    await context.setOffline(true);
    await visit.save();
    await visit.expectSyncState('queued');
  });

  await test.step('an administrator revokes every phone of the inspector', async () => {
    // The API request context has its own cookies: the administrator's session.
    const logged = await request.post('/api/auth/login', { data: { username: 'quantri', password: 'khaosat-demo' } });
    expect(logged.status()).toBe(200);
    const accounts = await request.post('/rpc/list_accounts', {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      data: '',
    });
    expect(accounts.status()).toBe(200);
    const account = ((await accounts.json()) as Array<{ id: string; username: string }>).find((a) => a.username === INSPECTOR);
    expect(account, `${INSPECTOR} is a demo account`).toBeTruthy();
    const devices = await request.post('/rpc/list_devices', { data: { user_id: account!.id } });
    expect(devices.status()).toBe(200);
    const list = (await devices.json()) as Array<{ device_id: string; revoked_at_ms: number | null }>;
    expect(list.length).toBeGreaterThan(0);
    for (const device of list) {
      const revoked = await request.post('/rpc/revoke_device', { data: { device_id: device.device_id } });
      expect(revoked.status()).toBe(200);
      expect((await revoked.json()).revoked_at_ms).toBeTruthy();
    }
  });

  await test.step('back online, sync is refused with the reason and the visit stays queued', async () => {
    await context.setOffline(false);
    await expect(home.networkStatus).toHaveAttribute('data-online', 'true');
    await home.syncButton.click();
    const banner = page.getByTestId('device-revoked-banner');
    await expect(banner).toBeVisible({ timeout: 15_000 });
    await expect(banner, 'the reason is in Vietnamese').toContainText('thu hồi');
    await visit.expectSyncState('queued');
  });

  await test.step('the backup file holds the unsent visit, ready for an import', async () => {
    const banner = page.getByTestId('device-revoked-banner');
    const [download] = await Promise.all([page.waitForEvent('download'), banner.getByTestId('backup-export').click()]);
    expect(download.suggestedFilename()).toMatch(new RegExp(`^khaosat-backup-${INSPECTOR}-.*\\.zip$`));
    const archive = await readFile((await download.path())!);
    expect(archive.subarray(0, 4).toString('latin1'), 'a ZIP archive').toBe('PK\x03\x04');
    // Stored entries: the manifest and the mutation lines are readable in place.
    const text = archive.toString('utf8');
    expect(text).toContain('"format": "khaosat-backup"');
    expect(text).toContain(`"username": "${INSPECTOR}"`);
    expect(text, 'the unsent visit is in the file').toContain(`"record_id":"${visitId}"`);
    await expect(banner.getByTestId('backup-done')).toBeVisible();
  });

  await test.step('the login page says it once, in its own lines, with one backup button', async () => {
    await page.goto('/login');
    await expect(page.locator('html')).toHaveAttribute('data-hydrated', 'true', { timeout: 30_000 });
    await expect(page.getByTestId('login-error')).toContainText('thu hồi');
    await expect(page.getByTestId('device-revoked-banner')).toHaveCount(0);
    await expect(page.getByTestId('backup-export')).toHaveCount(1);
  });
});
