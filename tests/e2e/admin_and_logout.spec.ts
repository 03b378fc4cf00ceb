// Accounts and logout. An administrator creates an inspector with a first password,
// and the new inspector must choose their own at first login. An inspector who logs
// out with changes unsent is warned, asked twice, and finds the changes still queued
// on the phone at their next login, where they sync.

import { request } from '@playwright/test';
import { DESKTOP, PHONE, expect, test } from './support/fixtures';
import { ADMINISTRATOR, DEMO_PASSWORD, PROPOSALS_2026_BY_DISTRICT, PROPOSALS_BY_DISTRICT, proposalsInScope } from './support/demo';
import { ensureServiceWorkerControls } from './support/serviceWorker';
import { AdminPage } from './pages/AdminPage';
import { HomePage } from './pages/HomePage';
import { LoginPage } from './pages/LoginPage';
import { LogoutWarning } from './pages/LogoutWarning';
import { PasswordPage } from './pages/PasswordPage';
import { VisitPage } from './pages/VisitPage';

/** An administrator (de)activates `username` through the server functions. */
async function setActive(origin: string, username: string, active: boolean): Promise<void> {
  const office = await request.newContext({ baseURL: origin });
  expect((await office.post('/api/auth/login', { data: { username: ADMINISTRATOR, password: DEMO_PASSWORD } })).status()).toBe(200);
  const accounts = (await (await office.post('/rpc/list_accounts', { data: {} })).json()) as Array<{ id: string; username: string }>;
  const id = accounts.find((a) => a.username === username)!.id;
  const answer = await office.post('/rpc/set_account_active', { data: { id, active } });
  expect(answer.status(), await answer.text()).toBe(200);
  await office.dispose();
}

test.describe('on an office screen', () => {
  test.use({ ...DESKTOP });

  test('an administrator creates an inspector, who must change the first password at first login', async ({ page }) => {
    // Two logins, an account and a password change (two argon2 hashes) on 2 slow cores.
    test.slow();
    const login = new LoginPage(page);
    const admin = new AdminPage(page);
    const home = new HomePage(page);
    const password = new PasswordPage(page);
    const logout = new LogoutWarning(page);
    // The server is shared by every spec of the run: a name and a phone (unique on the
    // server) that no other spec can have taken.
    const stamp = Date.now();
    const username = `ksvmoi${stamp.toString(36)}`;
    const phone = `09${String(stamp % 100_000_000).padStart(8, '0')}`;
    const firstPassword = 'mat-khau-ban-dau-1';
    const ownPassword = 'mat-khau-rieng-2025';

    await test.step('the administrator creates an inspector account for TP Bắc Giang (213)', async () => {
      await login.goto();
      await login.loginAs(ADMINISTRATOR);
      await admin.goto();
      await admin.createAccount({
        username,
        displayName: 'Vũ Thị Hồng Nhung',
        phone,
        password: firstPassword,
        roles: ['inspector'],
        units: ['bac-giang-2020/213'],
      });
      const row = admin.accountRow(username);
      await expect(row, 'the new account must be listed').toBeVisible();
      await expect(admin.error).toHaveCount(0);
      await expect(admin.created).toContainText(username);
      await expect(row).toHaveAttribute('data-active', 'true');
      await expect(row, 'a first password must be changed').toHaveAttribute('data-must-change', 'true');
      await expect(row.getByTestId('account-units')).toContainText('(213)');
      await expect(admin.createForm.getByTestId('new-username'), 'the form is cleared after a creation').toHaveValue('');
      await expect(
        admin.createForm.getByTestId('new-password'),
        'the first password stays to be passed on, as the notice asks',
      ).toHaveValue(firstPassword);
    });

    await test.step('deactivating asks first; cancelled, the account stays active', async () => {
      await admin.openEdit(username);
      await admin.click(admin.editPanel.getByTestId('account-toggle-active'));
      const question = admin.editPanel.getByTestId('account-deactivate-question');
      await expect(question).toContainText('Mọi phiên đăng nhập kết thúc ngay');
      await expect(admin.accountRow(username)).toHaveAttribute('data-active', 'true');
      await admin.click(question.getByTestId('account-deactivate-cancel'));
      await expect(question).toHaveCount(0);
      await expect(admin.accountRow(username)).toHaveAttribute('data-active', 'true');
    });

    await test.step('offline, the office is told its pages need the network, not that work is kept', async () => {
      await page.context().setOffline(true);
      await expect(page.getByTestId('network-status')).toHaveAttribute('data-online', 'false');
      // On a desk the menu is open in the header; the line carries the detail.
      const line = page.getByTestId('status-line');
      await expect(line).toHaveAttribute('title', /cần mạng để xem và lưu/);
      await expect(line).not.toHaveAttribute('title', /lưu trên máy/);
      await page.context().setOffline(false);
      await expect(page.getByTestId('network-status')).toHaveAttribute('data-online', 'true');
    });

    await test.step('the administrator logs out at once: nothing is unsent', async () => {
      await logout.click(logout.button);
      await login.expectShown();
    });

    // Sync is refused until the first password is replaced: the login must not
    // ask for it (a 403 in the console on every first login).
    const refusedSyncs: string[] = [];
    const watchSync = (response: { url(): string; status(): number }) => {
      if (response.url().includes('/api/sync/') && response.status() === 403) refusedSyncs.push(response.url());
    };
    await test.step('the new inspector logs in with the first password and is sent to change it', async () => {
      page.on('response', watchSync);
      await login.submitCredentials(username, firstPassword);
      await password.expectShown({ required: true });
    });

    await test.step('a reload and the home page ask for no sync either: the phone knows it is refused', async () => {
      await password.reload();
      await password.expectShown({ required: true });
      await page.goto('/');
      await home.waitHydrated();
      // The home's sync ran and ended in the reason, told by the phone itself.
      await expect(page.getByTestId('sync-status')).toHaveAttribute('data-state', 'error');
      await page.goto('/account/password?required=1');
      await password.expectShown({ required: true });
    });

    await test.step('a repeat that does not match is refused before anything is sent', async () => {
      await password.change(firstPassword, ownPassword, `${ownPassword}x`);
      await expect(password.error).toBeVisible();
      await expect(password.changed).toHaveCount(0);
      await expect(page).toHaveURL((url) => url.pathname === '/account/password');
    });

    await test.step('the inspector chooses an own password and lands on the home with the district proposals', async () => {
      await password.change(firstPassword, ownPassword);
      await expect(password.changed).toBeVisible();
      page.off('response', watchSync);
      expect(refusedSyncs, 'no sync is asked for before the password is changed').toEqual([]);
      await home.expectShown();
      // The password page asks for a sync once the password is changed; sync
      // again rather than wait on it.
      await home.click(home.syncButton);
      await home.expectProposalCount(PROPOSALS_BY_DISTRICT['213'] + PROPOSALS_2026_BY_DISTRICT['213']);
    });

    await test.step('the next login with the own password asks for no change', async () => {
      await logout.click(logout.button);
      await login.expectShown();
      await login.loginAs(username, ownPassword);
      await home.expectShown();
    });

    await test.step('office pages opened by address say whom they are for, and draw none of their controls', async () => {
      for (const [path, roles] of [
        ['/review', 'Giám sát viên.'],
        ['/plan', 'Giám sát viên hoặc Quản trị viên.'],
        ['/admin', 'Quản trị viên.'],
      ]) {
        await page.goto(path);
        const refused = page.getByTestId('office-refused');
        await expect(refused).toContainText(`Trang này chỉ dành cho ${roles}`);
        for (const control of ['filter-district', 'export-visits-csv', 'plan-page', 'forms-admin-link']) {
          await expect(page.getByTestId(control)).toHaveCount(0);
        }
        await refused.getByTestId('office-refused-home').click();
        await home.expectShown();
      }
    });

    await test.step('given the supervisor role while logged in, the account opens /review at once, and is refused once it is taken', async () => {
      const office = await request.newContext({ baseURL: new URL(page.url()).origin });
      const login = await office.post('/api/auth/login', { data: { username: ADMINISTRATOR, password: DEMO_PASSWORD } });
      expect(login.status(), await login.text()).toBe(200);
      const accounts = (await (await office.post('/rpc/list_accounts', { data: {} })).json()) as Array<{
        id: string; username: string; display_name: string; phone: string | null; units: string[];
      }>;
      const account = accounts.find((a) => a.username === username);
      if (!account) throw new Error(`no account ${username}`);
      const granted = await office.post('/rpc/update_account', {
        data: { update: { id: account.id, display_name: account.display_name, phone: account.phone,
          roles: ['inspector', 'supervisor'], units: account.units } },
      });
      expect(granted.status(), await granted.text()).toBe(200);
      await office.dispose();
      await page.goto('/review');
      await expect(page.getByTestId('review-list-page')).toBeVisible();
      await expect(page.getByTestId('filter-district')).toBeVisible();
      await expect(page.getByTestId('office-refused')).toHaveCount(0);
      // The kept session took the role: the header offers the review too.
      await page.reload();
      await expect(page.getByTestId('review-link')).toHaveCount(1);
      await expect(page.getByTestId('office-refused')).toHaveCount(0);
      // Taken away again, the page says so rather than keep controls that fail.
      const again = await request.newContext({ baseURL: new URL(page.url()).origin });
      expect((await again.post('/api/auth/login', { data: { username: ADMINISTRATOR, password: DEMO_PASSWORD } })).status()).toBe(200);
      const taken = await again.post('/rpc/update_account', {
        data: { update: { id: account.id, display_name: account.display_name, phone: account.phone,
          roles: ['inspector'], units: account.units } },
      });
      expect(taken.status(), await taken.text()).toBe(200);
      await again.dispose();
      await page.reload();
      await expect(page.getByTestId('office-refused')).toContainText('Giám sát viên');
      await expect(page.getByTestId('filter-district')).toHaveCount(0);
    });

    await test.step('deactivated while logged in, the account is told so at its next login, and not asked to log in again', async () => {
      await setActive(new URL(page.url()).origin, username, false);
      // Its sessions went with it: the next sync is answered 401.
      await home.goto();
      await home.click(home.syncButton);
      await expect(page.getByTestId('relogin-banner')).toBeVisible();
      // A visit saved meanwhile waits in the outbox: what the backup is for.
      const visit = new VisitPage(page);
      await home.startVisit(home.proposalItems.first());
      await visit.fillField('workforce', '12');
      await visit.save();
      await visit.expectSyncState('queued');
      await home.goto();
      await page.getByTestId('relogin-banner').getByRole('link').click();
      await login.expectShown();
      await login.submitCredentials(username, ownPassword);
      await expect(login.error).toContainText('đã bị khóa');
      await expect(page.getByTestId('backup-export')).toHaveCount(1);
      // Said once on the login page, by its own lines, and in the header's detail.
      await expect(page.getByTestId('relogin-banner')).toHaveCount(0);
      await expect(page.getByTestId('login-relogin-note')).toHaveCount(0);
      await expect(page.getByTestId('device-revoked-banner')).toHaveCount(0);
      await expect(page.getByTestId('status-line')).toHaveAttribute('title', /đã bị khóa/);
      // Elsewhere the banner says it with the backup button, also after a
      // reload, and the phone asks the server for nothing more (each sync
      // would be a 401 read as "log in again").
      const asked: string[] = [];
      const watch = (response: { url(): string }) => {
        if (response.url().includes('/api/sync/')) asked.push(response.url());
      };
      page.on('response', watch);
      await home.goto();
      await home.waitHydrated();
      const banner = page.getByTestId('device-revoked-banner');
      await expect(banner).toContainText('đã bị khóa');
      await expect(banner.getByTestId('backup-export')).toBeVisible();
      await expect(page.getByTestId('relogin-banner')).toHaveCount(0);
      await home.click(home.syncButton);
      await expect(page.getByTestId('sync-status')).toHaveAttribute('data-state', 'error');
      await expect(page.getByTestId('status-line')).toHaveAttribute('title', /đã bị khóa/);
      await page.reload();
      await home.waitHydrated();
      await expect(banner).toContainText('đã bị khóa');
      // The login page, opened again, says it too, with the backup button,
      // before anything is typed.
      await banner.getByRole('link').click();
      await login.expectShown();
      await expect(login.error).toContainText('đã bị khóa');
      await expect(page.getByTestId('backup-export')).toHaveCount(1);
      await page.reload();
      await login.expectShown();
      await expect(login.error).toContainText('đã bị khóa');
      page.off('response', watch);
      expect(asked, 'no sync is asked for by a deactivated account').toEqual([]);
    });

    await test.step('reactivated, the account logs in from that page and syncs again', async () => {
      await setActive(new URL(page.url()).origin, username, true);
      await login.loginAs(username, ownPassword);
      await home.expectShown();
      await expect(page.getByTestId('device-revoked-banner')).toHaveCount(0);
      await home.click(home.syncButton);
      await expect(home.syncStatus).toHaveAttribute('data-state', 'ok');
      // The visit saved while it was locked reached the server.
      await expect(home.visitItems.first()).toHaveAttribute('data-sync-state', 'synced');
    });
  });
});

test.describe('an office account', () => {
  test.use({ ...DESKTOP });

  test('deactivated with nothing unsent, it is asked to log in, not to back up', async ({ page }) => {
    test.slow();
    const login = new LoginPage(page);
    const username = `gsmoi${Date.now().toString(36)}`;
    const first = 'mat-khau-ban-dau-3';
    await login.goto();
    const admin = await request.newContext({ baseURL: new URL(page.url()).origin });
    expect((await admin.post('/api/auth/login', { data: { username: ADMINISTRATOR, password: DEMO_PASSWORD } })).status()).toBe(200);
    const created = await admin.post('/rpc/create_account', {
      data: { account: { username, display_name: 'Lê Văn Giám', phone: null, password: first,
        roles: ['supervisor'], units: ['bac-giang-2020/213'] } },
    });
    expect(created.status(), await created.text()).toBe(200);
    const { id } = (await created.json()) as { id: string };
    await login.submitCredentials(username, first);
    await expect(page).toHaveURL((url) => url.pathname === '/account/password');
    const off = await admin.post('/rpc/set_account_active', { data: { id, active: false } });
    expect(off.status(), await off.text()).toBe(200);
    await admin.dispose();

    await login.goto();
    await login.submitCredentials(username, first);
    await expect(login.error).toContainText('đã bị khóa');
    await expect(login.error).toContainText('không còn dữ liệu nào');
    // Nothing of it is kept: no backup, no banner about unsent work, here or
    // on an office page, which asks for a login.
    await expect(page.getByTestId('backup-export')).toHaveCount(0);
    await expect(page.getByTestId('device-revoked-banner')).toHaveCount(0);
    await page.goto('/review');
    await expect(page.locator('html')).toHaveAttribute('data-hydrated', 'true', { timeout: 30_000 });
    await expect(page.getByText('Hãy đăng nhập để tiếp tục.').first()).toBeVisible();
    await expect(page.getByTestId('device-revoked-banner')).toHaveCount(0);
    await expect(page.getByTestId('relogin-banner')).toHaveCount(0);
  });
});

test.describe('on a phone', () => {
  test.use({ ...PHONE });

  test('logging out with unsent changes warns, asks twice, and keeps them for the next login', async ({ page, context }) => {
    test.slow();
    const login = new LoginPage(page);
    const home = new HomePage(page);
    const visit = new VisitPage(page);
    const logout = new LogoutWarning(page);
    let visitId = '';
    let unsent = 0;

    await test.step('an inspector saves a visit offline: it waits in the outbox', async () => {
      await login.goto();
      await login.loginAs('ksv1');
      await home.expectShown();
      await home.expectProposalCount(proposalsInScope('ksv1'));
      // Going offline only makes sense once the service worker serves the shell.
      await ensureServiceWorkerControls(page, () => home.waitHydrated());
      visitId = await home.startVisit(home.proposalItems.first());
      await visit.fillField('workforce', '17');
      await context.setOffline(true);
      await visit.save();
      await visit.expectSyncState('queued');
    });

    await test.step('logout warns with the number of unsent changes; cancel keeps the inspector in', async () => {
      unsent = await logout.openWarning();
      expect(unsent, 'the saved visit is in the outbox').toBeGreaterThan(0);
      await expect(logout.panel).toHaveAttribute('role', 'alertdialog');
      await expect(logout.text).toContainText(String(unsent));
      // Offline, "sync now" cannot do anything: it says so rather than
      // closing the dialog in silence (found on a new-user walk).
      await expect(logout.syncNow).toBeDisabled();
      await expect(page.getByTestId('logout-offline')).toContainText('mất mạng');
      await logout.click(logout.cancel);
      await expect(logout.panel).toHaveCount(0);
      // Back where the keyboard was (the menu closed with the dialog), not
      // at the top of the page.
      await expect(page.getByTestId('header-menu-button')).toBeFocused();
      await expect(home.userName).not.toBeEmpty();
      await expect(page).toHaveURL((url) => url.pathname === `/visits/${visitId}`);
    });

    await test.step('"log out anyway" only asks again; nothing happens until the explicit confirmation', async () => {
      expect(await logout.openWarning()).toBe(unsent);
      await logout.click(logout.anyway);
      await expect(logout.confirm).toBeVisible();
      await expect(logout.confirm, 'the focus the removed button had').toBeFocused();
      await expect(logout.confirm, 'the confirmation names what stays on the phone').toContainText(String(unsent));
      await expect(logout.anyway).toHaveCount(0);
      await expect(page).toHaveURL((url) => url.pathname === `/visits/${visitId}`);
      await expect(home.userName).not.toBeEmpty();
      await logout.click(logout.confirm);
      // Offline: the service worker serves the login's shell.
      await login.expectShown();
    });

    await test.step("the visit's link, logged out, leads to the login page rather than loading for ever", async () => {
      await page.goto(`/visits/${visitId}`);
      await login.expectShown();
      await expect(page).toHaveURL((url) => url.pathname === '/login');
    });

    await test.step('back online, ksv1 logs in again and the queued visit is still there and syncs', async () => {
      await context.setOffline(false);
      await expect(home.networkStatus).toHaveAttribute('data-online', 'true');
      await login.loginAs('ksv1');
      await home.expectShown();
      await expect(home.visitItem(visitId), 'the change kept on the phone must still be there').toBeVisible();
      await expect(
        home.visitItem(visitId),
        'the login must push what the previous session left queued',
      ).toHaveAttribute('data-sync-state', 'synced', { timeout: 15_000 });
      await visit.goto(visitId);
      await expect(visit.field('workforce')).toHaveValue('17');
      await visit.expectSyncState('synced');
    });
  });
});
