// axe-core (WCAG 2.2 A and AA rules) on the page as it is now. Serious and
// critical violations fail the test; the others are printed. Every spec's
// last state is checked by the fixture in fixtures.ts, and
// every_screen_is_accessible.spec.ts walks each screen on purpose.

import AxeBuilder from '@axe-core/playwright';
import { expect, type Page } from '@playwright/test';

const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];

export interface AxeFinding {
  id: string;
  impact: string;
  help: string;
  targets: string[];
}

/** Runs axe on `page`; returns the serious and critical findings, prints the rest. */
export async function axeFindings(page: Page, label: string): Promise<AxeFinding[]> {
  const results = await new AxeBuilder({ page }).withTags(TAGS).analyze();
  const findings = results.violations.map((v) => ({
    id: v.id,
    impact: v.impact ?? 'unknown',
    help: v.help,
    targets: v.nodes.slice(0, 5).map((n) => n.target.join(' ')),
  }));
  for (const f of findings.filter((f) => f.impact !== 'serious' && f.impact !== 'critical')) {
    console.log(`[axe] ${label}: ${f.impact} ${f.id} (${f.help}) at ${f.targets.join(', ')}`);
  }
  return findings.filter((f) => f.impact === 'serious' || f.impact === 'critical');
}

/** Fails on any serious or critical WCAG 2.2 AA violation on the page as it is now. */
export async function expectAccessible(page: Page, label: string): Promise<void> {
  const serious = await axeFindings(page, label);
  expect(
    serious,
    `${label}: serious or critical accessibility violations:\n${serious
      .map((f) => `${f.impact} ${f.id}: ${f.help}\n    at ${f.targets.join('\n    at ')}`)
      .join('\n')}`,
  ).toEqual([]);
}
