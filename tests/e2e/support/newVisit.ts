// An inspector's new visit, open on a fresh page: what the field specs that
// test one visit start from.

import type { Page } from '@playwright/test';
import { expect } from './fixtures';
import { ensureServiceWorkerControls } from './serviceWorker';
import { HomePage } from '../pages/HomePage';
import { LoginPage } from '../pages/LoginPage';
import { VisitPage } from '../pages/VisitPage';

/** Logs `username` in on a phone that can then go offline: the service worker
 *  controls the page and the first pull has landed. */
export async function phoneReady(page: Page, username = 'ksv1'): Promise<{ home: HomePage; visit: VisitPage }> {
  const login = new LoginPage(page);
  const home = new HomePage(page);
  await page.goto('/');
  await login.expectShown();
  await login.loginAs(username);
  await home.expectShown();
  await ensureServiceWorkerControls(page, () => home.waitHydrated());
  await home.expectSynced();
  return { home, visit: new VisitPage(page) };
}

/** Logs `username` in, waits for the first pull, starts a visit on the first
 *  proposal and waits for its form. */
export async function startNewVisit(page: Page, username = 'ksv1') {
  const login = new LoginPage(page);
  const home = new HomePage(page);
  const visit = new VisitPage(page);
  await page.goto('/');
  await login.expectShown();
  await login.loginAs(username);
  await home.expectSynced();
  const visitId = await home.startVisit(home.proposalItems.first());
  await expect(visit.form).toBeVisible();
  return { home, visit, visitId };
}
