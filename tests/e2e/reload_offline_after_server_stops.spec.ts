// The shell and the saved data survive the server's death: the phone keeps working
// from the service worker cache and IndexedDB when the server is gone.

import * as http from 'node:http';
import { expect, test } from './support/fixtures';
import { proposalsInScope } from './support/demo';
import { startServer, type KhaosatServer } from './support/server';
import { ensureServiceWorkerControls } from './support/serviceWorker';
import { HomePage } from './pages/HomePage';
import { LoginPage } from './pages/LoginPage';
import { VisitPage } from './pages/VisitPage';

const WORKFORCE = '42';
const MAIN_PRODUCTS = 'Gạch không nung, ngói màu';

// This spec kills its server, so it never uses the shared one.
let server: KhaosatServer | undefined;

test.beforeAll(async () => {
  server = await startServer({ name: 'doomed' });
});

test.afterAll(async () => {
  await server?.stop();
});

test('the shell and a saved visit reload after the server has died', async ({ newContext }) => {
  if (!server) throw new Error('the dedicated server did not start');
  const context = await newContext({ baseURL: server.baseURL, label: 'doomed' });
  const page = await context.newPage();
  const login = new LoginPage(page);
  const home = new HomePage(page);
  const visit = new VisitPage(page);
  const inScope = proposalsInScope('ksv1');

  let visitId = '';
  await test.step('an inspector saves a visit while the server is up', async () => {
    await login.goto();
    await login.loginAs('ksv1');
    await home.expectShown();
    await home.expectProposalCount(inScope);
    await ensureServiceWorkerControls(page, () => home.waitHydrated());
    visitId = await home.startVisit(home.proposalItems.first());
    await visit.fillField('workforce', WORKFORCE);
    await visit.fillField('main_products', MAIN_PRODUCTS);
    await visit.save();
    await ensureServiceWorkerControls(page, () => visit.waitHydrated());
  });

  await test.step('the server dies', async () => {
    await server!.kill();
    const alive = await fetch(`${server!.baseURL}/api/health`).then(
      () => true,
      () => false,
    );
    expect(alive, 'the server must be gone').toBe(false);
  });

  await test.step('the home reloads from the cache with the proposals and the visit', async () => {
    await home.goto();
    await home.expectShown();
    await home.expectProposalCount(inScope);
    await expect(home.visitItem(visitId)).toBeVisible();
  });

  await test.step('the visit deep link reloads from the cache with its data', async () => {
    await visit.goto(visitId);
    await expect(visit.field('workforce')).toHaveValue(WORKFORCE);
    await expect(visit.field('main_products')).toHaveValue(MAIN_PRODUCTS);
  });

  // A proxy in front of a server that is down (or restarting) answers at
  // once, in English: "502 Bad Gateway". That answer used to replace the
  // shell the phone holds.
  await test.step('a proxy answering 502 in its place still gives the shell and the data', async () => {
    const port = Number(new URL(server!.baseURL).port);
    let answered = 0;
    const proxy = http.createServer((_request, response) => {
      answered += 1;
      response.writeHead(502, { 'content-type': 'text/html' });
      response.end('<html><body><h1>502 Bad Gateway</h1></body></html>');
    });
    await new Promise<void>((resolve, reject) => {
      proxy.once('error', reject);
      proxy.listen(port, '127.0.0.1', resolve);
    });
    try {
      await home.goto();
      await home.expectShown();
      await home.expectProposalCount(inScope);
      await expect(home.visitItem(visitId)).toBeVisible();
      await expect(page.getByText('Bad Gateway')).toHaveCount(0);
      expect(answered, 'the navigation reached the proxy').toBeGreaterThan(0);
    } finally {
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    }
  });
});
