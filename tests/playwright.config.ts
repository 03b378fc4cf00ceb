// Playwright for khaosat: the system's Chromium, one worker, our own server.
//
// Never `npx playwright install`: the browser is Debian's /usr/bin/chromium (override
// with CHROMIUM_PATH), and installs run with PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1.
// The global setup starts `khaosat serve --demo` (KHAOSAT_BIN, default
// target/release/khaosat) on a free port with a fresh data directory, or uses
// KHAOSAT_BASE_URL when that is already set.

import { defineConfig } from '@playwright/test';

const CI = Boolean(process.env.CI);

export default defineConfig({
  testDir: './e2e',
  testMatch: '**/*.spec.ts',
  outputDir: './test-results',
  globalSetup: './e2e/support/global-setup.ts',
  // The machine has 2 slow cores and the server is shared: one test at a time.
  workers: 1,
  fullyParallel: false,
  forbidOnly: CI,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 15_000 },
  reporter: [['list'], ['./e2e/support/summary-reporter.ts']],
  use: {
    browserName: 'chromium',
    baseURL: process.env.KHAOSAT_BASE_URL,
    headless: true,
    // Inspectors' phones in Bắc Giang.
    locale: 'vi-VN',
    timezoneId: 'Asia/Ho_Chi_Minh',
    actionTimeout: 15_000,
    navigationTimeout: 30_000,
    serviceWorkers: 'allow',
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
});
