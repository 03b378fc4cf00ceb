// Photos of one visit changed on two phones of ksv1 after the night's backup;
// the server is then lost and restored, and the phone that changed them last
// recovers first. The restored server must end with what it held before:
//
// - a caption written on the phone that did not take the photo. Only the
//   photo's own phone used to send a caption again, so this one was lost.
//   Captions now carry the time they were written, and any phone sends its
//   later one;
// - a photo removed on the phone that took it, while the other phone added
//   one. The other phone kept a stale record of the removed photo and counted
//   it as its own, so neither phone sent the removal again and the photo came
//   back. A pull now drops the records of photos removed elsewhere;
// - so the phone that took a photo another phone removed no longer shows it.

import { join } from 'node:path';
import { expect, test } from './support/fixtures';
import { openPhone } from './support/phones';
import { FIELD, addPhoto, removePhoto, saveAndSync } from './support/photo_steps';
import { attachVisitState, khaosat, restoredServers, serverVisits } from './support/restore';
import { startServer } from './support/server';

// Its own servers: this spec kills one and restores it into another.
const servers = restoredServers();

test('photos changed on two phones come back after a restore', async ({ newContext }) => {
  test.setTimeout(300_000);
  servers.before = await startServer({ name: 'before-restore-photos', keepData: true });
  const taker = await openPhone(newContext, servers.before.baseURL, 'photo phone');
  const other = await openPhone(newContext, servers.before.baseURL, 'other phone');

  let id = '';
  // A failed check carries what the server and both phones held of the visit.
  const keepBothPhones = async (failure: unknown): Promise<never> => {
    await attachVisitState(taker.page, id);
    await attachVisitState(other.page, id);
    throw failure;
  };
  let gate = '';
  let removed = '';
  await test.step('before the backup, one phone takes two photos of a visit; both phones have it', async () => {
    id = await taker.home.startVisit(taker.home.proposalItems.first());
    await taker.visit.fillField('workforce', '17');
    gate = await addPhoto(taker, 800);
    removed = await addPhoto(taker, 816);
    await saveAndSync(taker);
    await other.home.syncNow();
    await expect(other.home.visitItem(id)).toHaveCount(1);
  });

  const backup = join(servers.scratch.dir('backup'), 'nightly');
  await test.step('the nightly backup', () => {
    khaosat(['backup', '--to', backup, '--data-dir', servers.before!.dataDir]);
  });

  let added = '';
  await test.step('after it, the photo phone removes a photo; the other captions one and adds one', async () => {
    await taker.visit.goto(id);
    await removePhoto(taker, removed);
    await saveAndSync(taker);
    // Out of signal until after the restore: it never hears of the caption.
    await taker.context.setOffline(true);
    await other.home.syncNow();
    await other.visit.goto(id);
    await expect(other.visit.photoItems(FIELD))
      .toHaveCount(1)
      .catch(keepBothPhones);
    const caption = other.visit.photoItem(gate).getByTestId('photo-caption');
    await caption.fill('Cổng xưởng phía bắc');
    await caption.press('Tab');
    await other.visit.waitCaptionSaved(other.visit.photoItem(gate));
    added = await addPhoto(other, 832);
    await saveAndSync(other);
    const held = (await serverVisits(other.page.request)).get(id);
    expect(held?.photos.map((p) => [p.id, p.caption ?? null])).toEqual([
      [gate, 'Cổng xưởng phía bắc'],
      [added, null],
    ]);
  });

  await test.step('the server is lost and restored from the backup at the same address', async () => {
    await servers.before!.kill();
    const restoredData = join(servers.scratch.dir('restored'), 'data');
    khaosat(['restore', '--from', backup, '--data-dir', restoredData]);
    servers.after = await startServer({ name: 'restored-photos', port: servers.before!.port, dataDir: restoredData });
    const held = (await serverVisits(other.page.request)).get(id);
    expect(held?.photos.map((p) => p.id), 'the backup holds the first two photos').toEqual([gate, removed]);
  });

  await test.step('the phone that changed them last recovers first, then the photo phone', async () => {
    await other.home.goto();
    await other.home.syncNow();
    await taker.context.setOffline(false);
    await taker.home.goto();
    await taker.home.syncNow();
    await expect
      .poll(async () => (await serverVisits(taker.page.request)).get(id)?.photos.map((p) => [p.id, p.caption ?? null, p.status]), {
        timeout: 90_000,
      })
      .toEqual([
        [gate, 'Cổng xưởng phía bắc', 'ok'],
        [added, null, 'ok'],
      ]);
    await taker.visit.goto(id);
    await expect(taker.visit.photoItems(FIELD)).toHaveCount(2);
    await expect(taker.visit.photoItem(gate).getByTestId('photo-caption')).toHaveValue('Cổng xưởng phía bắc');
  });

  await test.step('a photo removed on the other phone leaves the phone that took it', async () => {
    await other.visit.goto(id);
    await removePhoto(other, gate);
    await saveAndSync(other);
    await taker.home.goto();
    await taker.home.syncNow();
    await taker.visit.goto(id);
    // Failed in CI 80, 89 and 91 (two items for 15 s): the removal had never
    // been made, as `removePhoto` took a list not drawn yet for a photo gone.
    // If it fails again, the failure carries what the server and both phones held.
    await expect(taker.visit.photoItems(FIELD))
      .toHaveCount(1)
      .catch(keepBothPhones);
    await expect(taker.visit.photoItem(added)).toHaveCount(1);
  });
});
