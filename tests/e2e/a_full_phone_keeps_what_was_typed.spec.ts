// A phone whose storage is full refuses IndexedDB's writes. The form must not
// claim an answer is written when it is not: it stays pending, the inspector
// is told in words they can act on, it is kept in localStorage so a reload
// still has it, and once space is freed the autosave's retry writes it.

import { PHONE, expect, test } from './support/fixtures';
import { startNewVisit } from './support/newVisit';

test.use({ ...PHONE });

/** The phone's storage full, or room again: while full, every IndexedDB
 *  write the page makes is refused as a full disk refuses it
 *  (QuotaExceededError). DevTools' quota override does fill the origin, but
 *  headless Chromium kept accepting small writes into the app's own, already
 *  open database, so the refusal is made here. Runs in the page. */
function setStorageFull(full: boolean) {
  const w = window as unknown as { __full?: boolean; __put?: typeof IDBObjectStore.prototype.put };
  if (!w.__put) {
    w.__put = IDBObjectStore.prototype.put;
    IDBObjectStore.prototype.put = function (this: IDBObjectStore, ...args: Parameters<IDBObjectStore['put']>) {
      if (w.__full) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      return w.__put!.apply(this, args);
    };
  }
  w.__full = full;
}

test('an answer typed while the phone is full is kept, told, and written once space is back', async ({ page }) => {
  const { visit } = await startNewVisit(page);
  await visit.fillField('workforce', '9');
  await expect(visit.form).toHaveAttribute('data-draft-pending', 'false');
  await page.evaluate(setStorageFull, true);

  await visit.fillField('main_products', 'Gốm Phù Lãng');
  const status = page.getByTestId('save-status');
  await expect(status, 'the failed write is shown, not hidden').toHaveAttribute('data-state', 'error', { timeout: 15_000 });
  await expect(status).toContainText('Bộ nhớ của máy đã đầy');
  await expect(visit.form, 'the answer is not claimed written').toHaveAttribute('data-draft-pending', 'true');
  const kept = await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('khaosat.unloaded-draft.')));
  expect(kept, 'a reload or a killed tab still has it').toHaveLength(1);

  // The inspector frees space: the retry writes the answer.
  await page.evaluate(setStorageFull, false);
  await expect(visit.form).toHaveAttribute('data-draft-pending', 'false', { timeout: 20_000 });
  await expect(status).toHaveAttribute('data-state', 'idle');
  await page.reload();
  await visit.waitHydrated();
  await expect(visit.field('main_products')).toHaveValue('Gốm Phù Lãng');
  await expect(visit.field('workforce')).toHaveValue('9');
});
