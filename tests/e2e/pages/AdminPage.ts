// /admin: the accounts (create, edit, deactivate, reset a password, devices) and the audit trail.

import { expect, type Locator } from '@playwright/test';
import { BasePage } from './BasePage';

export type Role = 'inspector' | 'supervisor' | 'administrator';

export interface NewAccount {
  username: string;
  displayName: string;
  phone?: string;
  /** The first password; the user must change it at first login. */
  password: string;
  roles: readonly Role[];
  /** Unit codes, e.g. '213'. */
  units: readonly string[];
}

export class AdminPage extends BasePage {
  get accountList(): Locator {
    return this.byTestId('account-list');
  }
  get accountRows(): Locator {
    return this.accountList.getByTestId('account-row');
  }
  /** data-active="true|false", data-must-change="true|false" */
  accountRow(username: string): Locator {
    return this.accountRows.and(this.page.locator(`[data-username="${username}"]`));
  }
  get createForm(): Locator {
    return this.byTestId('account-create-form');
  }
  /** A refused creation, or the whole page refused (not an administrator). */
  get error(): Locator {
    return this.byTestId('admin-error');
  }
  get created(): Locator {
    return this.byTestId('admin-notice');
  }
  /** The one open edit panel. */
  get editPanel(): Locator {
    return this.byTestId('account-edit-panel');
  }
  get editNotice(): Locator {
    return this.byTestId('account-edit-notice');
  }
  get editError(): Locator {
    return this.byTestId('account-edit-error');
  }
  /** data-device="<id>", data-revoked="true|false" */
  get deviceRows(): Locator {
    return this.editPanel.getByTestId('device-row');
  }
  get auditRows(): Locator {
    return this.byTestId('audit-trail').getByTestId('audit-row');
  }

  async goto(): Promise<void> {
    await this.open('/admin');
    await expect(this.accountList).toBeVisible();
  }

  async check(target: Locator): Promise<void> {
    await this.waitHydrated();
    await target.check();
  }

  /** Fills the create form and submits; does not wait for the outcome. */
  async createAccount(account: NewAccount): Promise<void> {
    const form = this.createForm;
    await this.fill(form.getByTestId('new-username'), account.username);
    await this.fill(form.getByTestId('new-display-name'), account.displayName);
    if (account.phone !== undefined) await this.fill(form.getByTestId('new-phone'), account.phone);
    await this.fill(form.getByTestId('new-password'), account.password);
    for (const role of account.roles) await this.check(form.getByTestId(`new-role-${role}`));
    for (const unit of account.units) await this.check(form.getByTestId('new-units').locator(`input[value="${unit}"]`));
    await this.click(form.getByTestId('account-create-submit'));
  }

  /** Opens the edit panel of an account. */
  async openEdit(username: string): Promise<void> {
    await this.click(this.accountRow(username).getByTestId('account-edit'));
    await expect(this.editPanel).toBeVisible();
  }

  async resetPassword(username: string, temporary: string): Promise<void> {
    await this.openEdit(username);
    await this.fill(this.editPanel.getByTestId('reset-password-input'), temporary);
    await this.click(this.editPanel.getByTestId('reset-password-submit'));
    await expect(this.editNotice).toBeVisible();
  }
}
