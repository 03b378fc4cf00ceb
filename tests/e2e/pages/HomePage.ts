// / (inspector home): header with network and sync status, proposals in scope, own visits.

import { expect, type Locator } from '@playwright/test';
import { UUID } from '../support/demo';
import { BasePage } from './BasePage';

export class HomePage extends BasePage {
  get header(): Locator {
    return this.byTestId('app-header');
  }
  get userName(): Locator {
    return this.byTestId('user-name');
  }
  /** data-online="true|false" */
  get networkStatus(): Locator {
    return this.byTestId('network-status');
  }
  get syncButton(): Locator {
    return this.byTestId('sync-button');
  }
  /** data-state="idle|syncing|ok|error" */
  get syncStatus(): Locator {
    return this.byTestId('sync-status');
  }
  get langSwitch(): Locator {
    return this.byTestId('lang-switch');
  }
  get logoutButton(): Locator {
    return this.byTestId('logout-button');
  }
  get proposalList(): Locator {
    return this.byTestId('proposal-list');
  }
  get proposalItems(): Locator {
    return this.proposalList.getByTestId('proposal-item');
  }
  proposalItem(proposalId: string): Locator {
    return this.proposalItems.and(this.page.locator(`[data-proposal-id="${proposalId}"]`));
  }
  get visitList(): Locator {
    return this.byTestId('visit-list');
  }
  get visitItems(): Locator {
    return this.visitList.getByTestId('visit-item');
  }
  /** data-sync-state="draft|queued|synced|refused|conflict" */
  visitItem(visitId: string): Locator {
    return this.visitItems.and(this.page.locator(`[data-visit-id="${visitId}"]`));
  }

  async goto(): Promise<void> {
    await this.open('/');
  }

  async expectShown(): Promise<void> {
    await expect(this.page).toHaveURL((url) => url.pathname === '/');
    await this.waitHydrated();
    await expect(this.header).toBeVisible();
  }

  /** The first pull after login has landed (it runs from the sync chunk): the header says synced and proposals are listed. */
  async expectSynced(): Promise<void> {
    await expect(this.syncStatus).toHaveAttribute('data-state', 'ok', { timeout: 30_000 });
    await expect(this.proposalItems.first()).toBeVisible();
  }

  /**
   * Presses sync and waits until a pull asked for after the press has landed.
   * `expectSynced` alone is not enough on a page that has synced before: the
   * header still says "ok" from the last run until the new one starts, after
   * the Web Lock, IndexedDB and the sync chunk, so it passed before the
   * pull, and what the test checked next (often on a page opened anew, which
   * cuts the run) was the phone's old copy.
   */
  async syncNow(): Promise<void> {
    const pull = this.page.waitForRequest((r) => new URL(r.url()).pathname === '/api/sync/pull', {
      timeout: 30_000,
    });
    await this.click(this.syncButton);
    await (await pull).response();
    // The run says "syncing" from before its first request until it ends.
    await this.expectSynced();
  }

  /** The home has read its lists from the phone: before that, every
   *  proposal is missing from them, and an absence checked then proves nothing. */
  async expectListsRead(): Promise<void> {
    await expect(this.byTestId('proposal-toolbar')).toHaveAttribute('data-loaded', 'true');
  }

  async expectProposalCount(count: number): Promise<void> {
    await expect(this.proposalItems, `the home must list exactly ${count} proposals`).toHaveCount(count);
  }

  /** Starts a visit on the given proposal item; returns the new visit's id from the URL. */
  async startVisit(proposal: Locator): Promise<string> {
    await this.click(proposal.getByTestId('start-visit'));
    const visitUrl = new RegExp(`/visits/(${UUID.source})$`);
    // A proposal that already has a visit on the phone asks before a second one.
    const confirm = proposal.getByTestId('confirm-new-visit');
    await expect
      .poll(async () => visitUrl.test(new URL(this.page.url()).pathname) || (await confirm.isVisible()))
      .toBe(true);
    if (await confirm.isVisible()) await this.click(confirm);
    await expect(this.page).toHaveURL(visitUrl);
    const match = visitUrl.exec(new URL(this.page.url()).pathname);
    if (!match) throw new Error(`not a visit URL: ${this.page.url()}`);
    await this.waitHydrated();
    return match[1];
  }
}
