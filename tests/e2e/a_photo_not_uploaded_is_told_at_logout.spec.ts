// A photo whose record synced but whose bytes have not left the phone (a weak
// link that lets the small requests through, not the upload) exists only on
// this phone, though the outbox is empty. Logging out used to say nothing of
// it: it now warns, in words, and asks twice. Nothing is deleted: the same
// inspector's next login here uploads it.

import { expect, test } from './support/fixtures';
import { openPhone } from './support/phones';
import { addPhoto } from './support/photo_steps';
import { LoginPage } from './pages/LoginPage';
import { LogoutWarning } from './pages/LogoutWarning';

test('a photo not yet uploaded is told at logout and goes up at the next login here', async ({ newContext, baseURL }) => {
  test.setTimeout(180_000);
  const phone = await openPhone(newContext, baseURL!, 'phone');
  const id = await phone.home.startVisit(phone.home.proposalItems.first());
  await phone.visit.fillField('workforce', '18');
  await phone.context.route('**/api/uploads/**', (route) => route.abort());
  const photo = await addPhoto(phone, 800);
  await phone.visit.save();
  await phone.visit.expectSyncState('synced', 30_000);
  await expect(phone.visit.photoItem(photo)).toHaveAttribute('data-state', 'waiting');

  const logout = new LogoutWarning(phone.page);
  expect(await logout.openWarning(), 'no change is queued').toBe(0);
  await expect(logout.panel).toHaveAttribute('data-photos', 'true');
  await expect(logout.text).toContainText('Còn ảnh chưa tải lên máy chủ');
  await logout.click(logout.anyway);
  await expect(logout.confirm).toContainText('giữ ảnh chưa tải lên');
  await logout.click(logout.confirm);
  const login = new LoginPage(phone.page);
  await login.expectShown();

  await phone.context.unroute('**/api/uploads/**');
  await login.loginAs('ksv1');
  await phone.home.expectShown();
  await phone.visit.goto(id);
  await expect(phone.visit.photoItem(photo)).toHaveAttribute('data-state', 'ok', { timeout: 90_000 });
});
