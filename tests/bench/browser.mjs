// Debian's Chromium as the benchmarks and the end-to-end suite
// (playwright.config.ts) launch it: headless, with the flags the project's
// guide names for tests (no sandbox, GPU, QUIC or background traffic).
// CHROMIUM_PATH points at another binary.

import { chromium } from '@playwright/test';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A headless Chromium for a benchmark. */
export function launchChromium() {
  return chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
}
