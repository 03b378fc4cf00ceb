// A survey year on the 2025 tree, end to end: the supervisor finds a place by
// its 2020 name, registers a facility in the 2025 phường Bắc Giang and a 2026
// proposal at it; the inspector whose 2020 district formed that phường surveys
// it on the phone; the supervisor approves and recommends it, and the 2026 plan
// and its XLSX count it by commune and by former district. Then the
// administrator closes 2026 and the phone keeps the visit for reading only.

import { DESKTOP, PHONE, expect, test } from './support/fixtures';
import { startServer, type KhaosatServer } from './support/server';
import { HomePage } from './pages/HomePage';
import { LoginPage } from './pages/LoginPage';
import { PlanPage, rowOf } from './pages/PlanPage';
import { ReviewPage } from './pages/ReviewPage';
import { VisitPage } from './pages/VisitPage';

// This spec closes 2026, so it never uses the shared server.
let server: KhaosatServer | undefined;

test.beforeAll(async () => {
  server = await startServer({ name: 'year-2026' });
});

test.afterAll(async () => {
  await server?.stop();
});

test('a 2026 proposal registered at the office is surveyed, planned by commune and former district, and closed', async ({
  newContext,
}) => {
  test.slow();
  if (!server) throw new Error('the dedicated server did not start');
  const stamp = Date.now().toString(36);
  const facilityName = `Cơ sở Bánh đa Kế ${stamp}`;
  const title = `Hỗ trợ máy tráng bánh đa ${stamp}`;

  const office = await (await newContext({ ...DESKTOP, baseURL: server.baseURL, label: 'office' })).newPage();
  const officeLogin = new LoginPage(office);
  await officeLogin.goto();
  await officeLogin.loginAs('giamsat');
  await office.goto('/registry');
  await expect(office.locator('html')).toHaveAttribute('data-hydrated', 'true', { timeout: 30_000 });

  await test.step('the 2020 name of a ward finds the 2026 co-operative registered in the phường it became', async () => {
    await office.getByTestId('facility-search').fill('Thọ Xương');
    await office.getByTestId('facility-search-submit').click();
    const list = office.locator('[data-testid="facility-list"][data-query="Thọ Xương"]');
    await expect(list).toBeVisible();
    await expect(list.getByTestId('facility-row').filter({ hasText: 'Hợp tác xã Chế biến nông sản Xương Giang' })).toHaveCount(1);
  });

  let facilityId = '';
  await test.step('the supervisor registers a facility in phường Bắc Giang; a bad phone is refused in Vietnamese', async () => {
    await office.getByTestId('facility-new').click();
    const panel = office.getByTestId('facility-panel');
    await expect(panel.getByTestId('facility-form')).toBeVisible();
    await office.getByTestId('fac-name').fill(facilityName);
    await office.getByTestId('fac-tree').selectOption('bac-ninh-2025');
    await office.getByTestId('fac-unit').selectOption('bac-ninh-2025/07210');
    await office.getByTestId('fac-industry').selectOption('processing');
    await office.getByTestId('fac-phone').fill('12 34');
    await office.getByTestId('fac-save').click();
    await expect(office.getByTestId('facility-error')).toContainText('Số điện thoại');
    await office.getByTestId('fac-phone').fill('0912 345 678');
    await office.getByTestId('fac-save').click();
    await expect(office.getByTestId('facility-panel')).toHaveAttribute('data-id', /^[0-9a-f-]{36}$/);
    // The panel of the new facility replaced the form that saved it; the
    // notice is still there.
    await expect(office.getByTestId('facility-saved')).toBeVisible();
    facilityId = (await office.getByTestId('facility-panel').getAttribute('data-id'))!;
  });

  await test.step('and registers a 2026 proposal at it', async () => {
    await expect(office.getByTestId('new-proposal-form')).toBeVisible();
    await expect(office.getByTestId('np-year').locator('option[value="2026"]')).toHaveCount(1);
    await office.getByTestId('np-year').selectOption('2026');
    await office.getByTestId('np-title').fill(title);
    await office.getByTestId('np-kind').selectOption('machinery');
    await office.getByTestId('np-amount').fill('350.000.000');
    await office.getByTestId('np-create').click();
    await expect(office.getByTestId('facility-proposals')).toHaveAttribute('data-count', '1');
    await expect(office.getByTestId('facility-proposal').filter({ hasText: title })).toHaveAttribute('data-year', '2026');
  });
  const proposalId = ((await office.getByTestId('facility-proposal').locator('a').getAttribute('href')) ?? '').split('/').pop()!;

  const phoneContext = await newContext({ ...PHONE, baseURL: server.baseURL, label: 'phone' });
  const phone = await phoneContext.newPage();
  const home = new HomePage(phone);
  const visit = new VisitPage(phone);
  let visitId = '';
  await test.step('ksv1 (2020 district 213) finds it on the phone and surveys it', async () => {
    const login = new LoginPage(phone);
    await login.goto();
    await login.loginAs('ksv1');
    await home.expectShown();
    const item = home.proposalItems.filter({ hasText: title });
    await expect(item).toHaveCount(1);
    await expect(item).toContainText(facilityName);
    visitId = await home.startVisit(item);
    await visit.select('name_confirmed', 'yes');
    await visit.select('owner_confirmed', 'yes');
    await visit.select('address_confirmed', 'yes');
    await visit.fillField('visit_date', '10/03/2026');
    await visit.fillField('phone', '0912 345 678');
    await visit.fillField('main_products', 'Bánh đa nem, bánh đa kế');
    await visit.select('industry_group', 'processing');
    await visit.fillField('workforce', '14');
    await visit.select('support_kind', 'machinery');
    await visit.fillField('requested_amount', '350.000.000');
    await visit.fillField('reason', 'Thay máy tráng bánh thủ công');
    await visit.select('spillover_effect', 'high');
    await visit.select('feasibility', 'high');
    await visit.select('scale', 'small');
    await visit.select('team_suggestion', 'provincial');
    await visit.fillField('suggested_amount', '300000000');
    await visit.fillField('team_members', 'Nguyễn Văn An');
    // A double tap, as a thumb on a phone often makes: one submit goes out
    // (a second would come back refused and mark a good visit "Bị từ chối").
    await visit.waitHydrated();
    await visit.finalizeButton.dblclick();
    await expect(visit.incomplete).toHaveCount(0);
    await visit.expectSyncState('synced', 15_000);
    await visit.expectReviewState('submitted', 15_000);
  });

  const review = new ReviewPage(office);
  await test.step('the supervisor approves it and recommends provincial funding', async () => {
    await review.goto();
    await review.openVisit(visitId);
    await review.approve();
    const plan = new PlanPage(office);
    await plan.openProposal(proposalId);
    await plan.recommend('provincial', '300.000.000', 'Làng nghề truyền thống, lan tỏa cao.');
    await expect(plan.current).toHaveAttribute('data-source', 'provincial');
  });

  await test.step('the 2026 plan counts it under phường Bắc Giang, and under Thành phố Bắc Giang by former district', async () => {
    const plan = new PlanPage(office);
    await plan.openPlan(2026);
    expect(await plan.districtCell('07210', 'provincial')).toEqual({ count: 1, amount: 300_000_000 });
    await office.getByTestId('plan-by-former-district').click();
    await expect(office).toHaveURL(/by=former_district/);
    await expect(office.locator('[data-testid="plan-district"][data-district="213"]')).toBeVisible();
    expect(await plan.districtCell('213', 'provincial')).toEqual({ count: 1, amount: 300_000_000 });
    const sheets = await plan.downloadXlsx();
    expect(rowOf(sheets['Theo xã, phường'], 'phường Bắc Giang').slice(1, 3)).toEqual([1, 300_000_000]);
    expect(rowOf(sheets['Theo huyện cũ'], 'thành phố Bắc Giang').slice(1, 3)).toEqual([1, 300_000_000]);
  });

  await test.step('the administrator closes 2026; the phone keeps the visit, for reading only', async () => {
    const admin = await (await newContext({ ...DESKTOP, baseURL: server!.baseURL, label: 'admin' })).newPage();
    const login = new LoginPage(admin);
    await login.goto();
    await login.loginAs('quantri');
    await admin.goto('/admin');
    await expect(admin.locator('html')).toHaveAttribute('data-hydrated', 'true', { timeout: 30_000 });
    const row = admin.locator('[data-testid="year-row"][data-year="2026"]');
    await expect(row).toHaveAttribute('data-open', 'true');
    await row.getByTestId('year-close').click();
    // Other 2026 visits may be unfinished: they are listed, and closing goes ahead.
    const confirm = admin.getByTestId('year-close-confirm');
    const closed = admin.locator('[data-testid="year-row"][data-year="2026"][data-open="false"]');
    await expect(confirm.or(closed)).toBeVisible();
    if (await confirm.isVisible()) {
      // A visit's page is a supervisor's: the administrator reads its name, no link.
      await expect(confirm.getByTestId('unfinished-visit').first()).not.toBeEmpty();
      await expect(confirm.locator('a')).toHaveCount(0);
      await admin.getByTestId('year-close-anyway').click();
    }
    await expect(closed).toBeVisible();

    await home.goto();
    await home.click(home.syncButton);
    await visit.goto(visitId);
    await expect(phone.getByTestId('visit-year-closed')).toBeVisible({ timeout: 15_000 });
    await expect(visit.field('workforce')).toBeDisabled();
    await expect(visit.field('workforce')).toHaveValue('14');
    // The pull that closed the visit took the year's proposal off the phone.
    await home.goto();
    await home.expectListsRead();
    await expect(home.proposalItems.filter({ hasText: title })).toHaveCount(0);
  });
});
