// /review/proposals/{id} (a proposal and its recommendation) and /plan (the year's
// plan by district, industry group and funding source, with its exports).

import { readFile } from 'node:fs/promises';
import { expect, type Locator } from '@playwright/test';
import * as XLSX from 'xlsx';
import { BasePage } from './BasePage';

/** One plan cell's figures. */
export interface Cell {
  count: number;
  amount: number;
}

export class PlanPage extends BasePage {
  get proposal(): Locator {
    return this.byTestId('proposal-detail');
  }
  get current(): Locator {
    return this.byTestId('recommendation-current');
  }
  get recommendError(): Locator {
    return this.byTestId('recommend-error');
  }

  async openProposal(id: string): Promise<void> {
    await this.open(`/review/proposals/${id}`);
    await expect(this.proposal).toBeVisible();
  }

  /** Fills and submits the recommendation form; the caller checks the outcome. */
  async recommend(source: string, amount: string, rationale: string): Promise<void> {
    await this.byTestId('recommend-source').selectOption(source);
    await this.fill(this.byTestId('recommend-amount'), amount);
    await this.fill(this.byTestId('recommend-rationale'), rationale);
    await this.click(this.byTestId('recommend-submit'));
  }

  async openPlan(year: number): Promise<void> {
    await this.open(`/plan?year=${year}`);
    await expect(this.byTestId('plan-by-district')).toBeVisible();
  }

  /** The count and amount of one funding source in a district's row. */
  async districtCell(district: string, source: string): Promise<Cell> {
    const cell = this.byTestId('plan-by-district')
      .locator(`[data-testid="plan-district"][data-district="${district}"]`)
      .locator(`[data-testid="plan-cell"][data-source="${source}"]`);
    return {
      count: Number(await cell.getAttribute('data-count')),
      amount: Number(await cell.getAttribute('data-amount')),
    };
  }

  async districtCount(district: string): Promise<number> {
    const n = this.byTestId('plan-by-district').locator(
      `[data-testid="plan-district-count"][data-district="${district}"]`,
    );
    return Number(await n.textContent());
  }

  /** Downloads the plan's XLSX and returns its sheets as rows of cell values. */
  async downloadXlsx(): Promise<Record<string, unknown[][]>> {
    await this.waitHydrated();
    const [download] = await Promise.all([
      this.page.waitForEvent('download'),
      this.byTestId('export-plan-xlsx').click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/^khaosat-ke-hoach-\d{4}\.xlsx$/);
    const book = XLSX.read(await readFile((await download.path())!));
    const sheets: Record<string, unknown[][]> = {};
    for (const name of book.SheetNames) {
      sheets[name] = XLSX.utils.sheet_to_json(book.Sheets[name], { header: 1, blankrows: false });
    }
    return sheets;
  }
}

/** The row of a sheet whose first cell is `label`. */
export function rowOf(rows: unknown[][], label: string): unknown[] {
  const row = rows.find((r) => r[0] === label);
  if (!row) throw new Error(`no row ${label} in ${JSON.stringify(rows.slice(0, 5))}`);
  return row;
}
