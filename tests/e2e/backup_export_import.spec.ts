// A phone's unsent work exported offline as a backup archive, imported on a fresh
// browser profile by the same inspector: the server gets the visit once, a second
// import changes nothing, and the first phone's later sync adds no duplicate.

import { readFileSync } from 'node:fs';
import { DESKTOP, PHONE, expect, test } from './support/fixtures';
import { SUPERVISOR } from './support/demo';
import { ensureServiceWorkerControls } from './support/serviceWorker';
import { HomePage } from './pages/HomePage';
import { LoginPage } from './pages/LoginPage';
import { ReviewPage } from './pages/ReviewPage';
import { VisitPage } from './pages/VisitPage';

test.use({ ...PHONE });

test('a backup exported offline imports on a fresh profile with the same visits and no duplicates', async ({
  page,
  context,
  newContext,
}) => {
  const home = new HomePage(page);
  const visit = new VisitPage(page);
  await page.goto('/');
  await new LoginPage(page).expectShown();
  await new LoginPage(page).loginAs('ksv2');
  await home.expectShown();
  await ensureServiceWorkerControls(page, () => home.waitHydrated());
  await home.expectSynced();

  await context.setOffline(true);
  const visitId = await home.startVisit(home.proposalItems.first());
  await visit.fillField('workforce', '18');
  await visit.fillField('main_products', 'Gạch không nung');
  await visit.save();
  await visit.expectSyncState('queued');

  // Typed and autosaved, "Lưu" never pressed: the file carries it all the same.
  await home.goto();
  const draftId = await home.startVisit(home.proposalItems.nth(1));
  await visit.fillField('main_products', 'Gạch chỉ đỏ');
  await visit.waitDraftSaved();
  // A broken answer on screen cannot be saved: told, not sent.
  await home.goto();
  await home.startVisit(home.proposalItems.nth(2));
  await visit.fillField('workforce', 'mười hai');
  await visit.waitDraftSaved();
  // Started and never touched: not sent, or it would reach the supervisor empty.
  await home.goto();
  const untouchedId = await home.startVisit(home.proposalItems.nth(3));

  await home.goto();
  const backup = page.getByTestId('home-backup');
  const [download] = await Promise.all([page.waitForEvent('download'), home.click(backup.getByTestId('backup-export'))]);
  expect(download.suggestedFilename()).toMatch(/^khaosat-backup-ksv2-.*\.zip$/);
  const file = (await download.path())!;
  const done = backup.getByTestId('backup-done');
  const exported = Number(await done.getAttribute('data-count'));
  expect(exported, 'the header and two answers').toBeGreaterThanOrEqual(2);
  expect(readFileSync(file).includes(Buffer.from('Gạch chỉ đỏ')), 'the unsaved answer is in the file').toBe(true);
  expect(readFileSync(file).includes(Buffer.from('mười hai')), 'the broken answer is not').toBe(false);
  await expect(done).toHaveAttribute('data-drafts-left', '1');
  await expect(done).toContainText('Còn 1 phiếu có câu trả lời sai chưa được đưa vào tệp');
  await expect(home.visitItem(draftId)).toHaveAttribute('data-sync-state', 'queued');
  await expect(home.visitItem(untouchedId)).toHaveAttribute('data-sync-state', 'draft');

  const other = await newContext({ ...PHONE, label: 'fresh-phone' });
  const otherPage = await other.newPage();
  const otherHome = new HomePage(otherPage);
  await otherPage.goto('/');
  await new LoginPage(otherPage).expectShown();
  await new LoginPage(otherPage).loginAs('ksv2');
  await otherHome.expectShown();
  const otherBackup = otherPage.getByTestId('home-backup');

  await test.step('a damaged copy of the file, or a picture, is refused in Vietnamese, and nothing applied', async () => {
    // A copy cut short, as a transfer that stopped leaves it.
    const whole = readFileSync(file);
    const damaged = whole.subarray(0, Math.floor((whole.length * 2) / 3));
    await otherBackup
      .getByTestId('backup-import-file')
      .setInputFiles({ name: 'khaosat-backup-ksv2.zip', mimeType: 'application/zip', buffer: damaged });
    const error = otherBackup.getByTestId('backup-import-error');
    await expect(error).toContainText('Tệp sao lưu bị hỏng hoặc chưa chép hết');
    // The server's English detail stays out of it.
    await expect(error).not.toContainText('ZIP end record');
    // A picture chosen by mistake: not a ZIP, said so (it went as one).
    await otherBackup
      .getByTestId('backup-import-file')
      .setInputFiles({ name: 'IMG_0001.png', mimeType: 'image/png', buffer: Buffer.from('\x89PNG\r\n\x1a\n not a backup') });
    await expect(error).toContainText('Tệp này không phải tệp ZIP');
    // An older JSON backup cut short: damaged, not "not a ZIP".
    await otherBackup
      .getByTestId('backup-import-file')
      .setInputFiles({ name: 'khaosat-outbox.json', mimeType: 'application/json', buffer: Buffer.from('{"format": "khaosat-outbox", "device_id": "01') });
    await expect(error).toContainText('Tệp sao lưu bị hỏng hoặc chưa chép hết');
    // Whole JSON that is no backup.
    await otherBackup
      .getByTestId('backup-import-file')
      .setInputFiles({ name: 'settings.json', mimeType: 'application/json', buffer: Buffer.from('{"theme": "dark"}\n') });
    await expect(error).toContainText('Tệp này không phải bản sao lưu do ứng dụng tạo ra');
    await expect(error).not.toContainText('ZIP');
  });

  await test.step('the import applies every change once', async () => {
    await otherBackup.getByTestId('backup-import-file').setInputFiles(file);
    const result = otherBackup.getByTestId('backup-imported');
    await expect(result).toHaveAttribute('data-applied', String(exported));
    await expect(result).toHaveAttribute('data-duplicate', '0');
    await expect(result).toHaveAttribute('data-refused', '0');
    // The imported visit comes down to the new phone with the next pull.
    await expect(otherHome.visitItem(visitId)).toHaveAttribute('data-sync-state', 'synced', { timeout: 15_000 });
  });

  await test.step('the same file again changes nothing', async () => {
    await otherBackup.getByTestId('backup-import-file').setInputFiles(file);
    const result = otherBackup.getByTestId('backup-imported');
    await expect(result).toHaveAttribute('data-duplicate', String(exported));
    await expect(result).toHaveAttribute('data-applied', '0');
  });

  await test.step('the first phone syncs later without creating anything twice', async () => {
    await context.setOffline(false);
    await expect(home.visitItem(visitId)).toHaveAttribute('data-sync-state', 'synced', { timeout: 15_000 });
    const office = await newContext({ ...DESKTOP, label: 'desktop' });
    const officePage = await office.newPage();
    const review = new ReviewPage(officePage);
    await new LoginPage(officePage).goto();
    await new LoginPage(officePage).loginAs(SUPERVISOR);
    await review.ensureShown();
    await expect(review.visitItem(visitId)).toHaveCount(1);
    await review.openVisit(visitId);
    await expect(review.answer('workforce')).toHaveText('18');
  });
});
