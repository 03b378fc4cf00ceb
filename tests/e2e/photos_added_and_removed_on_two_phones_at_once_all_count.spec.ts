// One inspector on two phones changes a visit's photo field at the same time:
// phone A, out of signal, takes a photo; phone B, online, takes another and
// removes one that both had. A photo field used to be one value, last writer
// wins: whichever phone's list lost, its new photo dropped out of the answer
// (on the server and on both screens) though its record and bytes were there,
// and a stale list brought a removed photo back into the answer. Now the server
// merges the two lists as a set, less the photos removed, and both phones show
// the same three photos.
//
// Then a caption typed out of signal on a photo the other phone removed: it
// used to be refused, leaving the visit marked refused on that phone for a
// change nobody could redo. The server now keeps the caption with the removed
// original, and the photo leaves the phone.

import { expect, test } from './support/fixtures';
import { openPhone, syncFromHome as sync } from './support/phones';
import { FIELD, addPhoto, removePhoto, saveAndSync } from './support/photo_steps';
import { serverVisits } from './support/restore';

test('photos added and removed on two phones at once all count', async ({ newContext, baseURL }) => {
  test.setTimeout(240_000);
  const a = await openPhone(newContext, baseURL!, 'phone A');
  const b = await openPhone(newContext, baseURL!, 'phone B');

  let id = '';
  let kept = '';
  let removed = '';
  await test.step('phone A takes two photos of a visit and syncs; phone B has them', async () => {
    id = await a.home.startVisit(a.home.proposalItems.first());
    await a.visit.fillField('workforce', '17');
    kept = await addPhoto(a, 800);
    removed = await addPhoto(a, 816);
    await saveAndSync(a);
    await sync(b);
    await b.visit.goto(id);
    await expect(b.visit.photoItems(FIELD)).toHaveCount(2);
  });

  let offline = '';
  let online = '';
  await test.step('A, out of signal, takes a photo; B takes one and removes one', async () => {
    await a.visit.goto(id);
    await a.context.setOffline(true);
    offline = await addPhoto(a, 832);
    await a.visit.save();
    await a.visit.expectSyncState('queued');
    online = await addPhoto(b, 848);
    await removePhoto(b, removed);
    await saveAndSync(b);
  });

  await test.step('A comes back, both sync: every photo taken counts, the removed one stays out', async () => {
    await a.context.setOffline(false);
    await sync(a);
    await sync(b);
    await sync(a);
    const held = (await serverVisits(a.page.request)).get(id);
    expect(new Set(held?.answers[FIELD] as string[])).toEqual(new Set([kept, offline, online]));
    expect((held?.answers[FIELD] as string[]).length).toBe(3);
    for (const phone of [a, b]) {
      await phone.visit.goto(id);
      await expect(phone.visit.photoItems(FIELD)).toHaveCount(3);
      for (const photo of [kept, offline, online]) await expect(phone.visit.photoItem(photo)).toHaveCount(1);
      await expect(phone.visit.photoItem(removed)).toHaveCount(0);
    }
  });

  await test.step('A, out of signal, captions a photo that B removes: A syncs, and the photo leaves it', async () => {
    await a.visit.goto(id);
    await a.context.setOffline(true);
    const caption = a.visit.photoItem(kept).getByTestId('photo-caption');
    await caption.fill('Cổng xưởng');
    await caption.press('Tab');
    await a.visit.waitCaptionSaved(a.visit.photoItem(kept));
    await b.visit.goto(id);
    await removePhoto(b, kept);
    await saveAndSync(b);
    await a.context.setOffline(false);
    await sync(a);
    await a.visit.goto(id);
    await a.visit.expectSyncState('synced');
    await expect(a.visit.photoItems(FIELD)).toHaveCount(2);
    await expect(a.visit.photoItem(kept)).toHaveCount(0);
    const held = (await serverVisits(a.page.request)).get(id);
    expect(new Set(held?.answers[FIELD] as string[])).toEqual(new Set([offline, online]));
  });
});
