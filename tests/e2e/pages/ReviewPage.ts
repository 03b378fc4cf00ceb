// /review (supervisor home) and /review/visits/{id} (one visit's answers).

import { expect, type Locator } from '@playwright/test';
import { BasePage } from './BasePage';

export class ReviewPage extends BasePage {
  get visitList(): Locator {
    return this.byTestId('review-visit-list');
  }
  get visitItems(): Locator {
    return this.visitList.getByTestId('review-visit-item');
  }
  visitItem(visitId: string): Locator {
    return this.visitItems.and(this.page.locator(`[data-visit-id="${visitId}"]`));
  }
  get detail(): Locator {
    return this.byTestId('review-visit-detail');
  }
  /** The element whose text is the answer to a form field. */
  answer(key: string): Locator {
    return this.detail.getByTestId(`answer-${key}`);
  }

  /** data-state of the visit's review state on its page. */
  get state(): Locator {
    return this.detail.getByTestId('review-state');
  }
  async sendBack(comment: string, field?: string): Promise<void> {
    await this.fill(this.byTestId('review-comment'), comment);
    if (field) await this.byTestId('review-field').selectOption(field);
    await this.click(this.byTestId('review-send-back'));
    await expect(this.state).toHaveAttribute('data-state', 'needs_changes');
  }
  async approve(): Promise<void> {
    await this.click(this.byTestId('review-approve'));
    await expect(this.state).toHaveAttribute('data-state', 'approved');
  }

  async goto(): Promise<void> {
    await this.open('/review');
    await expect(this.visitList).toBeVisible();
  }

  /** Goes to /review unless the app already landed there. */
  async ensureShown(): Promise<void> {
    if (new URL(this.page.url()).pathname !== '/review') await this.goto();
    await this.waitHydrated();
    await expect(this.visitList).toBeVisible();
  }

  async openVisit(visitId: string): Promise<void> {
    // The item is either the link itself or holds it; click the link when there is one.
    const item = this.visitItem(visitId);
    await this.waitHydrated();
    const isLink = await item.evaluate((element) => element.tagName === 'A');
    const link = item.locator('a').first();
    await this.click(!isLink && (await link.count()) > 0 ? link : item);
    await expect(this.page).toHaveURL((url) => url.pathname === `/review/visits/${visitId}`);
    await this.waitHydrated();
    await expect(this.detail).toBeVisible();
  }
}
