// An inspector may log in with the phone number on their account. The phone
// looked its device up under the text typed, found none under the number,
// made a new one and put it in place of the device its queue was under:
// the visit saved before the logout stayed "queued" for good, though the
// logout had promised it would go at the next login on this phone.

import { DESKTOP, PHONE, expect, test } from './support/fixtures';
import { ADMINISTRATOR, DEMO_PASSWORD } from './support/demo';
import { phoneReady } from './support/newVisit';
import { AdminPage } from './pages/AdminPage';
import { LoginPage } from './pages/LoginPage';
import { LogoutWarning } from './pages/LogoutWarning';

test.use({ ...PHONE });

test('a login by phone number finds the queue this phone left', async ({ page, context, newContext }) => {
  const phoneNumber = '0912345605';
  await test.step('the administrator gives ksv5 a phone number', async () => {
    const office = await newContext({ ...DESKTOP, label: 'desktop' });
    const officePage = await office.newPage();
    await new LoginPage(officePage).goto();
    await new LoginPage(officePage).loginAs(ADMINISTRATOR);
    const admin = new AdminPage(officePage);
    await admin.goto();
    await admin.openEdit('ksv5');
    await admin.fill(admin.editPanel.getByTestId('edit-phone'), phoneNumber);
    await admin.click(admin.editPanel.getByTestId('account-save'));
    await expect(admin.editNotice).toBeVisible();
    await office.close();
  });

  const { home, visit } = await phoneReady(page, 'ksv5');
  await context.setOffline(true);
  // Not the first proposal: the double-tap spec of the same server counts
  // on ksv5's first proposal having no visit.
  const visitId = await home.startVisit(home.proposalItems.nth(1));
  await visit.fillField('main_products', 'Mây tre đan');
  await visit.save();
  await visit.expectSyncState('queued');

  const logout = new LogoutWarning(page);
  expect(await logout.openWarning()).toBeGreaterThan(0);
  await logout.click(logout.anyway);
  await logout.click(logout.confirm);
  const login = new LoginPage(page);
  await login.expectShown();

  await context.setOffline(false);
  await login.loginAs(phoneNumber, DEMO_PASSWORD);
  await home.expectShown();
  await expect(home.visitItem(visitId), 'the queue left under the name goes out').toHaveAttribute('data-sync-state', 'synced', {
    timeout: 30_000,
  });
});
