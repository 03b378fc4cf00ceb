// An office edit of a facility and an inspector's offline edit of the same field
// meet as a conflict. The register's facility panel shows both values with who
// made them, refuses nothing the supervisor can pick, and the value kept is the
// facility's from then on, for the office and for the phones' next pull.
//
// The phone's side is its sync API (a phone edits a facility it registered on
// site; the app has no screen that makes this timing on demand).

import { randomUUID } from 'node:crypto';
import { DESKTOP, expect, test } from './support/fixtures';
import { ADMINISTRATOR, DEMO_PASSWORD, SUPERVISOR } from './support/demo';
import { LoginPage } from './pages/LoginPage';

test.use({ ...DESKTOP });

/** "Cơ sở Mộc mỹ nghệ Lê Văn Tuấn", in ksv1's district (213); no other spec edits it. */
const FACILITY = '016ebeff-1d48-7614-917d-1c8ff4663611';
const BY_OFFICE = 'Cơ sở Mộc mỹ nghệ Lê Văn Tuấn (văn phòng sửa)';
const BY_PHONE = 'Xưởng mộc Lê Văn Tuấn (máy sửa)';

test('a facility edited in the office and on a phone at once shows both values, and the one kept stays', async ({
  page,
  playwright,
  baseURL,
  newContext,
}) => {
  const login = new LoginPage(page);
  await login.goto();
  await login.loginAs(SUPERVISOR);

  // The phone pulled the facility before the office's edit: its base version.
  const before = await page.request.post('/rpc/get_facility', { data: { id: FACILITY } });
  expect(before.status()).toBe(200);
  // Versions are left out while a facility has never been edited.
  const stored = (await before.json()) as { entry: { facility: { versions?: Record<string, number> } } };
  const base = stored.entry.facility.versions?.name ?? 0;

  const panel = page.getByTestId('facility-panel');
  const openFacility = async (at = login) => {
    const office = at.page;
    await at.open('/registry');
    await at.waitHydrated();
    await office.getByTestId('facility-search').fill('Lê Văn Tuấn');
    await office.getByTestId('facility-search-submit').click();
    await office
      .locator('[data-testid="facility-list"][data-query="Lê Văn Tuấn"]')
      .getByTestId('facility-row')
      .and(office.locator(`[data-id="${FACILITY}"]`))
      .getByTestId('facility-open')
      .click();
    await expect(office.getByTestId('facility-panel')).toHaveAttribute('data-id', FACILITY);
  };

  await test.step('the office renames it', async () => {
    await openFacility();
    await expect(panel.getByTestId('facility-conflicts')).toHaveCount(0);
    await page.getByTestId('fac-name').fill(BY_OFFICE);
    await page.getByTestId('fac-save').click();
    await expect(page.getByTestId('facility-saved')).toBeVisible();
  });

  await test.step('a phone pushes its own rename, made offline a minute earlier', async () => {
    const phone = await playwright.request.newContext({ baseURL });
    const device = randomUUID();
    const logged = await phone.post('/api/auth/login', {
      data: { username: 'ksv1', password: DEMO_PASSWORD, device_id: device },
    });
    expect(logged.status()).toBe(200);
    const pushed = await phone.post('/api/sync/push', {
      data: {
        device_id: device,
        schema_version: 3,
        mutations: [
          {
            seq: 1,
            mutation_id: randomUUID(),
            kind: 'upsert',
            entity: 'facility',
            record_id: FACILITY,
            fields: { name: BY_PHONE },
            hlc: `${String(Date.now() - 60_000).padStart(15, '0')}-000000`,
            base_version: base,
          },
        ],
      },
    });
    expect(pushed.status(), await pushed.text()).toBe(200);
    await phone.dispose();
  });

  await test.step('an administrator sees both names and that a supervisor decides', async () => {
    const admin = new LoginPage(await (await newContext({ ...DESKTOP, baseURL, label: 'admin' })).newPage());
    await admin.goto();
    await admin.loginAs(ADMINISTRATOR);
    await openFacility(admin);
    const conflicts = admin.page.getByTestId('facility-conflicts');
    await expect(conflicts.getByTestId('facility-conflict')).toHaveCount(1);
    await expect(conflicts.getByTestId('facility-conflict-mine-value')).toHaveText(BY_PHONE);
    await expect(conflicts.getByTestId('facility-conflicts-hint')).toContainText('Giám sát viên sẽ chọn');
    await expect(conflicts.getByRole('button')).toHaveCount(0);
  });

  await test.step('the panel shows both names; the supervisor keeps the phone’s', async () => {
    await openFacility();
    const conflict = panel.getByTestId('facility-conflict').and(page.locator('[data-field="name"]'));
    await expect(conflict).toHaveCount(1);
    await expect(conflict).toContainText('Tên cơ sở');
    // The office's rename is later, so it is stored; the phone's is the other value.
    await expect(conflict.getByTestId('facility-conflict-theirs-value')).toHaveText(BY_OFFICE);
    await expect(conflict.getByTestId('facility-conflict-mine-value')).toHaveText(BY_PHONE);
    await expect(conflict).toContainText('Trần Văn Hùng');
    await login.click(conflict.getByTestId('facility-conflict-mine'));
    await expect(panel.getByTestId('facility-conflicts')).toHaveCount(0);
    await expect(page.getByTestId('fac-name')).toHaveValue(BY_PHONE);
  });
});
