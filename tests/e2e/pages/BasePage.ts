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
    await target.click();
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
