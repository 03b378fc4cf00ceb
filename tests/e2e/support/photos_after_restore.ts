// The restore scenario both "photos after a restore" specs drive: phone A
// takes two photos of a visit, both phones have them, then the night's
// backup. After it, A takes a photo that B sees; B (out of signal) takes a
// photo and removes one of the first two; A takes a photo and removes the
// other and the one B saw. The restored server never had that one: B's list
// still names it, and must not bring it back into the answer. The server is lost
// and restored; one phone recovers first, then the other. The restored
// server must end with A's and B's new photos, in its answer and with their
// bytes, and both phones must show exactly those two.

import { join } from 'node:path';
import { expect, test, type MakeContext } from './fixtures';
import { openPhone, syncFromHome } from './phones';
import { FIELD, addPhoto, removePhoto, saveAndSync } from './photo_steps';
import { khaosat, serverVisits, type RestoredServers } from './restore';
import { startServer } from './server';

export async function photosComeBackAfterRestore(
  newContext: MakeContext,
  servers: RestoredServers,
  first: 'A' | 'B',
) {
  test.setTimeout(300_000);
  servers.before = await startServer({ name: `before-restore-sets-${first}`, keepData: true });
  const a = await openPhone(newContext, servers.before.baseURL, 'phone A');
  const b = await openPhone(newContext, servers.before.baseURL, 'phone B');

  let id = '';
  let p0 = '';
  let p1 = '';
  await test.step('before the backup, A takes two photos of a visit; both phones have them', async () => {
    id = await a.home.startVisit(a.home.proposalItems.first());
    await a.visit.fillField('workforce', '17');
    p0 = await addPhoto(a, 800);
    p1 = await addPhoto(a, 816);
    await saveAndSync(a);
    await syncFromHome(b);
    await b.visit.goto(id);
    await expect(b.visit.photoItems(FIELD)).toHaveCount(2);
  });

  const backup = join(servers.scratch.dir('backup'), 'nightly');
  await test.step('the nightly backup', () => {
    khaosat(['backup', '--to', backup, '--data-dir', servers.before!.dataDir]);
  });

  let fromB = '';
  let fromA = '';
  let passing = '';
  await test.step('after it, A takes a photo B sees, then B goes out of signal', async () => {
    await a.visit.goto(id);
    passing = await addPhoto(a, 864);
    await saveAndSync(a);
    await syncFromHome(b);
    await b.visit.goto(id);
    await expect(b.visit.photoItems(FIELD)).toHaveCount(3);
  });

  await test.step('B takes one and removes p0; A takes one and removes p1 and the one B saw', async () => {
    await b.context.setOffline(true);
    fromB = await addPhoto(b, 832);
    await removePhoto(b, p0);
    await b.visit.save();
    await b.visit.expectSyncState('queued');
    await a.visit.goto(id);
    fromA = await addPhoto(a, 848);
    await removePhoto(a, p1);
    await removePhoto(a, passing);
    await saveAndSync(a);
  });

  await test.step(`the server is restored; ${first} recovers first, then the other`, async () => {
    await servers.before!.kill();
    const restoredData = join(servers.scratch.dir('restored'), 'data');
    khaosat(['restore', '--from', backup, '--data-dir', restoredData]);
    servers.after = await startServer({
      name: `restored-sets-${first}`,
      port: servers.before!.port,
      dataDir: restoredData,
    });
    const order = first === 'A' ? [a, b] : [b, a];
    for (const phone of order) {
      if (phone === b) await b.context.setOffline(false);
      await syncFromHome(phone);
    }
    for (const phone of [...order, ...order]) await syncFromHome(phone);
    await expect
      .poll(
        async () => {
          const held = (await serverVisits(a.page.request)).get(id);
          return {
            answer: [...((held?.answers[FIELD] as string[]) ?? [])].sort(),
            photos: (held?.photos ?? []).map((p) => [p.id, p.status]).sort(),
          };
        },
        { timeout: 90_000 },
      )
      .toEqual({
        answer: [fromA, fromB].sort(),
        photos: [
          [fromA, 'ok'],
          [fromB, 'ok'],
        ].sort(),
      });
  });

  await test.step('both phones show exactly the two new photos', async () => {
    for (const phone of [a, b]) {
      await expect
        .poll(
          async () => {
            await syncFromHome(phone);
            await phone.visit.goto(id);
            const items = phone.visit.photoItems(FIELD);
            const ids: string[] = [];
            for (let i = 0; i < (await items.count()); i++) ids.push((await items.nth(i).getAttribute('data-photo-id'))!);
            return ids.sort();
          },
          { timeout: 90_000, intervals: [1_000] },
        )
        .toEqual([fromA, fromB].sort());
      await phone.visit.expectSyncState('synced');
    }
  });
}
