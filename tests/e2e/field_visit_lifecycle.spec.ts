// The field app end to end: a full visit filled offline (conditional fields, a date,
// GPS, a repeat group), a reload in the middle that reopens the exact draft, finalize
// with the missing answers listed, sync, a supervisor's send-back with a comment (kept
// through a reload until it is sent, like the recommendation's rationale), the
// fix made offline and resubmitted with what changed shown, the approval, and a
// recommendation that moves the plan's totals and its XLSX export. Then a visit for
// a facility found on site.

import type { Page } from '@playwright/test';
import { DESKTOP, PHONE, expect, test } from './support/fixtures';
import { SUPERVISOR } from './support/demo';
import { ensureServiceWorkerControls } from './support/serviceWorker';
import { HomePage } from './pages/HomePage';
import { LoginPage } from './pages/LoginPage';
import { PlanPage, rowOf } from './pages/PlanPage';
import { ReviewPage } from './pages/ReviewPage';
import { VisitPage } from './pages/VisitPage';

const GPS = { latitude: 21.273112, longitude: 106.194611, accuracy: 12 };

test.use({ ...PHONE, geolocation: GPS, permissions: ['geolocation'] });

/** Keys of the office's unsent texts the tab still keeps. */
async function keptOfficeTexts(page: Page): Promise<string[]> {
  return page.evaluate(() => Object.keys(sessionStorage).filter((k) => k.startsWith('khaosat.office-text.')));
}

test('a visit filled offline with rows and conditions survives a reload, is sent back, fixed offline and approved', async ({
  page,
  context,
  newContext,
}) => {
  const login = new LoginPage(page);
  const home = new HomePage(page);
  const visit = new VisitPage(page);

  await page.goto('/');
  await login.expectShown();
  await login.loginAs('ksv1');
  await home.expectShown();
  await test.step('the home says how safe the data is: persistent storage asked for, a gauge', async () => {
    await expect(page.getByTestId('storage-persisted')).toHaveAttribute('data-persisted', /^(true|false)$/);
    await expect(page.getByTestId('storage-gauge')).toContainText('MB');
    await expect(page.getByTestId('unsynced-stale')).toHaveCount(0);
    await expect(page.getByTestId('ios-install'), 'not an iPhone').toHaveCount(0);
  });
  await ensureServiceWorkerControls(page, () => home.waitHydrated());
  await home.expectSynced();
  await context.setOffline(true);

  const visitId = await home.startVisit(home.proposalItems.first());
  await expect(visit.form).toBeVisible();

  await test.step('conditional fields follow the earlier answers', async () => {
    await expect(visit.fieldBox('name_actual')).toBeHidden();
    await visit.select('name_confirmed', 'no');
    await expect(visit.fieldBox('name_actual')).toBeVisible();
    await visit.fillField('name_actual', 'Công ty TNHH Cơ khí Hòa Phát Bắc Giang');
    await visit.select('owner_confirmed', 'yes');
    await visit.select('address_confirmed', 'yes');
    await expect(visit.fieldBox('owner_actual')).toBeHidden();
  });

  await test.step('a date is typed day first; a wrong one is refused on the spot', async () => {
    await visit.fillField('visit_date', '31/02/2020');
    await expect(visit.fieldBox('visit_date').getByRole('alert')).toContainText('ngày/tháng/năm');
    await visit.fillField('visit_date', '15/06/2020');
    await expect(visit.fieldBox('visit_date').getByRole('alert')).toHaveCount(0);
  });

  await test.step('GPS fills the location with its accuracy; the phone pattern is checked', async () => {
    await visit.click(page.getByTestId('field-location-gps'));
    await expect(page.getByTestId('field-location-accuracy')).toContainText('±12 m');
    await expect(page.getByTestId('field-location-lat')).toHaveValue('21.273112');
    await visit.fillField('phone', 'gọi chủ cơ sở');
    await expect(visit.fieldBox('phone').getByRole('alert')).toContainText('định dạng');
    await visit.fillField('phone', '0204 3854 123');
    await expect(visit.fieldBox('phone').getByRole('alert')).toHaveCount(0);
  });

  await test.step('production, workforce and two machines in the repeat group', async () => {
    await visit.fillField('main_products', 'Máy tuốt lúa, máy cày mini');
    await visit.select('industry_group', 'mechanical');
    await visit.fillField('workforce', '25');
    await visit.addRow('equipment');
    await visit.fill(visit.rowField('equipment', 0, 'name'), 'Máy tiện CNC');
    await visit.fill(visit.rowField('equipment', 0, 'year_made'), '2018');
    await visit.addRow('equipment');
    await visit.fill(visit.rowField('equipment', 1, 'name'), 'Máy hàn bán tự động');
    await visit.waitDraftSaved();
  });

  await test.step('a reload in the middle of the form reopens the exact draft, at the field in view', async () => {
    await visit.reload();
    await expect(visit.form).toBeVisible();
    await expect(visit.field('name_actual')).toHaveValue('Công ty TNHH Cơ khí Hòa Phát Bắc Giang');
    await expect(visit.field('visit_date')).toHaveValue('15/06/2020');
    await expect(visit.field('workforce')).toHaveValue('25');
    await expect(visit.repeatRows('equipment')).toHaveCount(2);
    await expect(visit.rowField('equipment', 0, 'name')).toHaveValue('Máy tiện CNC');
    await expect(visit.rowField('equipment', 1, 'name')).toHaveValue('Máy hàn bán tự động');
    await expect.poll(() => visit.focusedField()).toMatch(/\/name$/);
    await visit.expectSyncState('draft');
  });

  await test.step('finalize lists every missing required answer and sends nothing', async () => {
    await visit.click(visit.finalizeButton);
    await expect(visit.incomplete).toBeVisible();
    await expect(visit.incomplete).toContainText('Lý do');
    await visit.expectSyncState('draft');
  });

  await test.step('the rest filled, finalize queues the visit offline and locks it', async () => {
    await visit.select('support_kind', 'machinery');
    await visit.fillField('requested_amount', '150.000.000');
    await expect(page.getByTestId('field-requested_amount-formatted')).toHaveText(/150\.000\.000\s₫/);
    await visit.fillField('reason', 'Thay máy tiện cũ để tăng năng suất');
    await visit.select('spillover_effect', 'high');
    await visit.select('feasibility', 'medium');
    await visit.select('scale', 'small');
    await visit.select('team_suggestion', 'provincial');
    await visit.fillField('suggested_amount', '120000000');
    await visit.fillField('team_members', 'Nguyễn Văn An, Trần Thị Bình');
    await visit.click(visit.finalizeButton);
    await expect(page.getByTestId('visit-submit-queued')).toBeVisible();
    await visit.expectSyncState('queued');
    await expect(visit.field('workforce')).toBeDisabled();
  });

  await test.step('online, it syncs and is submitted', async () => {
    await context.setOffline(false);
    await visit.expectSyncState('synced', 15_000);
    await visit.expectReviewState('submitted', 15_000);
  });

  const office = await newContext({ ...DESKTOP, label: 'desktop' });
  const officePage = await office.newPage();
  const review = new ReviewPage(officePage);
  await test.step('the supervisor sees the rows and sends it back with a comment on a field', async () => {
    const supervisorLogin = new LoginPage(officePage);
    await supervisorLogin.goto();
    await supervisorLogin.loginAs(SUPERVISOR);
    await review.ensureShown();
    // The count per state is a filter: submitted visits only, kept in the URL.
    const submitted = officePage.getByTestId('state-count-submitted');
    await expect(submitted).toHaveAttribute('data-count', /^[1-9]/);
    await review.click(submitted);
    await expect(officePage).toHaveURL(/[?&]state=submitted/);
    await expect(review.visitItem(visitId)).toBeVisible();
    await review.openVisit(visitId);
    await expect(review.detail.getByTestId('review-row')).toHaveCount(2);
    await expect(review.answer('visit_date')).toHaveText('15/06/2020');
    // A comment half typed survives a reload of the page (the tab keeps it).
    const comment = officePage.getByTestId('review-comment');
    await review.fill(comment, 'Số lao động chưa khớp');
    await review.reload();
    await expect(comment, 'the unsent comment is back after the reload').toHaveValue('Số lao động chưa khớp');
    await review.sendBack('Số lao động chưa khớp bảng lương, kiểm tra lại.', 'workforce');
    expect(await keptOfficeTexts(officePage), 'a sent comment is forgotten').toEqual([]);
  });

  await test.step('the phone shows the send-back with its comment and unlocks the form', async () => {
    await visit.click(home.syncButton);
    await visit.expectReviewState('needs_changes', 15_000);
    await expect(visit.sendBack).toContainText('Số lao động chưa khớp bảng lương');
    await expect(visit.sendBack).toContainText('Số lao động');
    await expect(visit.field('workforce')).toBeEnabled();
    // The field the comment is about is one tap away.
    await visit.click(page.getByTestId('visit-send-back-field'));
    await expect(visit.field('workforce')).toBeFocused();
  });

  await test.step('fixed offline and resubmitted, it goes back for review', async () => {
    await context.setOffline(true);
    await visit.fillField('workforce', '31');
    await visit.click(visit.finalizeButton);
    await visit.expectSyncState('queued');
    await context.setOffline(false);
    await visit.expectSyncState('synced', 15_000);
    await visit.expectReviewState('submitted', 15_000);
  });

  await test.step('the supervisor sees what changed since the send-back and approves', async () => {
    await review.reload();
    await expect(review.answer('workforce')).toHaveText('31');
    await expect(review.answer('workforce')).toHaveAttribute('data-changed', 'true');
    const changed = review.detail.getByTestId('changed-since-sendback');
    await expect(changed.getByTestId('changed-before')).toHaveText('25');
    await expect(changed.getByTestId('changed-after')).toHaveText('31');
    await expect(review.detail.getByTestId('review-history')).toContainText('Số lao động chưa khớp');
    // The change log reads in words, with no raw record behind a tooltip.
    await expect(review.detail.locator('.audit-detail[title]')).toHaveCount(0);
    await expect(review.detail.getByTestId('visit-distance')).toBeVisible();
    await review.approve();
  });

  const plan = new PlanPage(officePage);
  const proposalId = ((await review.detail.getByTestId('proposal-link').getAttribute('href')) ?? '').split('/').pop() ?? '';
  const before = await test.step('the plan before the decision', async () => {
    await plan.openPlan(2020);
    expect(await plan.districtCount('213'), 'the seed has 11 proposals in TP Bắc Giang').toBe(11);
    return plan.districtCell('213', 'provincial');
  });

  await test.step('a fraction of a đồng is refused in Vietnamese and nothing is recorded', async () => {
    await plan.openProposal(proposalId);
    // Other tests may have visited the same proposal: look at this visit's line.
    const line = plan.proposal.locator(`[data-testid="proposal-visit"][data-visit-id="${visitId}"]`);
    await expect(line.getByTestId('team-suggestion')).toHaveAttribute('data-source', 'provincial');
    await plan.recommend('provincial', '100000000,5', 'Đề án có tác động lan tỏa.');
    await expect(plan.recommendError).toContainText('số nguyên đồng');
    await plan.reload();
    await expect(plan.current).toHaveAttribute('data-source', 'pending');
    // The refused rationale was not lost with the page.
    await expect(plan.byTestId('recommend-rationale')).toHaveValue('Đề án có tác động lan tỏa.');
  });

  await test.step('the supervisor recommends provincial funding', async () => {
    await plan.recommend('provincial', '100.000.000', 'Đề án có tác động lan tỏa, hiệu quả, thiết thực.');
    await expect(plan.current).toHaveAttribute('data-source', 'provincial');
    await expect(plan.current).toHaveAttribute('data-amount', '100000000');
    await expect(plan.byTestId('proposal-audit')).toContainText('Tỉnh hỗ trợ');
    expect(await keptOfficeTexts(officePage), 'a saved rationale is forgotten').toEqual([]);
    await plan.reload();
    await expect(plan.byTestId('recommend-rationale')).toHaveValue('Đề án có tác động lan tỏa, hiệu quả, thiết thực.');
  });

  await test.step('the plan and its XLSX export count the decision', async () => {
    await plan.openPlan(2020);
    expect(await plan.districtCell('213', 'provincial')).toEqual({
      count: before.count + 1,
      amount: before.amount + 100_000_000,
    });
    expect(await plan.districtCount('213')).toBe(11);
    // Opened by its address, the page learns who is logged in after it has
    // hydrated: the supervisor's photo links follow.
    const photos = plan.byTestId('plan-by-district')
      .locator('[data-testid="plan-district"][data-district="213"] [data-testid="export-district-photos"]');
    await expect(photos).toHaveAttribute('href', '/api/exports/photos.zip?district=213&year=2020');
    // The link checks first, and that check makes no archive (204); then the
    // browser downloads it.
    const answers: number[] = [];
    officePage.on('response', (r) => {
      if (r.url().includes('/api/exports/photos.zip')) answers.push(r.status());
    });
    const [download] = await Promise.all([officePage.waitForEvent('download'), plan.click(photos)]);
    expect(download.suggestedFilename()).toMatch(/^khaosat-anh-.*\.zip$/);
    await expect.poll(() => answers, { message: 'the check is answered 204' }).toContain(204);
    const zip = await officePage.request.get('/api/exports/photos.zip?district=213&year=2020');
    expect(zip.status()).toBe(200);
    expect(zip.headers()['content-type']).toContain('application/zip');
    const sheets = await plan.downloadXlsx();
    const row = rowOf(sheets['Theo huyện'], 'thành phố Bắc Giang');
    expect(row.slice(1, 3)).toEqual([before.count + 1, before.amount + 100_000_000]);
    expect(rowOf(sheets['Danh sách đề án'], 'Đề án').length).toBeGreaterThan(5);
  });
});

test('a visit for a facility found on site carries the new facility to the server', async ({ page, newContext }) => {
  const login = new LoginPage(page);
  const home = new HomePage(page);
  const visit = new VisitPage(page);
  await page.goto('/');
  await login.expectShown();
  await login.loginAs('ksv1');
  await home.expectShown();

  await home.click(page.getByTestId('on-site-open'));
  await home.click(page.getByTestId('on-site-start'));
  await expect(page.getByTestId('on-site-error')).toContainText('tên cơ sở');
  await home.fill(page.getByTestId('on-site-name'), 'Xưởng mộc Hòa Bình');
  await page.getByTestId('on-site-district').selectOption('bac-giang-2020/213');
  await page.getByTestId('on-site-industry').selectOption('handicrafts');
  // Eight digits without an area code: the office's rule, said on the phone,
  // rather than a facility the supervisor later cannot edit for its phone.
  await home.fill(page.getByTestId('on-site-phone'), '3855 1234');
  await home.click(page.getByTestId('on-site-start'));
  await expect(page.getByTestId('on-site-error')).toContainText('10 hoặc 11 chữ số');
  await home.fill(page.getByTestId('on-site-phone'), '+84 912 345 678');
  await home.click(page.getByTestId('on-site-start'));
  await expect(page).toHaveURL(/\/visits\//);
  const visitId = new URL(page.url()).pathname.split('/').pop() ?? '';
  await visit.waitHydrated();
  await visit.fillField('main_products', 'Bàn ghế gỗ mỹ nghệ');
  await visit.save();
  await visit.expectSyncState('synced', 15_000);

  await home.goto();
  await home.fill(page.getByTestId('visit-search'), 'hoa binh');
  await expect(home.visitItems).toHaveCount(1);
  await expect(home.visitItem(visitId)).toContainText('Xưởng mộc Hòa Bình');

  const office = await newContext({ ...DESKTOP, label: 'desktop' });
  const officePage = await office.newPage();
  const review = new ReviewPage(officePage);
  const supervisorLogin = new LoginPage(officePage);
  await supervisorLogin.goto();
  await supervisorLogin.loginAs(SUPERVISOR);
  await review.ensureShown();
  await expect(review.visitItem(visitId)).toContainText('Xưởng mộc Hòa Bình');

  // The office edits the facility the phone registered, its phone and place
  // untouched: the phone is in the form the office writes, and the place the
  // inspector gave is kept.
  await supervisorLogin.open('/registry');
  await supervisorLogin.waitHydrated();
  await officePage.getByTestId('facility-search').fill('Hòa Bình');
  await officePage.getByTestId('facility-search-submit').click();
  await officePage
    .locator('[data-testid="facility-list"][data-query="Hòa Bình"]')
    .getByTestId('facility-row')
    .filter({ hasText: 'Xưởng mộc Hòa Bình' })
    .getByTestId('facility-open')
    .click();
  await expect(officePage.getByTestId('fac-phone')).toHaveValue('0912345678');
  // The inspector knew the district, not the commune: the district stays chosen.
  await expect(officePage.getByTestId('fac-unit')).toHaveValue('bac-giang-2020/213');
  await expect(officePage.getByTestId('fac-unit').locator('option:checked')).toContainText('chưa rõ xã/phường');
  await officePage.getByTestId('fac-name').fill('Xưởng mộc mỹ nghệ Hòa Bình');
  await officePage.getByTestId('fac-save').click();
  await expect(officePage.getByTestId('facility-saved')).toBeVisible();
  await expect(officePage.getByTestId('facility-error')).toHaveCount(0);
});

test.describe('on an iPhone in Safari (not installed)', () => {
  test.use({
    userAgent:
      'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
  });

  test('the home warns about the seven-day wipe and says how to install', async ({ page }) => {
    const login = new LoginPage(page);
    await page.goto('/');
    await login.expectShown();
    await login.loginAs('ksv3');
    await new HomePage(page).expectShown();
    await expect(page.getByTestId('ios-install')).toContainText('Thêm vào MH chính');
  });
});
