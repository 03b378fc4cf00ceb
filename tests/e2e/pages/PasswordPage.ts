// /account/password: change one's own password; `?required=1` after an administrator set it.

import { expect, type Locator } from '@playwright/test';
import { BasePage } from './BasePage';

export class PasswordPage extends BasePage {
  get current(): Locator {
    return this.byTestId('current-password');
  }
  get newPassword(): Locator {
    return this.byTestId('new-password');
  }
  get repeat(): Locator {
    return this.byTestId('repeat-password');
  }
  get submit(): Locator {
    return this.byTestId('password-submit');
  }
  get error(): Locator {
    return this.byTestId('password-error');
  }
  /** Shown after a successful change, before the app moves on. */
  get changed(): Locator {
    return this.byTestId('password-changed');
  }
  /** The notice that the administrator set the password and a change is required. */
  get requiredNotice(): Locator {
    return this.byTestId('password-required');
  }

  async goto(): Promise<void> {
    await this.open('/account/password');
  }

  /** On /account/password; with `required`, as the login sends a user whose password was set by an administrator. */
  async expectShown({ required = false }: { required?: boolean } = {}): Promise<void> {
    await expect(this.page).toHaveURL(
      (url) => url.pathname === '/account/password' && (!required || url.searchParams.get('required') === '1'),
    );
    await this.waitHydrated();
    await expect(this.submit).toBeVisible();
    if (required) await expect(this.requiredNotice).toBeVisible();
  }

  /** Fills the form and submits; does not wait for the outcome. */
  async change(current: string, next: string, repeat: string = next): Promise<void> {
    await this.fill(this.current, current);
    await this.fill(this.newPassword, next);
    await this.fill(this.repeat, repeat);
    await this.click(this.submit);
  }
}
