// The header's logout button and the warning it shows when changes are still unsent on the phone.

import { expect, type Locator } from '@playwright/test';
import { BasePage } from './BasePage';

export class LogoutWarning extends BasePage {
  get button(): Locator {
    return this.byTestId('logout-button');
  }
  /** role="alertdialog"; data-count="<unsent changes>" (or "unknown"), data-kept="<of them, changes
   *  to visits finalized or decided meanwhile>", which the server takes only after a send-back. */
  get panel(): Locator {
    return this.byTestId('logout-warning');
  }
  get text(): Locator {
    return this.byTestId('logout-warning-text');
  }
  get syncNow(): Locator {
    return this.byTestId('logout-sync');
  }
  get cancel(): Locator {
    return this.byTestId('logout-cancel');
  }
  /** The first step: it only turns into `confirm`. */
  get anyway(): Locator {
    return this.byTestId('logout-anyway');
  }
  /** The second, explicit step that logs out. */
  get confirm(): Locator {
    return this.byTestId('logout-confirm');
  }

  /** Clicks logout and waits for the warning; returns how many changes it says are unsent. */
  async openWarning(): Promise<number> {
    await this.click(this.button);
    await expect(this.panel, 'logout with unsent changes must warn first').toBeVisible();
    await expect(this.panel).toHaveAttribute('data-count', /^\d+$/);
    return Number(await this.panel.getAttribute('data-count'));
  }
}
