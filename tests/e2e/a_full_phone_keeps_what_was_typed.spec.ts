// A phone whose storage is full refuses IndexedDB's writes when they commit:
// the request succeeds, then the transaction aborts with QuotaExceededError.
// The form must not claim an answer is written when it is not: it stays
// pending, the inspector is told in words they can act on, it is kept in
// localStorage so a reload still has it (a reload while still full must not
// drop that copy), and once space is freed the answer is written.

import { PHONE, expect, test } from './support/fixtures';
import { makeJpeg } from './support/images';
import { startNewVisit } from './support/newVisit';

test.use({ ...PHONE });

/** Installed before the app loads (and again on every reload): while
 *  sessionStorage says the phone is full, every write transaction aborts at
 *  its commit, as a full disk makes it. DevTools' quota override does fill
 *  the origin, but headless Chromium kept accepting small writes into the
 *  app's own, already open database, so the refusal is made here. */
function fullStorageSwitch() {
  // This load's name, for what it notes in sessionStorage (which outlives it).
  const load = String(Math.random());
  (window as unknown as { khaosatLoad: string }).khaosatLoad = load;
  const store = IDBObjectStore.prototype as unknown as Record<string, (...args: unknown[]) => IDBRequest>;
  for (const name of ['put', 'add', 'delete']) {
    const original = store[name];
    store[name] = function (this: IDBObjectStore, ...args: unknown[]) {
      const request = original.apply(this, args);
      if (sessionStorage.getItem('khaosat.test-full') === '1') {
        // This load tried to write the typed answer (the kept copy) to the visit.
        if (this.name === 'visits' && JSON.stringify(args[0] ?? null).includes('Gốm Phù Lãng')) {
          sessionStorage.setItem('khaosat.test-answer-write-tried', load);
        }
        const tx = this.transaction;
        request.addEventListener('success', () => {
          try {
            tx.abort();
          } catch {
            // Already finished or aborted.
          }
        });
      }
      return request;
    };
  }
  // The kept copy must stay in localStorage until IndexedDB has the answer:
  // taken out before a write that then fails, it is lost to a reload or a
  // closed tab in that moment. Every removal of it while full is noted.
  const removeItem = Storage.prototype.removeItem;
  Storage.prototype.removeItem = function (this: Storage, key: string) {
    if (key.startsWith('khaosat.unloaded-draft.') && sessionStorage.getItem('khaosat.test-full') === '1') {
      sessionStorage.setItem('khaosat.test-removed-while-full', key);
    }
    return removeItem.call(this, key);
  };
}

const setFull = (full: boolean) => (full ? sessionStorage.setItem('khaosat.test-full', '1') : sessionStorage.removeItem('khaosat.test-full'));
const keptDrafts = () => Object.keys(localStorage).filter((k) => k.startsWith('khaosat.unloaded-draft.'));

test('an answer typed while the phone is full is kept, told, and written once space is back', async ({ page }) => {
  await page.addInitScript(fullStorageSwitch);
  const { visit } = await startNewVisit(page);
  await visit.fillField('workforce', '9');
  await expect(visit.form).toHaveAttribute('data-draft-pending', 'false');
  await page.evaluate(setFull, true);

  await visit.fillField('main_products', 'Gốm Phù Lãng');
  const status = page.getByTestId('save-status');
  await expect(status, 'the failed write is shown, not hidden').toHaveAttribute('data-state', 'error', { timeout: 15_000 });
  await expect(status).toContainText('Bộ nhớ của máy đã đầy');
  await expect(visit.form, 'the answer is not claimed written').toHaveAttribute('data-draft-pending', 'true');
  expect(await page.evaluate(keptDrafts), 'a reload or a killed tab still has it').toHaveLength(1);

  // The explicit save fails too, and its message stays (the draft's retry
  // landing later would not make the save happen).
  // (Here the refusal is an abort without the browser's QuotaExceededError,
  // which the save reads when a real disk is full: the message is the
  // general one for a write the phone refused.)
  await visit.click(visit.saveButton);
  await expect(status).toHaveAttribute('data-state', 'error');
  await expect(status).toContainText(/bộ nhớ của máy/i);

  // A reload while still full keeps the copy for later.
  await page.reload();
  await visit.waitHydrated();
  await expect(visit.form).toBeVisible();
  await expect.poll(() => page.evaluate(keptDrafts), { message: 'the kept copy outlives a failed write' }).toHaveLength(1);
  // The reloaded page tried to write the kept copy and failed (the phone is
  // still full): the copy never left localStorage meanwhile.
  await expect
    .poll(() => page.evaluate(() => sessionStorage.getItem('khaosat.test-answer-write-tried') === (window as unknown as { khaosatLoad: string }).khaosatLoad))
    .toBe(true);
  expect(await page.evaluate(() => sessionStorage.getItem('khaosat.test-removed-while-full')), 'the kept copy is never taken out before it is written').toBeNull();

  // The inspector frees space: the next load writes the answer.
  await page.evaluate(setFull, false);
  await page.reload();
  await visit.waitHydrated();
  await expect(visit.field('main_products')).toHaveValue('Gốm Phù Lãng');
  await expect(visit.field('workforce')).toHaveValue('9');
  await expect.poll(() => page.evaluate(keptDrafts)).toHaveLength(0);
});

test('a photo removed while the phone is full stays, and the inspector is told', async ({ page }) => {
  await page.addInitScript(fullStorageSwitch);
  const { visit } = await startNewVisit(page);
  const jpeg = await makeJpeg(page, 800, 600, 0.9);
  await visit
    .field('evidence_photos')
    .getByTestId('photo-input-gallery')
    .setInputFiles([{ name: 'IMG_1.jpg', mimeType: 'image/jpeg', buffer: jpeg }]);
  const items = visit.photoItems('evidence_photos');
  await expect(items).toHaveCount(1, { timeout: 60_000 });
  const error = visit.field('evidence_photos').getByTestId('photo-error');
  // The first press asks, the next removes (a failed removal keeps asking
  // nothing more); a sync's redraw forgets a press: press, one at a time,
  // until `done` holds.
  const remove = async (done: () => Promise<void>) =>
    expect(async () => {
      if ((await items.count()) > 0) await items.first().getByTestId('photo-remove').click({ timeout: 5_000 });
      await done();
    }).toPass({ timeout: 60_000 });
  const refused = () => expect(error, 'the removal the phone could not store is told').toContainText(/bộ nhớ của máy/i, { timeout: 2_000 });
  await page.evaluate(setFull, true);
  await remove(refused);
  await expect(items, 'the photo stays on the screen').toHaveCount(1);
  // And on the phone: a reload still lists it.
  await page.reload();
  await visit.waitHydrated();
  await expect(items).toHaveCount(1, { timeout: 15_000 });
  await remove(refused);

  // With space back, the removal goes through and the message goes with it.
  await page.evaluate(setFull, false);
  await remove(() => expect(items).toHaveCount(0, { timeout: 2_000 }));
  await expect(error).toHaveCount(0);
  await page.reload();
  await visit.waitHydrated();
  await visit.expectPhotosRead('evidence_photos');
  await expect(items).toHaveCount(0);
});
