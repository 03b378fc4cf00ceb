// One inspector on two phones: phone B, out of signal, takes a photo, removes
// one and changes an answer of a visit that phone A finalizes meanwhile. The
// server refuses B's changes (the visit is locked), which is right; but B used
// to show the visit synced, dropped its answer and removal without a word, and
// kept the new photo under a sentence promising a resend that could never
// happen. Now B keeps everything it captured, marked not sent (a logout warns
// of it, a backup carries it), and says to ask for a send-back; after the send-back B finalizes again and sends it all,
// on top of A's answers: the photo A added before finalizing stays, and
// nothing A filled in is cleared.

import { DESKTOP, expect, test } from './support/fixtures';
import { SUPERVISOR } from './support/demo';
import { fillRequired } from './support/finalize_steps';
import { openPhone, syncFromHome as sync } from './support/phones';
import { FIELD, addPhoto, changedOfflineOnB, saveAndSync } from './support/photo_steps';
import { serverVisits } from './support/restore';
import { LoginPage } from './pages/LoginPage';
import { LogoutWarning } from './pages/LogoutWarning';
import { ReviewPage } from './pages/ReviewPage';

test('a visit finalized on another phone keeps what this one took', async ({ newContext, baseURL }) => {
  test.setTimeout(300_000);
  const a = await openPhone(newContext, baseURL!, 'phone A');
  const b = await openPhone(newContext, baseURL!, 'phone B');

  let id = '';
  let first = '';
  let taken = '';
  await test.step('A syncs a visit with a photo; B, out of signal, takes a photo, removes the first and changes an answer', async () => {
    ({ id, first, taken } = await changedOfflineOnB(a, b, sync));
  });

  let added = '';
  await test.step('A adds a photo, fills the form and finalizes it', async () => {
    await a.visit.goto(id);
    added = await addPhoto(a, 816);
    await fillRequired(a.visit, '17');
    await saveAndSync(a);
    await a.visit.click(a.visit.finalizeButton);
    await a.visit.expectReviewState('submitted', 30_000);
  });

  await test.step('B comes back: its changes are refused, and kept on B, marked not sent', async () => {
    await b.context.setOffline(false);
    await sync(b);
    await sync(b);
    const held = (await serverVisits(b.page.request)).get(id);
    expect(held?.review_state).toBe('submitted');
    expect(new Set(held?.answers[FIELD] as string[])).toEqual(new Set([first, added]));
    await expect(b.home.visitItem(id)).toHaveAttribute('data-sync-state', 'refused');
    await b.visit.goto(id);
    await b.visit.expectSyncState('refused');
    const refusal = b.page.getByTestId('visit-refusal');
    await expect(refusal).toHaveAttribute('data-code', 'visit.locked');
    await expect(refusal).toContainText('nhờ giám sát viên trả lại phiếu');
    await expect(b.visit.field('workforce')).toHaveValue('23');
    await expect(b.visit.photoItem(taken)).toHaveCount(1);
    await expect(b.visit.photoItem(first), 'its removal is kept').toHaveCount(0);
    // Still so after a reload.
    await b.page.reload();
    await b.visit.expectSyncState('refused');
    await expect(b.visit.photoItem(taken)).toHaveCount(1);
    await expect(b.visit.photoItem(first)).toHaveCount(0);
  });

  await test.step('a logout on B warns of what it keeps, and its backup file carries it', async () => {
    await b.home.goto();
    // Its answer, its photo list, the photo's record and the removal.
    const logout = new LogoutWarning(b.page);
    expect(await logout.openWarning(), 'kept changes count as unsent').toBe(4);
    await logout.click(logout.cancel);
    const backup = b.page.getByTestId('home-backup');
    await Promise.all([b.page.waitForEvent('download'), b.home.click(backup.getByTestId('backup-export'))]);
    await expect(backup.getByTestId('backup-done')).toHaveAttribute('data-count', '4');
    // Sent again, they are refused again, and still kept.
    await sync(b);
    await b.visit.goto(id);
    await b.visit.expectSyncState('refused');
    await expect(b.visit.field('workforce')).toHaveValue('23');
    await expect(b.visit.photoItem(taken)).toHaveCount(1);
    await expect(b.visit.photoItem(first)).toHaveCount(0);
  });

  await test.step('the supervisor sends it back; B finalizes again, sending everything it kept', async () => {
    const office = await newContext({ ...DESKTOP, label: 'desktop' });
    const officePage = await office.newPage();
    await new LoginPage(officePage).goto();
    await new LoginPage(officePage).loginAs(SUPERVISOR);
    const review = new ReviewPage(officePage);
    await review.ensureShown();
    await review.openVisit(id);
    await review.sendBack('Bổ sung ảnh chụp trên máy kia');
    await sync(b);
    await b.visit.goto(id);
    await b.visit.expectReviewState('needs_changes');
    await expect(b.visit.field('workforce')).toBeEnabled();
    // A's answers came into B's copy; B's own changes stayed on them.
    await expect(b.visit.field('team_members')).toHaveValue('Nguyễn Văn An');
    await expect(b.visit.field('workforce')).toHaveValue('23');
    await b.visit.click(b.visit.finalizeButton);
    await b.visit.expectReviewState('submitted', 30_000);
    await b.visit.expectSyncState('synced', 30_000);
    await expect
      .poll(async () => {
        const held = (await serverVisits(b.page.request)).get(id);
        return {
          list: new Set(held?.answers[FIELD] as string[]),
          photos: new Set(held?.photos.map((p: { id: string }) => p.id)),
          workforce: held?.answers.workforce,
          team: held?.answers.team_members,
          state: held?.review_state,
        };
      }, { timeout: 60_000 })
      .toEqual({
        list: new Set([added, taken]),
        photos: new Set([added, taken]),
        workforce: 23,
        team: 'Nguyễn Văn An',
        state: 'submitted',
      });
    await expect(b.visit.photoItem(taken)).toHaveAttribute('data-state', 'ok');
    await sync(a);
    await a.visit.goto(id);
    await expect(a.visit.photoItems(FIELD)).toHaveCount(2);
    await expect(a.visit.photoItem(taken)).toHaveCount(1);
  });
});
