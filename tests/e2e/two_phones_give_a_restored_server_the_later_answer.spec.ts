// Two phones of one inspector both changed an answer after the night's
// backup: the first phone at one moment, the second later, on top of it.
// The server is then lost and restored. The phone with the later answer
// recovers first; the one with the earlier answer comes online after it.
// A restored server numbers versions from the backup's again, so the second
// to recover used to find the first one's resend "not newer" than what it
// had seen, and sent its earlier answer over the later one. Now each phone
// compares when the answers were written (a resend keeps its first time),
// and the later answer stays, whichever phone recovers last.

import { join } from 'node:path';
import { PHONE, expect, test } from './support/fixtures';
import { khaosat, restoredServers, serverVisits } from './support/restore';
import { startServer } from './support/server';
import { ensureServiceWorkerControls } from './support/serviceWorker';
import { HomePage } from './pages/HomePage';
import { LoginPage } from './pages/LoginPage';
import { VisitPage } from './pages/VisitPage';

// Its own servers: this spec kills one and restores it into another.
const servers = restoredServers();

test('two phones of one inspector give a restored server the later answer', async ({ newContext }) => {
  test.setTimeout(240_000);
  servers.before = await startServer({ name: 'before-restore-two', keepData: true });
  const phones = [];
  for (const label of ['earlier phone', 'later phone']) {
    const context = await newContext({ ...PHONE, baseURL: servers.before.baseURL, label });
    const page = await context.newPage();
    const home = new HomePage(page);
    await page.goto('/');
    await new LoginPage(page).loginAs('ksv1');
    await home.expectShown();
    await ensureServiceWorkerControls(page, () => home.waitHydrated());
    await home.expectSynced();
    phones.push({ context, page, home, visit: new VisitPage(page) });
  }
  const [earlier, later] = phones;

  let id = '';
  await test.step('a visit reaches the server and both phones before the backup', async () => {
    id = await earlier.home.startVisit(earlier.home.proposalItems.first());
    await earlier.visit.fillField('workforce', '17');
    await earlier.visit.save();
    await earlier.visit.expectSyncState('synced', 30_000);
    await later.home.click(later.home.syncButton);
    await later.home.expectSynced();
    await expect(later.home.visitItem(id)).toHaveCount(1);
  });

  const backup = join(servers.scratch.dir('backup'), 'nightly');
  await test.step('the nightly backup', () => {
    khaosat(['backup', '--to', backup, '--data-dir', servers.before!.dataDir]);
  });

  await test.step('after it, one phone changes the answer, then the other changes it again', async () => {
    await earlier.visit.goto(id);
    await earlier.visit.fillField('workforce', '20');
    await earlier.visit.save();
    await earlier.visit.expectSyncState('synced', 30_000);
    // Out of signal from here until after the restore: it keeps its 20.
    await earlier.context.setOffline(true);
    await later.home.click(later.home.syncButton);
    await later.home.expectSynced();
    await later.visit.goto(id);
    await expect(later.visit.field('workforce')).toHaveValue('20');
    await later.visit.fillField('workforce', '30');
    await later.visit.save();
    await later.visit.expectSyncState('synced', 30_000);
    expect((await serverVisits(later.page.request)).get(id)?.answers.workforce).toBe(30);
  });

  await test.step('the server is lost and restored from the backup at the same address', async () => {
    await servers.before!.kill();
    const restoredData = join(servers.scratch.dir('restored'), 'data');
    khaosat(['restore', '--from', backup, '--data-dir', restoredData]);
    servers.after = await startServer({ name: 'restored-two', port: servers.before!.port, dataDir: restoredData });
    expect((await serverVisits(later.page.request)).get(id)?.answers.workforce, 'the backup holds 17').toBe(17);
  });

  await test.step('the phone with the later answer recovers first', async () => {
    await later.home.goto();
    await later.home.click(later.home.syncButton);
    await later.home.expectSynced();
    await expect
      .poll(async () => (await serverVisits(later.page.request)).get(id)?.answers.workforce, { timeout: 60_000 })
      .toBe(30);
  });

  await test.step('the phone with the earlier answer comes online and takes the later one', async () => {
    await earlier.context.setOffline(false);
    await earlier.home.goto();
    await earlier.home.click(earlier.home.syncButton);
    await earlier.home.expectSynced();
    await expect(earlier.home.visitItem(id)).toHaveAttribute('data-sync-state', 'synced');
    await earlier.visit.goto(id);
    await expect(earlier.visit.field('workforce')).toHaveValue('30');
    expect((await serverVisits(earlier.page.request)).get(id)?.answers.workforce).toBe(30);
  });
});
