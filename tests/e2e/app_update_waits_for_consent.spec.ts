// A new version of the app (a byte-different service worker) installs in the
// background and waits: the page is not reloaded under a half-filled form. Only
// "Cập nhật ngay" activates it; the draft comes back after the reload.

import { appendFileSync, cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PHONE, expect, test } from './support/fixtures';
import { REPO_ROOT, startServer, type KhaosatServer } from './support/server';
import { ensureServiceWorkerControls } from './support/serviceWorker';
import { HomePage } from './pages/HomePage';
import { LoginPage } from './pages/LoginPage';
import { VisitPage } from './pages/VisitPage';

let servers: KhaosatServer[] = [];
let nextSite = '';

test.beforeAll(async () => {
  // The "next release": the same bundles, a service worker that differs by one line.
  nextSite = mkdtempSync(join(tmpdir(), 'khaosat-next-site-'));
  cpSync(resolve(REPO_ROOT, process.env.LEPTOS_SITE_ROOT ?? 'target/site'), nextSite, { recursive: true });
  appendFileSync(join(nextSite, 'sw.js'), '\n// the next release\n');
});

test.afterAll(async () => {
  for (const server of servers) await server.stop();
  if (servers[0]) rmSync(servers[0].dataDir, { recursive: true, force: true });
  rmSync(nextSite, { recursive: true, force: true });
});

test('a new version waits for consent and never reloads a form being filled', async ({ newContext }) => {
  const current = await startServer({ name: 'current', keepData: true });
  servers.push(current);
  const context = await newContext({ ...PHONE, baseURL: current.baseURL, label: 'update' });
  const page = await context.newPage();
  const login = new LoginPage(page);
  const home = new HomePage(page);
  const visit = new VisitPage(page);

  await login.goto();
  await login.loginAs('ksv1');
  await home.expectShown();
  await ensureServiceWorkerControls(page, () => home.waitHydrated());
  await home.startVisit(home.proposalItems.first());
  await visit.fillField('workforce', '12');
  await visit.waitDraftSaved();
  await page.evaluate(() => ((window as unknown as { sameDocument: boolean }).sameDocument = true));
  // A second tab of the app on the home page, still running this release's
  // code when the first tab updates.
  const other = await context.newPage();
  const otherHome = new HomePage(other);
  await otherHome.goto();
  await otherHome.expectShown();
  await ensureServiceWorkerControls(other, () => otherHome.waitHydrated());
  await other.evaluate(() => ((window as unknown as { sameDocument: boolean }).sameDocument = true));

  await test.step('the next release is deployed on the same address', async () => {
    await current.stop();
    const next = await startServer({ name: 'next', siteRoot: nextSite, port: current.port, dataDir: current.dataDir });
    servers = [current, next];
    // The phone's link drops and comes back: the app looks for the new
    // version then, not a day later (nothing here asks the browser to).
    await page.context().setOffline(true);
    await page.context().setOffline(false);
  });

  await test.step('it waits: a banner asks, and the form is untouched', async () => {
    await expect(page.getByTestId('update-banner')).toBeVisible({ timeout: 20_000 });
    // The new worker has installed and stays "installed" (waiting): only its
    // activation would reload the page, and nothing but the button activates it.
    await expect
      .poll(() => page.evaluate(async () => (await navigator.serviceWorker.getRegistration())?.waiting?.state ?? null))
      .toBe('installed');
    expect(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);
    await expect(visit.field('workforce')).toHaveValue('12');
  });

  await test.step('on consent it activates, reloads, and the draft is back', async () => {
    await page.getByTestId('update-now').click();
    await page.waitForFunction(() => !(window as unknown as { sameDocument?: boolean }).sameDocument, null, { timeout: 20_000 });
    await visit.waitHydrated();
    await expect(visit.field('workforce')).toHaveValue('12');
    await expect(page.getByTestId('update-banner')).toHaveCount(0);
    expect(await page.evaluate(async () => Boolean((await navigator.serviceWorker.getRegistration())?.waiting))).toBe(false);
  });

  // Its old code asked the new release for chunks it does not have, and its
  // own "update now" found nothing waiting: it reloads onto the new release.
  await test.step('the other tab follows onto the new release', async () => {
    await other.waitForFunction(() => !(window as unknown as { sameDocument?: boolean }).sameDocument, null, { timeout: 20_000 });
    await otherHome.waitHydrated();
    await otherHome.expectShown();
    await expect(other.getByTestId('update-banner')).toHaveCount(0);
  });
});
