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

  /** The photo field `key` has read its photos from the phone: before
   *  that its list is empty, and an absence checked then proves nothing. */
  async expectPhotosRead(key: string): Promise<void> {
    await expect(this.field(key).getByTestId('photo-list')).toHaveAttribute('data-loaded', 'true');
  }

  /** The whole field block (label, input, error), hidden when its rule says so. */
  fieldBox(key: string): Locator {
    return this.form.locator(`[data-key="${key}"]`).first();
  }
  /** data-state="in_progress|submitted|needs_changes|approved|rejected" */
  get reviewState(): Locator {
    return this.byTestId('visit-review-state');
  }
  get finalizeButton(): Locator {
    return this.byTestId('finalize-button');
  }
  get incomplete(): Locator {
    return this.byTestId('visit-incomplete');
  }
  get sendBack(): Locator {
    return this.byTestId('visit-send-back');
  }
  repeatRows(group: string): Locator {
    return this.byTestId(`repeat-${group}`).getByTestId('repeat-row');
  }
  /** A field inside the n-th row (0-based) of a repeat group. */
  rowField(group: string, row: number, key: string): Locator {
    return this.repeatRows(group).nth(row).getByTestId(`field-${key}`);
  }
  async addRow(group: string): Promise<void> {
    const before = await this.repeatRows(group).count();
    await this.click(this.byTestId(`repeat-${group}-add`));
    await expect(this.repeatRows(group)).toHaveCount(before + 1);
  }
  async select(key: string, value: string): Promise<void> {
    await this.waitHydrated();
    await this.field(key).selectOption(value);
  }
  /** The data-field of the field holding the keyboard focus. */
  async focusedField(): Promise<string | null> {
    return this.page.evaluate(() => document.activeElement?.closest('[data-field]')?.getAttribute('data-field') ?? null);
  }
  async expectReviewState(state: string, timeout?: number): Promise<void> {
    await expect(this.reviewState).toHaveAttribute('data-state', state, { timeout });
  }

  async goto(visitId: string): Promise<void> {
    await this.open(`/visits/${visitId}`);
    await expect(this.form).toBeVisible();
  }

  async fillField(key: string, value: string): Promise<void> {
    await this.fill(this.field(key), value);
  }

  /**
   * Waits until every change made so far is in the draft in IndexedDB: no autosave
   * pending (data-draft-pending="false") and a draft written (data-draft-saved-at,
   * its updated_at_ms, set only once the write has completed). A change sets
   * pending at once, so calling this right after typing waits for that change.
   */
  async waitDraftSaved(): Promise<void> {
    await expect(this.form, 'the draft must reach IndexedDB').toHaveAttribute('data-draft-pending', 'false');
    await expect(this.form).toHaveAttribute('data-draft-saved-at', /^\d+$/);
  }

  /** The photos of a photo field, in the order they were taken. */
  photoItems(key: string): Locator {
    return this.field(key).getByTestId('photo-item');
  }
  /** The photo item with this ID. */
  photoItem(photoId: string): Locator {
    return this.form.locator(`[data-testid="photo-item"][data-photo-id="${photoId}"]`);
  }
  /** Waits until the caption typed into a photo item is in IndexedDB (and queued). */
  async waitCaptionSaved(item: Locator): Promise<void> {
    await expect(item.getByTestId('photo-caption'), 'the caption must reach IndexedDB').toHaveAttribute(
      'data-caption-saved',
      'true',
    );
  }

  /** Clicks save and waits until the app says the save is durable. */
  async save(): Promise<void> {
    await this.click(this.saveButton);
    await expect(this.saveStatus, 'the save must complete').toHaveAttribute('data-state', 'saved');
    // Announced to a screen reader too.
    await expect(this.saveStatus).toHaveAttribute('role', 'status');
  }

  async expectSyncState(state: SyncState, timeout?: number): Promise<void> {
    await expect(this.syncState).toHaveAttribute('data-state', state, { timeout });
  }
}
