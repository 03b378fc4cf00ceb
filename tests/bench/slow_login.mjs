#!/usr/bin/env node
// The login page on a slow link (issue 17): 400 kbit/s down and up, 400 ms
// round trip, 4x slower CPU, a fresh profile. Prints when the page painted,
// when its form could be used without the app (the server's HTML holds a
// working form: the same moment as the paint), and when the app hydrated.
//
// Usage: node tests/bench/slow_login.mjs BASE_URL [--runs N]
// (a server: `khaosat serve --demo --site-root target/site --addr 127.0.0.1:3911`).
// Not a test: prints figures, exits 0; 1 when the page never hydrated.

import { launchChromium } from './browser.mjs';

const base = (process.argv[2] ?? 'http://127.0.0.1:3911').replace(/\/+$/, '');
const runsAt = process.argv.indexOf('--runs');
const runs = runsAt > 0 ? Number(process.argv[runsAt + 1]) : 3;
const KBIT = 400 * 1000 / 8;

const browser = await launchChromium();
const rows = [];
let failed = false;
for (let i = 0; i < runs; i += 1) {
  const context = await browser.newContext({ viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false, latency: 400, downloadThroughput: KBIT, uploadThroughput: KBIT,
  });
  await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 });
  const start = Date.now();
  await page.goto(`${base}/login`, { waitUntil: 'commit' });
  const form = page.locator('form[action="/api/auth/login"][method="post"] [name="username"]');
  await form.waitFor({ timeout: 120_000 });
  const usable = Date.now() - start;
  let hydrated = NaN;
  try {
    await page.locator('html[data-hydrated="true"]').waitFor({ state: 'attached', timeout: 180_000 });
    hydrated = Date.now() - start;
  } catch {
    failed = true;
  }
  const paint = await page.evaluate(() => {
    const p = performance.getEntriesByName('first-contentful-paint')[0];
    return p ? p.startTime : NaN;
  });
  rows.push({ paint, usable, hydrated });
  console.log(`run ${i + 1}: first paint ${paint.toFixed(0)} ms, form usable (plain HTML post) ${usable} ms, hydrated ${hydrated} ms`);
  await context.close();
}
await browser.close();
const median = (k) => [...rows.map((r) => r[k])].sort((a, b) => a - b)[Math.floor(rows.length / 2)];
console.log(`median: first paint ${median('paint').toFixed(0)} ms, form usable ${median('usable')} ms, hydrated ${median('hydrated')} ms`);
process.exit(failed ? 1 : 0);
