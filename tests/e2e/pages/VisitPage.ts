// /visits/{id}: the survey form, save, and the visit's sync state.

import { expect, type Locator } from '@playwright/test';
import { BasePage } from './BasePage';

export type SyncState = 'draft' | 'queued' | 'synced' | 'refused' | 'conflict';

export class VisitPage extends BasePage {
  get form(): Locator {
    return this.byTestId('visit-form');
  }
  /** The input, textarea or select of a form field. */
  field(key: string): Locator {
    return this.byTestId(`field-${key}`);
  }
  get saveButton(): Locator {
    return this.byTestId('save-button');
  }
  /** data-state="saving|saved|error" */
  get saveStatus(): Locator {
    return this.byTestId('save-status');
  }
  /** data-state="draft|queued|synced|refused|conflict" */
  get syncState(): Locator {
    return this.byTestId('visit-sync-state');
  }

  async goto(visitId: string): Promise<void> {
    await this.open(`/visits/${visitId}`);
    await expect(this.form).toBeVisible();
  }

  async fillField(key: string, value: string): Promise<void> {
    await this.fill(this.field(key), value);
  }

  /** Clicks save and waits until the app says the save is durable. */
  async save(): Promise<void> {
    await this.click(this.saveButton);
    await expect(this.saveStatus, 'the save must complete').toHaveAttribute('data-state', 'saved');
  }

  async expectSyncState(state: SyncState, timeout?: number): Promise<void> {
    await expect(this.syncState).toHaveAttribute('data-state', state, { timeout });
  }
}
