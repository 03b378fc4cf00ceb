// The walking skeleton's path: an inspector fills a visit offline on a phone, it syncs
// by itself when the network returns, and the supervisor sees the answers.

import { DESKTOP, PHONE, expect, test } from './support/fixtures';
import { SUPERVISOR, isUuidV7, proposalsInScope } from './support/demo';
import { ensureServiceWorkerControls } from './support/serviceWorker';
import { HomePage } from './pages/HomePage';
import { LoginPage } from './pages/LoginPage';
import { ReviewPage } from './pages/ReviewPage';
import { VisitPage } from './pages/VisitPage';

const WORKFORCE = '25';
const MAIN_PRODUCTS = 'Nồi hơi công nghiệp, bình áp lực';

test.use({ ...PHONE });

test('a visit saved offline on a phone syncs when the network returns and reaches the supervisor', async ({
  page,
  context,
  newContext,
}) => {
  const login = new LoginPage(page);
  const home = new HomePage(page);
  const visit = new VisitPage(page);

  await test.step('an inspector logs in on a phone and sees the proposals of the units', async () => {
    await page.goto('/');
    // Nobody is logged in: the app sends the phone to /login (client-side).
    await login.expectShown();
    await login.loginAs('ksv1');
    await home.expectShown();
    // ksv1 covers TP Bắc Giang (213: 11 proposals) and Lục Nam (218: none).
    expect(proposalsInScope('ksv1'), '11 of 2020 and 2 of 2026').toBe(13);
    await home.expectProposalCount(13);
    // Going offline only makes sense once the service worker serves the shell.
    await ensureServiceWorkerControls(page, () => home.waitHydrated());
    await home.expectProposalCount(13);
  });

  let visitId = '';
  await test.step('the inspector starts a visit on the first proposal and fills it', async () => {
    visitId = await home.startVisit(home.proposalItems.first());
    expect(isUuidV7(visitId), `visit id ${visitId} must be a UUIDv7 made on the phone`).toBe(true);
    await expect(visit.form).toBeVisible();
    await visit.fillField('workforce', WORKFORCE);
    await visit.fillField('main_products', MAIN_PRODUCTS);
  });

  await test.step('offline, the save is durable on the phone and queued', async () => {
    await context.setOffline(true);
    await visit.save();
    await visit.expectSyncState('queued');
  });

  await test.step('offline, the visit deep link reloads from the service worker with its data', async () => {
    await visit.reload();
    await expect(page).toHaveURL((url) => url.pathname === `/visits/${visitId}`);
    await expect(visit.field('workforce')).toHaveValue(WORKFORCE);
    await expect(visit.field('main_products')).toHaveValue(MAIN_PRODUCTS);
    await visit.expectSyncState('queued');
  });

  await test.step('offline, the home still lists the proposals and the queued visit', async () => {
    await home.goto();
    await expect(home.networkStatus).toHaveAttribute('data-online', 'false');
    await home.expectProposalCount(13);
    await expect(home.visitItem(visitId)).toBeVisible();
    await expect(home.visitItem(visitId)).toHaveAttribute('data-sync-state', 'queued');
  });

  await test.step('back online, the app syncs by itself', async () => {
    await context.setOffline(false);
    await expect(home.networkStatus).toHaveAttribute('data-online', 'true');
    // No click on sync-button: the 'online' event must start the sync.
    await expect(
      home.visitItem(visitId),
      "the app must push the queued visit on its own after the 'online' event",
    ).toHaveAttribute('data-sync-state', 'synced', { timeout: 10_000 });
    await expect(home.syncStatus).not.toHaveAttribute('data-state', 'error');
    await visit.goto(visitId);
    await visit.expectSyncState('synced');
  });

  await test.step('the supervisor sees the answers on a desktop', async () => {
    const office = await newContext({ ...DESKTOP, label: 'desktop' });
    const officePage = await office.newPage();
    const supervisorLogin = new LoginPage(officePage);
    const review = new ReviewPage(officePage);

    await supervisorLogin.goto();
    await supervisorLogin.loginAs(SUPERVISOR);
    await review.ensureShown();
    await expect(review.visitItem(visitId)).toBeVisible();
    await review.openVisit(visitId);
    await expect(review.answer('workforce')).toHaveText(WORKFORCE);
    await expect(review.answer('main_products')).toContainText('Nồi hơi');
  });
});
