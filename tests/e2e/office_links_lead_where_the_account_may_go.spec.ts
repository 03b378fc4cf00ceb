// An administrator reads the year's plan, a facility's proposals in the
// register and the audit trail, but a proposal's or a visit's page is a
// supervisor's: the server refuses it to an administrator. Those pages showed
// an administrator links that only led to the refusal; the records now read as
// text for an account without the supervisor's role, and stay links for one
// with it. Who is logged in is known after hydration, so each check waits for
// the header's own role links first. On the way, the administrator's budget
// form is given 24 digits, which it once called no number at all.

import { DESKTOP, expect, test } from './support/fixtures';
import { ADMINISTRATOR, DEMO_PASSWORD, SUPERVISOR } from './support/demo';
import { startServer, type KhaosatServer } from './support/server';
import { LoginPage } from './pages/LoginPage';
import { request, type Page } from '@playwright/test';

// A recommendation is made here, which the plan's counts of other specs would
// see: this spec has a server of its own.
let server: KhaosatServer | undefined;

test.beforeAll(async () => {
  server = await startServer({ name: 'office-links' });
});

test.afterAll(async () => {
  await server?.stop();
});

/** Links to the supervisor's pages anywhere on the page. */
const REVIEW_LINKS = 'a[href^="/review/proposals/"], a[href^="/review/visits/"]';

async function sessionRead(page: Page, headerLink: string): Promise<void> {
  await expect(page.locator('html')).toHaveAttribute('data-hydrated', 'true', { timeout: 30_000 });
  await expect(page.getByTestId(headerLink)).toBeVisible();
}

test('an administrator reads proposals as text where a supervisor follows links', async ({ newContext }) => {
  let proposalId = '';
  let facilityName = '';
  if (!server) throw new Error('the dedicated server did not start');
  const desk = await newContext({ ...DESKTOP, baseURL: server.baseURL, label: 'supervisor' });
  const supervisor = await desk.newPage();
  await new LoginPage(supervisor).goto();
  await new LoginPage(supervisor).loginAs(SUPERVISOR);
  const base = server.baseURL;

  await test.step('the supervisor recommends a proposal by the API, which the audit trail records', async () => {
    const api = await request.newContext({ baseURL: base });
    expect((await api.post('/api/auth/login', { data: { username: SUPERVISOR, password: DEMO_PASSWORD } })).status()).toBe(200);
    const plan = await (await api.post('/rpc/get_plan', { form: { year: '2020' } })).json();
    const first = plan.proposals[0] as { id: string; facility_name: string };
    expect(first, 'the demo year has proposals on its plan').toBeTruthy();
    proposalId = first.id;
    facilityName = first.facility_name;
    const recommended = await api.post('/rpc/recommend', {
      data: { id: proposalId, recommendation: 'not_supported', amount: null, rationale: 'Chưa đủ điều kiện.' },
    });
    expect(recommended.status(), await recommended.text()).toBe(200);
    await api.dispose();
  });

  await test.step('the supervisor follows a plan row to the proposal', async () => {
    await supervisor.goto('/plan?year=2020');
    await sessionRead(supervisor, 'review-link');
    const link = supervisor.locator(`[data-testid="plan-proposal"][data-proposal-id="${proposalId}"] a`);
    await expect(link).toHaveAttribute('href', `/review/proposals/${proposalId}`);
    await link.click();
    await expect(supervisor.getByTestId('proposal-detail')).toBeVisible();
  });

  const office = await newContext({ ...DESKTOP, baseURL: server.baseURL, label: 'administrator' });
  const admin = await office.newPage();
  await new LoginPage(admin).goto();
  await new LoginPage(admin).loginAs(ADMINISTRATOR);
  await expect(admin).toHaveURL((url) => url.pathname === '/admin');

  await test.step('the administrator reads the plan: proposal titles, no link to a refused page', async () => {
    await admin.goto('/plan?year=2020');
    await sessionRead(admin, 'admin-link');
    const row = admin.locator(`[data-testid="plan-proposal"][data-proposal-id="${proposalId}"]`);
    await expect(row.getByTestId('plan-proposal-title')).not.toBeEmpty();
    await expect(row.locator('a')).toHaveCount(0);
    await expect(admin.locator(REVIEW_LINKS)).toHaveCount(0);
    await expect(admin.getByTestId('export-district-photos')).toHaveCount(0);
  });

  await test.step('a budget typed with too many digits is too large, not "not a number"', async () => {
    // 24 digits: past what the app's number type holds, where the phone once
    // called the amount no number at all.
    await admin.getByTestId('budget-amount').fill('100.000.000.000.000.000.000.000');
    await admin.getByTestId('budget-save').click();
    await expect(admin.getByTestId('budget-error')).toHaveText('Số tiền quá lớn: hãy kiểm tra lại số chữ số.');
  });

  await test.step('the audit trail names the proposal without a link', async () => {
    await admin.goto('/admin');
    await sessionRead(admin, 'admin-link');
    const entry = admin.locator('[data-testid="audit-row"][data-action="recommend"]').first();
    await expect(entry).toBeVisible();
    await expect(entry.getByTestId('audit-record')).toContainText('Đề xuất:');
    await expect(admin.getByTestId('audit-record-link')).toHaveCount(0);
    await expect(admin.locator(REVIEW_LINKS)).toHaveCount(0);
  });

  await test.step("the register's facility lists its proposals without a link", async () => {
    await admin.goto('/registry');
    await sessionRead(admin, 'admin-link');
    await admin.getByTestId('facility-search').fill(facilityName);
    await admin.getByTestId('facility-search-submit').click();
    const list = admin.locator(`[data-testid="facility-list"][data-query="${facilityName}"]`);
    await list.getByTestId('facility-row').filter({ hasText: facilityName }).first().getByTestId('facility-open').click();
    const proposals = admin.getByTestId('facility-proposal');
    await expect(proposals.first()).toBeVisible();
    await expect(admin.getByTestId('facility-proposal-link')).toHaveCount(0);
    await expect(admin.locator(REVIEW_LINKS)).toHaveCount(0);
  });
});
