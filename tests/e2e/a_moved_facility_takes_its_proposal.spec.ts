// A facility moves, and its 2026 proposal goes with it. An inspector knew only
// the district of a facility found on site (huyện Tân Yên, 2020); its 2026
// proposal sits in phường Đa Mai. Reported again in huyện Việt Yên, the
// facility's new place matches several 2025 communes, so the proposal stays
// and its page asks the supervisor to choose among them. Then the supervisor
// places the facility in xã Trung Sơn from the register, and the proposal
// follows into phường Vân Hà, what Trung Sơn became, with no question asked.
//
// The district-only facility and its first move are set up through the server
// functions the register uses: the register's own form offers communes only.
// Last, the register's search says when it shows only its first 100 matches.

import { DESKTOP, expect, test } from './support/fixtures';
import { startServer, type KhaosatServer } from './support/server';
import { LoginPage } from './pages/LoginPage';

// Its own server: the shared demo's proposal counts per district stay as the
// other specs expect them.
let server: KhaosatServer | undefined;

test.beforeAll(async () => {
  server = await startServer({ name: 'facility-moves' });
});

test.afterAll(async () => {
  await server?.stop();
});

test('a proposal follows its facility, or asks the office where to go when the new place is not one commune', async ({
  newContext,
}) => {
  if (!server) throw new Error('the dedicated server did not start');
  const stamp = Date.now().toString(36);
  const name = `Xưởng mây tre ${stamp}`;
  const office = await (await newContext({ ...DESKTOP, baseURL: server.baseURL, label: 'office' })).newPage();
  const login = new LoginPage(office);
  await login.goto();
  await login.loginAs('giamsat');

  const draft = (id: string | null, unit: string) => ({
    draft: {
      id, name, owner_name: 'Trần Thị Hoa', address: 'thôn Trung', unit,
      industry_group: 'handicrafts', phone: '', tax_code: '', main_products: 'mây tre đan',
    },
  });
  let facility = '';
  let proposal = '';
  await test.step('a facility known only by its district, with a 2026 proposal in phường Đa Mai', async () => {
    const saved = await office.request.post('/rpc/save_facility', { data: draft(null, 'bac-giang-2020/216') });
    expect(saved.status(), await saved.text()).toBe(200);
    facility = (await saved.json()) as string;
    const created = await office.request.post('/rpc/create_proposal', {
      data: {
        proposal: {
          facility_id: facility, year: 2026, unit: 'bac-ninh-2025/07228',
          title: `Máy chẻ nan ${stamp}`, support_kind: 'machinery', requested_amount: 90_000_000,
        },
      },
    });
    expect(created.status(), await created.text()).toBe(200);
    proposal = (await created.json()) as string;
    const moved = await office.request.post('/rpc/save_facility', { data: draft(facility, 'bac-giang-2020/222') });
    expect(moved.status(), await moved.text()).toBe(200);
  });

  await test.step('the proposal page asks for the new commune, and only offers those of Việt Yên', async () => {
    await login.open(`/review/proposals/${proposal}`);
    await expect(office.getByTestId('proposal-away')).toContainText('chọn xã/phường mới');
    await expect(office.getByTestId('proposal-district')).toContainText('Đa Mai');
    const choices = office.getByTestId('edit-place').locator('option');
    await expect(choices.filter({ hasText: 'Nếnh' })).toHaveCount(1);
    await expect(choices.filter({ hasText: 'Đa Mai' })).toHaveCount(0);
    await office.getByTestId('edit-place').selectOption('bac-ninh-2025/07795');
    await office.getByTestId('proposal-save').click();
    await expect(office.getByTestId('proposal-district')).toContainText('Nếnh');
    await expect(office.getByTestId('proposal-away')).toHaveCount(0);
    await expect(office.getByTestId('proposal-edit-error')).toHaveCount(0);
  });

  await test.step('moved to xã Trung Sơn in the register, the facility takes the proposal to phường Vân Hà', async () => {
    await login.open('/registry');
    await office.getByTestId('facility-search').fill(name);
    await office.getByTestId('facility-search-submit').click();
    await office
      .locator(`[data-testid="facility-list"][data-query="${name}"]`)
      .getByTestId('facility-row')
      .and(office.locator(`[data-id="${facility}"]`))
      .getByTestId('facility-open')
      .click();
    await expect(office.getByTestId('facility-panel')).toHaveAttribute('data-id', facility);
    await office.getByTestId('fac-unit').selectOption('bac-giang-2020/07780');
    await office.getByTestId('fac-save').click();
    await expect(office.getByTestId('facility-saved')).toBeVisible();

    await login.open(`/review/proposals/${proposal}`);
    await expect(office.getByTestId('proposal-district')).toContainText('Vân Hà');
    await expect(office.getByTestId('proposal-away')).toHaveCount(0);
    const trail = office.getByTestId('proposal-audit');
    await expect(trail.locator('[data-action="proposal.moved_with_facility"]')).toHaveCount(1);
    await expect(trail.locator('[data-action="proposal.moved_with_facility"]')).toContainText('chuyển đề xuất theo cơ sở');
  });

  await test.step('a search with more matches than the register shows says so, first ones in Vietnamese order', async () => {
    const add = async (facilityName: string) => {
      const saved = await office.request.post('/rpc/save_facility', {
        data: { draft: { ...draft(null, 'bac-giang-2020/07201').draft, name: facilityName, owner_name: `Chủ ${stamp}` } },
      });
      expect(saved.status(), await saved.text()).toBe(200);
    };
    const search = async () => {
      await login.open('/registry');
      await office.getByTestId('facility-search').fill(`Chủ ${stamp}`);
      await office.getByTestId('facility-search-submit').click();
      return office.locator(`[data-testid="facility-list"][data-query="Chủ ${stamp}"]`);
    };
    // Exactly 100 matches: all shown, nothing said. "Bay" comes before every
    // "Bắc" (ă is a letter after a).
    for (let i = 0; i < 99; i++) await add(`Bắc Ngư ${stamp} ${String(i).padStart(3, '0')}`);
    await add(`Bay Ngư ${stamp}`);
    let list = await search();
    await expect(list).toHaveAttribute('data-count', '100');
    await expect(office.getByTestId('facility-more')).toHaveCount(0);
    await expect(list.getByTestId('facility-row').first()).toContainText(`Bay Ngư ${stamp}`);
    // One more: the first 100 are shown, and the page says there are more.
    await add(`Bắc Ngư ${stamp} 099`);
    list = await search();
    await expect(list).toHaveAttribute('data-count', '100');
    await expect(office.getByTestId('facility-more')).toContainText('100 cơ sở đầu tiên');
    await expect(list.getByTestId('facility-row').first()).toContainText(`Bay Ngư ${stamp}`);
  });
});
