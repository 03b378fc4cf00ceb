// The restore scenario both "later answer" specs drive: two phones of ksv1
// share a visit; after the backup the earlier phone changes an answer and goes
// out of signal, the later phone changes it again; the server is restored,
// the later phone recovers first, then the earlier one comes online. The
// later answer must stay on the server and on both phones.

import { join } from 'node:path';
import { expect, test, type MakeContext } from './fixtures';
import { openPhone } from './phones';
import { khaosat, serverVisits, type RestoredServers } from './restore';
import { startServer } from './server';

/** The earlier phone's clock offset and whether its pull after the push is lost. */
export type Earlier = { clockAheadMs: number; pullLost: boolean };

export async function laterAnswerSurvivesRestore(
  newContext: MakeContext,
  servers: RestoredServers,
  name: string,
  earlierPhone: Earlier,
) {
  test.setTimeout(240_000);
  servers.before = await startServer({ name: `before-restore-${name}`, keepData: true });
  const earlier = await openPhone(newContext, servers.before.baseURL, 'earlier phone', earlierPhone.clockAheadMs);
  const later = await openPhone(newContext, servers.before.baseURL, 'later phone');

  let id = '';
  await test.step('a visit reaches the server and both phones before the backup', async () => {
    id = await earlier.home.startVisit(earlier.home.proposalItems.first());
    await earlier.visit.fillField('workforce', '17');
    await earlier.visit.save();
    await earlier.visit.expectSyncState('synced', 30_000);
    await later.home.syncNow();
    await expect(later.home.visitItem(id)).toHaveCount(1);
  });

  const backup = join(servers.scratch.dir('backup'), 'nightly');
  await test.step('the nightly backup', () => {
    khaosat(['backup', '--to', backup, '--data-dir', servers.before!.dataDir]);
  });

  await test.step('after it, one phone changes the answer, then the other changes it again', async () => {
    await earlier.visit.goto(id);
    if (earlierPhone.pullLost) {
      // The signal goes right after the push: its answer arrives, the pull does not.
      await earlier.page.route('**/api/sync/pull**', (route) => route.abort());
    }
    await earlier.visit.fillField('workforce', '20');
    await earlier.visit.save();
    await earlier.visit.expectSyncState('synced', 30_000);
    // Out of signal from here until after the restore: it keeps its 20.
    await earlier.context.setOffline(true);
    await earlier.page.unrouteAll({ behavior: 'ignoreErrors' });
    await later.home.syncNow();
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
    servers.after = await startServer({ name: `restored-${name}`, port: servers.before!.port, dataDir: restoredData });
    expect((await serverVisits(later.page.request)).get(id)?.answers.workforce, 'the backup holds 17').toBe(17);
  });

  await test.step('the phone with the later answer recovers first', async () => {
    await later.home.goto();
    await later.home.syncNow();
    await expect
      .poll(async () => (await serverVisits(later.page.request)).get(id)?.answers.workforce, { timeout: 60_000 })
      .toBe(30);
  });

  await test.step('the phone with the earlier answer comes online and takes the later one', async () => {
    await earlier.context.setOffline(false);
    await earlier.home.goto();
    await earlier.home.syncNow();
    await expect(earlier.home.visitItem(id)).toHaveAttribute('data-sync-state', 'synced');
    await earlier.visit.goto(id);
    await expect(earlier.visit.field('workforce')).toHaveValue('30');
    expect((await serverVisits(earlier.page.request)).get(id)?.answers.workforce).toBe(30);
  });
}
