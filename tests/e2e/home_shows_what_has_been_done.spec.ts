// The home screen shows what has been done (issue 17): proposal cards said
// "Bắt đầu khảo sát" even with an approved visit, so duplicate visits were
// easy. A card now shows its visits' states and opens the existing visit; a
// second visit of the same proposal is asked for first. The inspector's own
// visits and the storage panel are one tap away, not below every proposal.

import { PHONE, expect, test } from './support/fixtures';
import { HomePage } from './pages/HomePage';
import { LoginPage } from './pages/LoginPage';
import { VisitPage } from './pages/VisitPage';

test.use({ ...PHONE });

test('a proposal card shows its visit, opens it, and asks before a second one', async ({ page }) => {
  const login = new LoginPage(page);
  const home = new HomePage(page);
  const visit = new VisitPage(page);
  await login.goto();
  await login.loginAs('ksv4');
  await home.expectSynced();
  const card = home.proposalItems.nth(1);
  const proposalId = await card.getAttribute('data-proposal-id');
  const mine = home.proposalItem(proposalId!);
  await expect(mine.getByTestId('start-visit')).toHaveText('Bắt đầu khảo sát');
  await expect(mine.getByTestId('open-visit')).toHaveCount(0);

  const visitId = await home.startVisit(mine);
  await visit.fillField('workforce', '12');
  await visit.save();
  await visit.expectSyncState('synced', 30_000);
  await home.goto();

  await test.step('the card says the visit exists and where it stands', async () => {
    await expect(mine).toHaveAttribute('data-visits', '1');
    await expect(mine.getByTestId('proposal-visit-sync')).toHaveText(/Đã lên máy chủ/);
    await expect(mine.getByTestId('proposal-visit-review')).toHaveText('Đang thực hiện');
    await expect(mine.getByTestId('start-visit')).toHaveText('Khảo sát lần nữa');
  });

  await test.step("in English, the card's badges turn too, not only its buttons", async () => {
    await home.click(page.getByTestId('lang-switch'));
    await expect(page.locator('html')).toHaveAttribute('lang', 'en');
    // The closed menu hid the switch: the menu's button has the focus.
    await expect(page.getByTestId('header-menu-button')).toBeFocused();
    // And the tab names the page in the new language.
    await expect(page).toHaveTitle('Home · Industrial-extension survey');
    await expect(mine.getByTestId('proposal-visit-review')).toHaveText('In progress');
    await expect(mine.getByTestId('proposal-visit-sync')).not.toHaveText(/Đã lên máy chủ/);
    await home.click(page.getByTestId('lang-switch'));
    await expect(page.locator('html')).toHaveAttribute('lang', 'vi');
    await expect(mine.getByTestId('proposal-visit-review')).toHaveText('Đang thực hiện');
  });

  await test.step('its main action opens the existing visit', async () => {
    await home.click(mine.getByTestId('open-visit'));
    await expect(page).toHaveURL((url) => url.pathname === `/visits/${visitId}`);
    await expect(visit.field('workforce')).toHaveValue('12');
    await home.goto();
  });

  await test.step('a second visit is asked for; "no" keeps one', async () => {
    await home.click(mine.getByTestId('start-visit'));
    await expect(mine.getByTestId('confirm-new-visit-panel')).toBeVisible();
    await expect(mine.getByTestId('confirm-new-visit-panel')).toHaveAttribute('role', 'alertdialog');
    // The question takes the focus on its safe answer, and gives it back.
    await expect(mine.getByTestId('cancel-new-visit')).toBeFocused();
    await home.click(mine.getByTestId('cancel-new-visit'));
    await expect(mine.getByTestId('confirm-new-visit-panel')).toHaveCount(0);
    await expect(mine.getByTestId('start-visit')).toBeFocused();
    await expect(page).toHaveURL((url) => url.pathname === '/');
    await expect(mine).toHaveAttribute('data-visits', '1');
  });

  await test.step('the own visits and the storage are one tap away', async () => {
    await home.click(page.getByTestId('jump-my-visits'));
    await expect(home.visitList).toBeInViewport();
    await home.click(page.getByTestId('jump-storage'));
    await expect(page.getByTestId('storage-panel')).toBeInViewport();
  });

  await test.step('a search says what it found, for a screen reader too', async () => {
    const search = page.getByTestId('proposal-search');
    const found = page.getByTestId('proposal-search-count');
    await expect(found).toHaveAttribute('role', 'status');
    await expect(found).toHaveText('');
    const title = (await mine.locator('.item-title').textContent())!;
    await home.fill(search, title);
    await expect(found).toHaveText(/^Tìm thấy \d+ đề án\.$/);
    await home.fill(search, 'không có đề án nào tên này');
    await expect(found).toHaveText('Không có đề án nào khớp với từ tìm kiếm.');
    await home.fill(search, '');
    await expect(found).toHaveText('');
  });
});

test('a double tap on "Bắt đầu khảo sát" makes one visit', async ({ page }) => {
  // Found on a new-user walk: two taps within ~40 ms made two drafts.
  const login = new LoginPage(page);
  const home = new HomePage(page);
  await login.goto();
  await login.loginAs('ksv5');
  await home.expectSynced();
  const card = home.proposalItems.first();
  const proposalId = await card.getAttribute('data-proposal-id');
  const mine = home.proposalItem(proposalId!);
  await expect(mine).toHaveAttribute('data-visits', '0');
  await mine.getByTestId('start-visit').dblclick();
  await expect(page).toHaveURL((url) => url.pathname.startsWith('/visits/'));
  await home.goto();
  await expect(mine).toHaveAttribute('data-visits', '1');
});
