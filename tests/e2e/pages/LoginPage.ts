// /login: username, password, submit; an error line on failure; the language switch.

import { expect, type Locator } from '@playwright/test';
import { DEMO_PASSWORD } from '../support/demo';
import { BasePage } from './BasePage';

export class LoginPage extends BasePage {
  get username(): Locator {
    return this.byTestId('login-username');
  }
  get password(): Locator {
    return this.byTestId('login-password');
  }
  get submit(): Locator {
    return this.byTestId('login-submit');
  }
  get error(): Locator {
    return this.byTestId('login-error');
  }
  get langSwitch(): Locator {
    return this.byTestId('lang-switch');
  }

  async goto(): Promise<void> {
    await this.open('/login');
  }

  async expectShown(): Promise<void> {
    await expect(this.page).toHaveURL((url) => url.pathname === '/login');
    await this.waitHydrated();
    await expect(this.submit).toBeVisible();
  }

  /** Fills the form and submits; does not wait for where the app goes next. */
  async submitCredentials(username: string, password: string): Promise<void> {
    await this.fill(this.username, username);
    await this.fill(this.password, password);
    await this.click(this.submit);
  }

  /** Logs a demo user in and waits until the app has left /login. */
  async loginAs(username: string, password: string = DEMO_PASSWORD): Promise<void> {
    await this.submitCredentials(username, password);
    await expect(this.page, `${username} must be let in`).not.toHaveURL((url) => url.pathname === '/login');
    await this.waitHydrated();
  }
}
