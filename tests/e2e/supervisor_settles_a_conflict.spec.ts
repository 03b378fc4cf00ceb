// One inspector on two phones edits the same answer: one phone offline, the
// other online. Both phones say the answer waits for a decision; the supervisor sees both
// values side by side, types a value of their own (kept through a reload of the
// page until it is sent; a value that is not a number is refused on the spot),
// and decides. Both phones then take the decided value and stop showing the
// conflict; a phone typing in another answer as the decision arrives keeps
// its place.

import { DESKTOP, PHONE, expect, test } from './support/fixtures';
import { SUPERVISOR } from './support/demo';
import { phoneReady } from './support/newVisit';
import { LoginPage } from './pages/LoginPage';
import { ReviewPage } from './pages/ReviewPage';

test.use({ ...PHONE });

test('two phones edit one answer, the supervisor decides, and both phones take the decision', async ({
  page,
  newContext,
}) => {
  const a = await phoneReady(page);
  const visitId = await a.home.startVisit(a.home.proposalItems.first());
  await test.step('phone A saves a first answer online, and it syncs', async () => {
    await a.visit.fillField('workforce', '10');
    await a.visit.save();
    await a.visit.click(a.home.syncButton);
    await a.visit.expectSyncState('synced', 15_000);
  });

  const phoneB = await newContext({ ...PHONE, label: 'phone-b' });
  const bPage = await phoneB.newPage();
  const b = await phoneReady(bPage);
  await test.step('phone B has the visit from the pull and edits it offline first', async () => {
    await expect(b.home.visitItem(visitId)).toBeVisible();
    await b.visit.goto(visitId);
    await expect(b.visit.field('workforce')).toHaveValue('10');
    await phoneB.setOffline(true);
    await b.visit.fillField('workforce', '15');
    await b.visit.save();
    await b.visit.expectSyncState('queued');
  });

  await test.step('phone A changes it too, online, and syncs', async () => {
    await a.visit.fillField('workforce', '12');
    await a.visit.save();
    await a.visit.click(a.home.syncButton);
    await a.visit.expectSyncState('synced', 15_000);
  });

  await test.step('phone B syncs, then phone A: both say the answer waits for the supervisor', async () => {
    // Which value is stored follows the HLC order of the two edits, not the
    // order of the pushes; each phone hears of the conflict either way.
    await phoneB.setOffline(false);
    await b.visit.click(b.home.syncButton);
    await b.visit.expectSyncState('conflict', 15_000);
    await a.visit.click(a.home.syncButton);
    await a.visit.expectSyncState('conflict', 15_000);
    for (const p of [page, bPage]) {
      await expect(p.getByTestId('visit-conflict')).toContainText('Tổng số lao động');
    }
    // The open forms show what the server stored, not the text typed before.
    const shown = async () => [await a.visit.field('workforce').inputValue(), await b.visit.field('workforce').inputValue()];
    await expect.poll(async () => {
      const [onA, onB] = await shown();
      return onA === onB && ['12', '15'].includes(onA);
    }).toBe(true);
  });

  const office = await newContext({ ...DESKTOP, label: 'desktop' });
  const officePage = await office.newPage();
  const review = new ReviewPage(officePage);
  const conflict = officePage.getByTestId('conflict').and(officePage.locator('[data-field="workforce"]'));
  const custom = conflict.getByTestId('conflict-custom');
  await test.step('the supervisor sees both values beside the one they started from', async () => {
    await new LoginPage(officePage).goto();
    await new LoginPage(officePage).loginAs(SUPERVISOR);
    await review.ensureShown();
    await review.openVisit(visitId);
    await expect(conflict).toHaveCount(1);
    await expect(conflict.getByTestId('conflict-base')).toHaveText('10');
    const both = [
      await conflict.getByTestId('conflict-mine').innerText(),
      await conflict.getByTestId('conflict-theirs').innerText(),
    ].sort();
    expect(both).toEqual(['12', '15']);
  });

  await test.step('a value of their own survives a reload until it is sent; words are refused', async () => {
    await review.fill(custom, 'mười ba');
    await review.click(conflict.getByTestId('conflict-save'));
    await expect(conflict.getByTestId('conflict-error')).toContainText('số');
    await expect(conflict).toHaveCount(1);
    await review.fill(custom, '13');
    await review.reload();
    await expect(custom, 'the unsent value is back after the reload').toHaveValue('13');
    await review.click(conflict.getByTestId('conflict-save'));
    await expect(conflict, 'a decided conflict leaves the list').toHaveCount(0);
    await expect(review.answer('workforce')).toHaveText('13');
    const kept = await officePage.evaluate(() =>
      Object.keys(sessionStorage).filter((k) => k.startsWith('khaosat.office-text.')),
    );
    expect(kept, 'a sent value is forgotten').toEqual([]);
  });

  await test.step('both phones take the decision and stop showing the conflict', async () => {
    // Phone B's inspector is typing in another answer when the decision
    // arrives: the form is made anew, and the same answer keeps the focus
    // (the phone's keyboard stays open), the caret and the words typed.
    const typing = b.visit.field('main_products');
    const words = 'Bàn ghế gỗ, tủ thờ';
    await typing.fill(words);
    for (let i = 0; i < 3; i++) await typing.press('ArrowLeft');
    // A click event that moves no focus, as the sync a reconnection starts.
    await b.home.syncButton.dispatchEvent('click');
    await expect(b.visit.field('workforce')).toHaveValue('13', { timeout: 15_000 });
    await expect(typing).toBeFocused();
    await expect(typing).toHaveValue(words);
    expect(await typing.evaluate((e) => (e as HTMLTextAreaElement).selectionStart)).toBe(words.length - 3);
    await b.visit.save();
    await b.visit.click(b.home.syncButton);
    await b.visit.expectSyncState('synced');
    await expect(bPage.getByTestId('visit-conflict')).toHaveCount(0);
    await a.visit.click(a.home.syncButton);
    await expect(a.visit.field('workforce')).toHaveValue('13', { timeout: 15_000 });
    await a.visit.expectSyncState('synced');
    await expect(page.getByTestId('visit-conflict')).toHaveCount(0);
  });
});
