// Playwright for khaosat: the system's Chromium, two workers, our own servers.
//
// Never `npx playwright install`: the browser is Debian's /usr/bin/chromium (override
// with CHROMIUM_PATH), and installs run with PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1.
// The global setup starts `khaosat serve --demo` (KHAOSAT_BIN, default
// target/release/khaosat) on a free port with a fresh data directory, or uses
// KHAOSAT_BASE_URL when that is already set.

import { defineConfig } from '@playwright/test';
import { CHROMIUM_ARGS } from './bench/browser.mjs';

const CI = Boolean(process.env.CI);

// Specs that start servers of their own (and never use the shared one) run
// beside the specs on the shared demo server, one of each at a time. Specs on the
// shared server expect its data as the specs before them left it, so they never
// overlap each other.
const OWN_SERVER_SPECS = [
  '**/a_2026_year_from_register_to_plan.spec.ts',
  '**/a_closed_year_keeps_what_the_phone_saved.spec.ts',
  '**/a_moved_facility_takes_its_proposal.spec.ts',
  '**/api_fuzz.spec.ts',
  '**/app_update_waits_for_consent.spec.ts',
  '**/forms_come_from_a_spreadsheet.spec.ts',
  '**/office_links_lead_where_the_account_may_go.spec.ts',
  '**/reload_offline_after_server_stops.spec.ts',
  '**/release_update_is_a_delta.spec.ts',
  '**/two_servers_behind_a_tls_proxy.spec.ts',
];

// Specs on a demo server of their worker's own, in the second worker beside
// the shared server's: the shared server's specs had grown to three times the
// own-server specs' time, so the second worker sat idle for two thirds of the
// run. Still one spec at a time per server, as on the shared one.
const SECOND_SERVER_SPECS = [
  '**/a_change_typed_just_before_leaving_is_kept.spec.ts',
  '**/a_phone_ahead_whose_pull_was_lost_leaves_the_later_answer.spec.ts',
  '**/a_photo_field_stops_at_its_limit.spec.ts',
  '**/a_photo_not_uploaded_is_told_at_logout.spec.ts',
  '**/a_tab_closed_mid_batch_keeps_its_photos_listed.spec.ts',
  '**/a_visit_finalized_on_another_phone_keeps_what_this_one_took.spec.ts',
  '**/admin_and_logout.spec.ts',
  '**/kept_changes_of_a_finalized_visit_can_be_discarded.spec.ts',
  '**/leave_a_visit_while_its_photo_is_stored.spec.ts',
  '**/photos_added_and_removed_on_two_phones_at_once_all_count.spec.ts',
];

export default defineConfig({
  testDir: './e2e',
  testMatch: '**/*.spec.ts',
  outputDir: './test-results',
  globalSetup: './e2e/support/global-setup.ts',
  // Two slow cores: one spec on the shared server and one on another server
  // (its own, or the second worker's) at a time. A third group (the shared specs in two halves, two demo servers)
  // was no faster and timed out: the cores are busy (BENCHMARKS.md).
  workers: 2,
  fullyParallel: false,
  projects: [
    { name: 'shared-server', testIgnore: [...OWN_SERVER_SPECS, ...SECOND_SERVER_SPECS], workers: 1 },
    // No shared server here (fixtures.ts): a relative URL fails instead of
    // reaching the shared server while another spec uses it.
    { name: 'own-servers', testMatch: OWN_SERVER_SPECS, workers: 1, metadata: { sharedServer: false } },
    // Its worker's own demo server (fixtures.ts), started once per worker.
    { name: 'second-server', testMatch: SECOND_SERVER_SPECS, workers: 1, metadata: { sharedServer: 'worker' } },
  ],
  forbidOnly: CI,
  // A test that fails runs once more, recording a trace, and the run fails
  // all the same (`failOnFlakyTests`): a pass on the second try is a flake to
  // mend, never a pass. Recording a trace on every run ('retain-on-failure')
  // took half of Chromium's time and made the suite 40 % longer
  // (BENCHMARKS.md, "Traces only when a test fails").
  retries: 1,
  failOnFlakyTests: true,
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
    trace: 'on-first-retry',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: CHROMIUM_ARGS,
    },
  },
});
