// The server is lost and restored from the night's backup. A phone that
// synced after that backup shows its work as sent, but the restored server
// lacks it. Before, the phone's next push was refused (`sync.seq_gap`) forever
// and its pull cursor pointed past the restored log. Now the restored server
// has a new log epoch; the phone is told (`sync.server_restored`), sends again
// what the server lacks (an answer changed, a visit finalized with its photo,
// the photo attached again before the finalize locks the visit), pulls
// from 0, and goes on syncing.

import { join } from 'node:path';
import { PHONE, expect, test } from './support/fixtures';
import { fillRequired } from './support/finalize_steps';
import { makeJpeg } from './support/images';
import { khaosat, restoredServers, serverVisits } from './support/restore';
import { startServer } from './support/server';
import { ensureServiceWorkerControls } from './support/serviceWorker';
import { HomePage } from './pages/HomePage';
import { LoginPage } from './pages/LoginPage';
import { VisitPage } from './pages/VisitPage';

// Its own servers: this spec kills one and restores it into another.
const servers = restoredServers();

test('a phone gives a restored server back what it synced after the backup', async ({ newContext }) => {
  test.setTimeout(240_000);
  servers.before = await startServer({ name: 'before-restore', keepData: true });
  const phone = await newContext({ ...PHONE, baseURL: servers.before.baseURL, label: 'phone' });
  const page = await phone.newPage();
  const home = new HomePage(page);
  const visit = new VisitPage(page);
  await page.goto('/');
  await new LoginPage(page).loginAs('ksv1');
  await home.expectShown();
  await ensureServiceWorkerControls(page, () => home.waitHydrated());
  await home.expectSynced();

  let kept = '';
  await test.step('a visit reaches the server before the backup', async () => {
    kept = await home.startVisit(home.proposalItems.first());
    await visit.fillField('workforce', '17');
    await visit.save();
    await visit.expectSyncState('synced', 30_000);
  });

  const backup = join(servers.scratch.dir('backup'), 'nightly');
  await test.step('the nightly backup', () => {
    khaosat(['backup', '--to', backup, '--data-dir', servers.before!.dataDir]);
  });

  let lost = '';
  const photo = await makeJpeg(page, 1600, 1200, 0.9);
  await test.step('after it, an answer changes and a second visit is finalized with a photo', async () => {
    await visit.goto(kept);
    await visit.fillField('workforce', '18');
    await visit.save();
    await visit.expectSyncState('synced', 30_000);
    await home.goto();
    lost = await home.startVisit(home.proposalItems.nth(1));
    await fillRequired(visit);
    const field = page.getByTestId('field-evidence_photos');
    await field.getByTestId('photo-input-gallery').setInputFiles([{ name: 'IMG_1.jpg', mimeType: 'image/jpeg', buffer: photo }]);
    await expect(field.getByTestId('photo-item')).toHaveCount(1, { timeout: 60_000 });
    await visit.save();
    await visit.expectSyncState('synced', 30_000);
    await expect(field.getByTestId('photo-item')).toHaveAttribute('data-state', 'ok', { timeout: 60_000 });
    await visit.click(visit.finalizeButton);
    await visit.expectReviewState('submitted', 30_000);
    await visit.expectSyncState('synced', 30_000);
    const held = await serverVisits(page.request);
    expect(held.get(kept)?.answers.workforce).toBe(18);
    expect(held.get(lost)?.review_state).toBe('submitted');
    expect(held.get(lost)?.photos.map((p) => p.status)).toEqual(['ok']);
  });

  await test.step('the server is lost and restored from the backup at the same address', async () => {
    await servers.before!.kill();
    const restoredData = join(servers.scratch.dir('restored'), 'data');
    khaosat(['restore', '--from', backup, '--data-dir', restoredData]);
    servers.after = await startServer({ name: 'restored', port: servers.before!.port, dataDir: restoredData });
    const held = await serverVisits(page.request);
    expect(held.get(kept)?.answers.workforce, 'the backup holds the first answer only').toBe(17);
    expect(held.has(lost), 'the backup lacks the second visit').toBe(false);
  });

  await test.step('the phone syncs and the restored server gets back the answer, the visit and its photo', async () => {
    await home.goto();
    await home.click(home.syncButton);
    await expect(home.syncStatus).toHaveAttribute('data-state', 'ok', { timeout: 60_000 });
    await expect
      .poll(async () => {
        const held = await serverVisits(page.request);
        const again = held.get(lost);
        return [held.get(kept)?.answers.workforce, again?.answers.workforce, again?.review_state, again?.photos.map((p) => p.status).join()];
      }, { timeout: 60_000 })
      .toEqual([18, 8, 'submitted', 'ok']);
    await expect(home.visitItem(kept)).toHaveAttribute('data-sync-state', 'synced');
    await expect(home.visitItem(lost)).toHaveAttribute('data-sync-state', 'synced');
  });

  await test.step('the phone goes on syncing with the restored server', async () => {
    await visit.goto(kept);
    await expect(visit.field('workforce')).toHaveValue('18');
    await visit.fillField('workforce', '19');
    await visit.save();
    await visit.expectSyncState('synced', 30_000);
    expect((await serverVisits(page.request)).get(kept)?.answers.workforce).toBe(19);
  });
});
