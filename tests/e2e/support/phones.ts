// One of an inspector's phones (ksv1) for the specs that drive two: logged
// in, its service worker in control, its first sync done.

import { PHONE, type MakeContext } from './fixtures';
import { ensureServiceWorkerControls } from './serviceWorker';
import { HomePage } from '../pages/HomePage';
import { LoginPage } from '../pages/LoginPage';
import { VisitPage } from '../pages/VisitPage';

export interface InspectorPhone {
  context: import('@playwright/test').BrowserContext;
  page: import('@playwright/test').Page;
  home: HomePage;
  visit: VisitPage;
}

/** A phone at `baseURL`, its clock `clockAheadMs` ahead of the machine's. */
export async function openPhone(
  newContext: MakeContext,
  baseURL: string,
  label: string,
  clockAheadMs = 0,
): Promise<InspectorPhone> {
  const context = await newContext({ ...PHONE, baseURL, label });
  if (clockAheadMs) {
    await context.addInitScript((ahead: number) => {
      const real = Date.now.bind(Date);
      const RealDate = Date;
      globalThis.Date = class extends RealDate {
        constructor(...args: ConstructorParameters<DateConstructor> | []) {
          if (args.length === 0) super(real() + ahead);
          else super(...(args as ConstructorParameters<DateConstructor>));
        }
        static now() {
          return real() + ahead;
        }
      } as DateConstructor;
    }, clockAheadMs);
  }
  const page = await context.newPage();
  const home = new HomePage(page);
  await page.goto('/');
  await new LoginPage(page).loginAs('ksv1');
  await home.expectShown();
  await ensureServiceWorkerControls(page, () => home.waitHydrated());
  await home.expectSynced();
  return { context, page, home, visit: new VisitPage(page) };
}

/** Syncs `phone` from its home page and waits until the sync ends well. */
export async function syncFromHome(phone: InspectorPhone): Promise<void> {
  await phone.home.goto();
  await phone.home.click(phone.home.syncButton);
  await phone.home.expectSynced();
}
