// Phone B's changes to a visit phone A finalized meanwhile are refused and
// kept on B (a_visit_finalized_on_another_phone_keeps_what_this_one_took).
// No save can send them until a send-back, so they stayed for good and every
// logout warned of them. Now B can discard them, after a question naming
// what goes: the visit is then the server's copy again (A's answer, the
// photo B removed back, the photo B took gone), synced, through a reload and
// a sync, and a logout has nothing to warn of. Also after a cancelled logout
// queued the kept changes for the backup file: they are queued once, the
// visit stays discardable, and the discard withdraws them (a backup then
// holds nothing; their refusal changes nothing).

import { DESKTOP, expect, test } from './support/fixtures';
import { SUPERVISOR } from './support/demo';
import { fillRequired } from './support/finalize_steps';
import { openPhone, syncFromHome as sync, type InspectorPhone } from './support/phones';
import { FIELD, changedOfflineOnB, saveAndSync } from './support/photo_steps';
import { serverVisits } from './support/restore';
import { LoginPage } from './pages/LoginPage';
import { LogoutWarning } from './pages/LogoutWarning';
import { ReviewPage } from './pages/ReviewPage';

/** B changes a visit out of signal while A finalizes it: B's changes come
 *  back refused and kept (the answer 23, a photo taken, one of A's removed). */
async function keptOnB(a: InspectorPhone, b: InspectorPhone): Promise<{ id: string; first: string; taken: string }> {
  const changed = await changedOfflineOnB(a, b, sync);
  await a.visit.goto(changed.id);
  await fillRequired(a.visit, '17');
  await saveAndSync(a);
  await a.visit.click(a.visit.finalizeButton);
  await a.visit.expectReviewState('submitted', 30_000);
  await b.context.setOffline(false);
  await sync(b);
  await sync(b);
  await b.visit.goto(changed.id);
  await b.visit.expectSyncState('refused');
  await expect(b.visit.field('workforce')).toHaveValue('23');
  return changed;
}

test('kept changes of a finalized visit can be discarded', async ({ newContext, baseURL }) => {
  test.setTimeout(240_000);
  const a = await openPhone(newContext, baseURL!, 'phone A');
  const b = await openPhone(newContext, baseURL!, 'phone B');

  let id = '';
  let first = '';
  let taken = '';
  await test.step('B, out of signal, takes a photo, removes A\'s and changes an answer; A finalizes', async () => {
    ({ id, first, taken } = await keptOnB(a, b));
  });

  const discard = b.page.getByTestId('visit-discard');
  await test.step('the question names what goes; "keep them" keeps them', async () => {
    await b.visit.click(discard.getByTestId('visit-discard-ask'));
    const question = discard.getByTestId('visit-discard-question');
    // The answer and the removal; the photo taken here.
    await expect(question).toHaveAttribute('data-changes', '2');
    await expect(question).toHaveAttribute('data-photos', '1');
    await expect(question).toContainText('Bỏ hẳn 2 thay đổi và 1 ảnh chụp trên máy này?');
    await b.visit.click(discard.getByTestId('visit-discard-no'));
    await expect(question).toHaveCount(0);
    await b.visit.expectSyncState('refused');
    await expect(b.visit.photoItem(taken)).toHaveCount(1);
  });

  await test.step('a cancelled logout queues the kept changes, and leaves them discardable', async () => {
    await b.home.goto();
    const logout = new LogoutWarning(b.page);
    expect(await logout.openWarning(), 'kept changes count as unsent').toBe(4);
    // Not "sent at the next login": the server refuses them until a send-back.
    await expect(logout.panel).toHaveAttribute('data-kept', '4');
    await expect(logout.text).toContainText('giám sát viên trả phiếu về');
    await expect(logout.text).not.toContainText('lần đăng nhập tới');
    await logout.click(logout.cancel);
    expect(await logout.openWarning(), 'queued once, not again at each logout').toBe(4);
    await logout.click(logout.cancel);
    await b.visit.goto(id);
    await b.visit.expectSyncState('refused');
    await expect(b.visit.field('workforce')).toHaveValue('23');
  });

  await test.step('discarded, the visit is the server\'s copy, synced, through a reload and a sync', async () => {
    // Before the queued changes are pushed (and refused): their refusal
    // must not bring anything back.
    await b.visit.click(discard.getByTestId('visit-discard-ask'));
    await b.visit.click(discard.getByTestId('visit-discard-yes'));
    const serverCopy = async () => {
      await b.visit.expectSyncState('synced');
      await b.visit.expectReviewState('submitted');
      await expect(b.page.getByTestId('visit-refusal')).toHaveCount(0);
      await expect(discard).toHaveCount(0);
      await expect(b.visit.field('workforce')).toHaveValue('17');
      await expect(b.visit.field('team_members')).toHaveValue('Nguyễn Văn An');
      await expect(b.visit.photoItem(first), 'the removal undone').toHaveCount(1);
      await expect(b.visit.photoItem(taken), 'the photo taken here gone').toHaveCount(0);
    };
    await serverCopy();
    // What the logout had queued of it is withdrawn: a backup holds nothing.
    await b.home.goto();
    const backup = b.page.getByTestId('home-backup');
    await Promise.all([b.page.waitForEvent('download'), b.home.click(backup.getByTestId('backup-export'))]);
    await expect(backup.getByTestId('backup-done')).toHaveAttribute('data-count', '0');
    await b.visit.goto(id);
    await serverCopy();
    await b.page.reload();
    await serverCopy();
    await sync(b);
    await expect(b.home.visitItem(id)).toHaveAttribute('data-sync-state', 'synced');
    await b.visit.goto(id);
    await serverCopy();
    const held = (await serverVisits(b.page.request)).get(id);
    expect(held?.answers[FIELD]).toEqual([first]);
    expect(held?.answers.workforce).toBe(17);
  });

  await test.step('a logout has nothing unsent to warn of', async () => {
    await b.home.goto();
    const logout = new LogoutWarning(b.page);
    await logout.click(logout.button);
    await new LoginPage(b.page).expectShown();
    await expect(logout.panel).toHaveCount(0);
  });
});

// The supervisor sends the visit back while B's discard question is open: the
// kept changes can now be sent, so the offer goes, and the page says why
// (it used to vanish without a word). B then saves, and nothing was dropped.
test('a send-back landing while the discard is asked says the kept changes can be sent', async ({ newContext, baseURL }) => {
  test.setTimeout(180_000);
  const a = await openPhone(newContext, baseURL!, 'phone A');
  const b = await openPhone(newContext, baseURL!, 'phone B');
  const { id, taken } = await keptOnB(a, b);

  const discard = b.page.getByTestId('visit-discard');
  await b.visit.click(discard.getByTestId('visit-discard-ask'));
  await expect(discard.getByTestId('visit-discard-question')).toBeVisible();
  const notice = b.page.getByTestId('visit-kept-sendable');
  await expect(notice).toHaveCount(0);

  const office = await newContext({ ...DESKTOP, label: 'desktop' });
  const officePage = await office.newPage();
  await new LoginPage(officePage).goto();
  await new LoginPage(officePage).loginAs(SUPERVISOR);
  const review = new ReviewPage(officePage);
  await review.ensureShown();
  await review.openVisit(id);
  await review.sendBack('Bổ sung số lao động');

  // The phone syncs as its signal comes back, with the question still open.
  await b.context.setOffline(true);
  await b.context.setOffline(false);
  await b.visit.expectReviewState('needs_changes', 30_000);
  await expect(discard).toHaveCount(0);
  await expect(notice).toContainText('không cần bỏ nữa');
  await expect(b.visit.field('workforce')).toHaveValue('23');
  await expect(b.visit.photoItem(taken)).toHaveCount(1);

  await b.visit.save();
  await b.visit.expectSyncState('synced', 30_000);
  await expect
    .poll(async () => (await serverVisits(b.page.request)).get(id)?.answers.workforce, { timeout: 30_000 })
    .toBe(23);
});
