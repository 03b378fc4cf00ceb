// The `test` every spec imports: browser problems printed and enforced, plus helpers.
//
// Every browser context a test touches (the default one and those made with
// `newContext`) is watched: console errors (pages and the service worker) are printed
// into the test output, and an uncaught page error fails the test, because a release
// build whose WASM trapped or never hydrated must not pass quietly. A Content
// Security Policy violation fails the test too: the policy must allow everything
// the app really does, and nothing more.

import { test as base, expect, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from '@playwright/test';
import { axeFindings } from './accessibility';
import { startServer } from './server';

export { expect };

/** What went wrong in the browsers of one test. */
export class BrowserProblems {
  readonly pageErrors: string[] = [];
  readonly consoleErrors: string[] = [];

  /** Starts printing and recording the problems of `context`, labelled e.g. "phone". */
  watch(context: BrowserContext, label: string): void {
    const watchPage = (page: Page) => {
      page.on('pageerror', (error) => {
        const line = `[browser ${label}] pageerror at ${page.url()}: ${error.stack ?? error.message}`;
        this.pageErrors.push(line);
        console.log(line);
      });
    };
    context.pages().forEach(watchPage);
    context.on('page', watchPage);
    // Context-level console covers every page and the service worker.
    context.on('console', (message) => {
      if (message.type() !== 'error') return;
      const where = message.location();
      const source = where.url ? ` (${where.url}:${where.lineNumber})` : '';
      const line = `[browser ${label}] console.error: ${message.text()}${source}`;
      this.consoleErrors.push(line);
      if (/Content Security Policy/i.test(message.text())) this.pageErrors.push(`CSP violation: ${line}`);
      console.log(line);
    });
  }

  /** Throws when a page error happened: called after each test. */
  assertNoPageErrors(): void {
    if (this.pageErrors.length > 0) {
      throw new Error(`uncaught errors or CSP violations in the page:\n${this.pageErrors.join('\n')}`);
    }
  }
}

export type MakeContext = (options?: BrowserContextOptions & { label?: string }) => Promise<BrowserContext>;

interface Fixtures {
  browserProblems: BrowserProblems;
  /** axe-core on the page's last state, after every test that passed. */
  accessibleAtTheEnd: void;
  /** A new, watched context with the project's defaults; closed after the test. */
  newContext: MakeContext;
}

interface WorkerFixtures {
  /** The demo server of a `second-server` worker (playwright.config.ts); none elsewhere. */
  workerServerURL: string | undefined;
}

export const test = base.extend<Fixtures, WorkerFixtures>({
  workerServerURL: [
    async ({}, use, workerInfo) => {
      // A server already running (KHAOSAT_BASE_URL set before the run) serves every spec.
      if (workerInfo.project.metadata?.sharedServer !== 'worker' || process.env.KHAOSAT_EXTERNAL_SERVER) {
        await use(undefined);
        return;
      }
      // Named like the shared server, whose log scripts/test.sh prints when a run fails.
      const server = await startServer({ name: `shared-w${workerInfo.workerIndex}` });
      await use(server.baseURL);
      await server.stop();
    },
    { scope: 'worker' },
  ],

  // The global setup publishes the server's URL through the environment. The
  // specs that start servers of their own run beside the shared server's specs
  // (playwright.config.ts), so they get no default URL: each passes its own.
  // The second worker's specs get its demo server.
  baseURL: async ({ baseURL, workerServerURL }, use, testInfo) => {
    if (testInfo.project.metadata?.sharedServer === false) {
      await use(undefined);
      return;
    }
    await use(workerServerURL ?? process.env.KHAOSAT_BASE_URL ?? baseURL);
  },

  browserProblems: [
    async ({}, use) => {
      const problems = new BrowserProblems();
      await use(problems);
      problems.assertNoPageErrors();
    },
    { auto: true },
  ],

  accessibleAtTheEnd: [
    async ({ page, baseURL }, use, testInfo) => {
      await use();
      if (testInfo.status !== testInfo.expectedStatus || page.isClosed()) return;
      const base = baseURL ?? '';
      if (!base || !page.url().startsWith(base)) return;
      let serious;
      try {
        serious = await axeFindings(page, `${testInfo.title} (last state)`);
      } catch (error) {
        // A page mid-navigation or with its server stopped on purpose: nothing to check.
        console.log(`[axe] last state not checked: ${error}`);
        return;
      }
      expect(
        serious,
        `the last state of the test has serious or critical accessibility violations:\n${serious
          .map((f) => `${f.impact} ${f.id}: ${f.help}\n    at ${f.targets.join('\n    at ')}`)
          .join('\n')}`,
      ).toEqual([]);
    },
    { auto: true },
  ],

  context: async ({ context, browserProblems }, use) => {
    browserProblems.watch(context, 'default');
    await use(context);
  },

  newContext: async ({ browser, baseURL, locale, timezoneId, browserProblems }, use) => {
    const made: BrowserContext[] = [];
    await use(async (options = {}) => {
      const { label, ...contextOptions } = options;
      const context = await newWatchedContext(browser, browserProblems, label ?? `context${made.length + 1}`, {
        baseURL,
        locale,
        timezoneId,
        ...contextOptions,
      });
      made.push(context);
      return context;
    });
    for (const context of made) await context.close().catch(() => undefined);
  },
});

async function newWatchedContext(
  browser: Browser,
  problems: BrowserProblems,
  label: string,
  options: BrowserContextOptions,
): Promise<BrowserContext> {
  const context = await browser.newContext(options);
  problems.watch(context, label);
  return context;
}

/** A phone of the kind inspectors carry. */
export const PHONE: BrowserContextOptions = {
  viewport: { width: 360, height: 740 },
  isMobile: true,
  hasTouch: true,
  deviceScaleFactor: 2,
};

/** An office screen of the kind supervisors use. */
export const DESKTOP: BrowserContextOptions = {
  viewport: { width: 1280, height: 800 },
  isMobile: false,
  hasTouch: false,
};
