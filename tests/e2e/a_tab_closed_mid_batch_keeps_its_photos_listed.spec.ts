// Photos chosen together are stored one by one, seconds each. A tab closed
// (or killed by a phone short of memory) in the middle used to leave the
// photos stored so far on the phone and queued for the server, but out of
// the field's answer, which was written once at the end: the finalize check
// and the server's answer missed photos the inspector could see. Each photo
// is now listed as it is stored, and the field lists, when it opens, any
// stored photo its answer lacks.

import { expect, test } from './support/fixtures';
import { makeJpeg } from './support/images';
import { openPhone } from './support/phones';
import { FIELD } from './support/photo_steps';
import { serverVisits } from './support/restore';
import { VisitPage } from './pages/VisitPage';

/** How many photo records the phone on `page` holds for visit `id`. */
async function storedPhotos(page: import('@playwright/test').Page, id: string): Promise<number> {
  return page.evaluate(async (visitId) => {
    const db: IDBDatabase = await new Promise((ok, no) => {
      const open = indexedDB.open('khaosat');
      open.onsuccess = () => ok(open.result);
      open.onerror = () => no(open.error);
    });
    const all: unknown[] = await new Promise((ok, no) => {
      const read = db.transaction('photos').objectStore('photos').getAll();
      read.onsuccess = () => ok(read.result);
      read.onerror = () => no(read.error);
    });
    db.close();
    return all
      .map((r) => (typeof r === 'string' ? JSON.parse(r) : r) as { visit_id?: string })
      .filter((r) => r.visit_id === visitId).length;
  }, id);
}

test('photos stored before a tab closed mid-batch are in the answer, on the phone and the server', async ({ newContext, baseURL }) => {
  test.setTimeout(240_000);
  const phone = await openPhone(newContext, baseURL!, 'phone');
  const id = await phone.home.startVisit(phone.home.proposalItems.first());
  await phone.visit.fillField('workforce', '19');
  const files = [];
  for (const width of [4000, 4002, 4004, 4006, 4008]) {
    files.push({ name: `IMG_${width}.jpg`, mimeType: 'image/jpeg', buffer: await makeJpeg(phone.page, width, 3000, 0.92) });
  }
  await phone.visit.field(FIELD).getByTestId('photo-input-gallery').setInputFiles(files);
  // The first photo is stored: the tab goes, with the batch in the middle.
  await expect.poll(() => storedPhotos(phone.page, id), { timeout: 60_000, intervals: [20] }).toBeGreaterThan(0);
  await phone.page.close({ runBeforeUnload: false });

  const page = await phone.context.newPage();
  const visit = new VisitPage(page);
  await page.goto(`/visits/${id}`);
  await visit.waitHydrated();
  await visit.expectPhotosRead(FIELD);
  const listed = await visit.photoItems(FIELD).evaluateAll((items) => items.map((i) => i.getAttribute('data-photo-id')!));
  expect(listed.length, 'the batch was cut short').toBeLessThan(files.length);
  expect(listed.length).toBeGreaterThan(0);
  // The server's answer names every photo the field shows.
  await expect
    .poll(async () => [...((((await serverVisits(page.request)).get(id)?.answers[FIELD] as string[] | undefined) ?? []))].sort(), {
      timeout: 60_000,
      intervals: [500],
    })
    .toEqual([...listed].sort());
});
