// An inspector saves offline while the office closes the survey year, and
// the server refuses what the phone sends. Before, the phone showed the
// refusal of the last change ("no such visit", "the header is missing")
// rather than its cause, a pull then overwrote an edited answer with the
// server's value, and a new visit stayed stuck. Now both visits say the year
// is closed, keep what was typed (also in the phone's backup file), and
// reach the server once it reopens, with the photo taken meanwhile (its
// record was refused with the visit, and it used to stay off the server).

import { DESKTOP, PHONE, expect, test } from './support/fixtures';
import { FIELD, addPhoto } from './support/photo_steps';
import type { InspectorPhone } from './support/phones';
import { serverVisits } from './support/restore';
import { startServer, type KhaosatServer } from './support/server';
import { ensureServiceWorkerControls } from './support/serviceWorker';
import { HomePage } from './pages/HomePage';
import { LoginPage } from './pages/LoginPage';
import { LogoutWarning } from './pages/LogoutWarning';
import { VisitPage } from './pages/VisitPage';

// Its own server: closing 2020 would take every 2020 proposal off the other
// specs' phones.
let server: KhaosatServer | undefined;

test.beforeAll(async () => {
  server = await startServer({ name: 'closed-year' });
});

test.afterAll(async () => {
  await server?.stop();
});

test('changes refused for a closed year stay on the phone and go again when it reopens', async ({ newContext }) => {
  if (!server) throw new Error('the dedicated server did not start');
  const phone = await newContext({ ...PHONE, baseURL: server.baseURL, label: 'phone' });
  const page = await phone.newPage();
  const home = new HomePage(page);
  const visit = new VisitPage(page);
  const login = new LoginPage(page);
  await page.goto('/');
  await login.expectShown();
  // ksv4's districts (221, 217) have 2020 proposals only.
  await login.loginAs('ksv4');
  await home.expectShown();
  await ensureServiceWorkerControls(page, () => home.waitHydrated());
  await home.expectSynced();

  const office = await (await newContext({ ...DESKTOP, baseURL: server.baseURL, label: 'office' })).newPage();
  const officeLogin = new LoginPage(office);
  await officeLogin.goto();
  await officeLogin.loginAs('quantri');

  let held = '';
  let fresh = '';
  const titles: string[] = [];
  await test.step('a visit reaches the server with 17 workers', async () => {
    for (const n of [0, 1]) {
      titles.push((await home.proposalItems.nth(n).locator('.item-title').textContent())!.trim());
    }
    held = await home.startVisit(home.proposalItems.first());
    await visit.fillField('workforce', '17');
    await visit.save();
    await visit.expectSyncState('synced', 30_000);
  });

  let photo = '';
  await test.step('offline, 99 and a photo are saved on it, and a second visit is started and saved', async () => {
    await phone.setOffline(true);
    await visit.fillField('workforce', '99');
    photo = await addPhoto({ context: phone, page, home, visit } as InspectorPhone, 800);
    await visit.save();
    await visit.expectSyncState('queued');
    await home.goto();
    fresh = await home.startVisit(home.proposalItems.nth(1));
    await visit.fillField('workforce', '8');
    await visit.save();
    await visit.expectSyncState('queued');
  });

  await test.step('the office closes 2020', async () => {
    const closed = await office.request.post('/rpc/close_year', { data: { year: 2020, confirm: true } });
    expect(closed.status(), await closed.text()).toBe(200);
  });

  await test.step('back online, both are refused for the closed year and keep what was typed', async () => {
    await phone.setOffline(false);
    await home.goto();
    await home.click(home.syncButton);
    await expect(home.visitItem(held)).toHaveAttribute('data-sync-state', 'refused', { timeout: 30_000 });
    await expect(home.visitItem(fresh)).toHaveAttribute('data-sync-state', 'refused', { timeout: 30_000 });
    for (const id of [held, fresh]) {
      await visit.goto(id);
      const refusal = page.getByTestId('visit-refusal');
      await expect(refusal).toContainText('Năm khảo sát 2020 đã đóng');
      await expect(refusal).toContainText('vẫn ở trên máy');
    }
    // A pull has landed since the refusal: the server's 17 did not replace it.
    await visit.goto(held);
    await expect(visit.field('workforce')).toHaveValue('99');
    // The closed year's proposals left the phone; the visits keep their titles.
    await home.goto();
    await home.expectListsRead();
    await expect(home.proposalItems.filter({ hasText: titles[0] })).toHaveCount(0);
    await expect(home.visitItem(held).locator('.item-title')).toHaveText(titles[0]);
    await expect(home.visitItem(fresh).locator('.item-title')).toHaveText(titles[1]);
  });

  await test.step('offline, a logout warns of both refused visits, and the backup file carries them', async () => {
    await phone.setOffline(true);
    await home.goto();
    const logout = new LogoutWarning(page);
    // Unsent changes: the held visit's answer, its photo list and the photo's
    // record; the fresh visit's one save.
    expect(await logout.openWarning(), 'refused visits count as unsent').toBe(4);
    // The year may reopen and the visits are still the inspector's: they go
    // out at a later login, unlike changes to a finalized visit.
    await expect(logout.panel).toHaveAttribute('data-kept', '0');
    await expect(logout.text).toContainText('lần đăng nhập tới');
    await logout.click(logout.cancel);
    const backup = page.getByTestId('home-backup');
    const [download] = await Promise.all([page.waitForEvent('download'), home.click(backup.getByTestId('backup-export'))]);
    expect(download.suggestedFilename()).toMatch(/^khaosat-backup-ksv4-.*\.zip$/);
    await expect(backup.getByTestId('backup-done')).toHaveAttribute('data-count', '4');
    // Back online they go out again, and are refused again: still kept.
    await phone.setOffline(false);
    await home.click(home.syncButton);
    await expect(home.syncStatus).toHaveAttribute('data-state', 'ok', { timeout: 30_000 });
    await expect(home.visitItem(held)).toHaveAttribute('data-sync-state', 'refused');
    await visit.goto(held);
    await expect(visit.field('workforce')).toHaveValue('99');
  });

  await test.step('the office reopens 2020; saved again, both reach the server', async () => {
    const reopened = await office.request.post('/rpc/open_year', {
      data: { request: { year: 2020, unit_tree: 'bac-giang-2020', form_id: 'khuyen-cong', form_version: 1 } },
    });
    expect(reopened.status(), await reopened.text()).toBe(200);
    await home.goto();
    await home.click(home.syncButton);
    await expect(home.proposalItems.first()).toBeVisible({ timeout: 30_000 });
    for (const id of [held, fresh]) {
      await visit.goto(id);
      await expect(visit.saveButton).toBeEnabled();
      await visit.save();
      await visit.expectSyncState('synced', 30_000);
    }
    // The server holds 99: after a reload and a pull the phone shows it.
    await home.goto();
    await home.click(home.syncButton);
    await expect(home.syncStatus).toHaveAttribute('data-state', 'ok', { timeout: 30_000 });
    await visit.goto(held);
    await expect(visit.field('workforce')).toHaveValue('99');
    await visit.expectSyncState('synced');
    await expect(visit.photoItem(photo)).toHaveAttribute('data-state', 'ok', { timeout: 60_000 });
    const stored = (await serverVisits(page.request)).get(held);
    expect(stored?.answers[FIELD]).toEqual([photo]);
    expect(stored?.photos.map((p) => [p.id, p.status])).toEqual([[photo, 'ok']]);
  });
});
