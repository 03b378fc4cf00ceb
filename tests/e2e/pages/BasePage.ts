// What every screen shares: the hydration marker and hydration-safe actions.
//
// Before hydration the server-rendered HTML looks ready but has no event handlers, and
// input typed into it can be lost: every action first waits for html[data-hydrated=true].

import { expect, type Locator, type Page } from '@playwright/test';

/** The hydrated marker can take a while on a cold release load on 2 slow cores. */
const HYDRATION_TIMEOUT_MS = 30_000;

export abstract class BasePage {
  constructor(readonly page: Page) {}

  byTestId(id: string): Locator {
    return this.page.getByTestId(id);
  }

  /** Resolves once the WASM app has hydrated or mounted the current document. */
  async waitHydrated(): Promise<void> {
    await expect(this.page.locator('html'), 'the app must hydrate (html[data-hydrated=true])').toHaveAttribute(
      'data-hydrated',
      'true',
      { timeout: HYDRATION_TIMEOUT_MS },
    );
  }

  async click(target: Locator): Promise<void> {
    await this.waitHydrated();
    await this.revealInMenu(target);
    await target.click();
  }

  /**
   * On a phone the header keeps one line: names, office links, language and
   * logout sit behind the menu button. A control in the menu is revealed the way
   * a person would, by opening the menu first.
   */
  async revealInMenu(target: Locator): Promise<void> {
    const inMenu = await target
      .evaluate((el) => el.closest('[data-testid="header-menu"]') !== null, undefined, { timeout: 10_000 })
      .catch(() => false);
    if (inMenu && !(await target.isVisible())) {
      await this.byTestId('header-menu-button').click();
      await expect(target).toBeVisible();
    }
  }

  async fill(target: Locator, value: string): Promise<void> {
    await this.waitHydrated();
    await target.fill(value);
  }

  /** Navigates to an app path (relative to baseURL) and waits for hydration. */
  async open(path: string): Promise<void> {
    await this.page.goto(path);
    await this.waitHydrated();
  }

  /** Reloads the current document and waits for hydration. */
  async reload(): Promise<void> {
    await this.page.reload();
    await this.waitHydrated();
  }

  /** The document's language, e.g. "vi". */
  async lang(): Promise<string | null> {
    return this.page.locator('html').getAttribute('lang');
  }
}
