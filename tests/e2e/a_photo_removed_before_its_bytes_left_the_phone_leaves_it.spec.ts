// Phone A takes a photo while its uploads cannot get through (the record and
// the answer sync, the bytes do not); phone B, of the same inspector, removes
// the photo. When A's link comes back its upload used to be refused (410,
// upload.photo_removed), which A took for "start again": it retried for good
// and showed the photo as waiting. The server now takes the bytes (they
// existed only on A; it keeps a removed photo's original like any other), the
// photo stays removed, and it leaves A.

import { expect, test } from './support/fixtures';
import { openPhone, syncFromHome as sync } from './support/phones';
import { FIELD, addPhoto, removePhoto, saveAndSync } from './support/photo_steps';
import { serverVisits } from './support/restore';

test('a photo removed before its bytes left the phone leaves it', async ({ newContext, baseURL }) => {
  test.setTimeout(240_000);
  const a = await openPhone(newContext, baseURL!, 'phone A');
  const b = await openPhone(newContext, baseURL!, 'phone B');

  let id = '';
  let photo = '';
  await test.step('A takes a photo; its record syncs, its bytes cannot', async () => {
    id = await a.home.startVisit(a.home.proposalItems.first());
    await a.visit.fillField('workforce', '17');
    await a.context.route('**/api/uploads/**', (route) => route.abort());
    photo = await addPhoto(a, 800);
    await a.visit.save();
    await a.visit.expectSyncState('synced', 30_000);
    await expect(a.visit.photoItem(photo)).toHaveAttribute('data-state', 'waiting');
  });

  await test.step('B removes it', async () => {
    await sync(b);
    await b.visit.goto(id);
    await expect(b.visit.photoItem(photo)).toHaveCount(1);
    await removePhoto(b, photo);
    await saveAndSync(b);
  });

  await test.step("A's link comes back: its bytes go, and the removed photo leaves it", async () => {
    await a.context.unroute('**/api/uploads/**');
    await expect
      .poll(
        async () => {
          await sync(a);
          await a.visit.goto(id);
          return a.visit.photoItems(FIELD).count();
        },
        { timeout: 120_000, intervals: [1_000] },
      )
      .toBe(0);
    await sync(a);
    const held = (await serverVisits(a.page.request)).get(id);
    expect(held?.photos ?? []).toEqual([]);
    expect(held?.answers[FIELD] ?? []).toEqual([]);
  });
});
