#!/usr/bin/env node
// Photo benchmarks in headless Chromium against a running release server, with
// the real field app:
//
// 1. bytes on the uplink after the phone's downscale vs the camera original, for
//    each photo in ../shared/bench/photos (and 2048 px, JPEG 0.8);
// 2. tus protocol overhead at the steady-state chunk size: bytes on the wire
//    (request line, headers, body of every /api/uploads request and the
//    answers' headers) minus the payload, over the payload;
// 3. a batch of visits with photos synced over a link throttled to 750 kbit/s
//    up (CDP network emulation): bytes / bandwidth against the measured time,
//    and the upload resuming after a cut (the page goes offline mid-upload).
//
// Usage: node tests/bench/photo_uplink.mjs BASE_URL [VISITS] [PHOTOS_PER_VISIT]
// (tests/bench/photos.sh starts a server and runs it). Not a test: prints figures.

import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { launchChromium } from './browser.mjs';

const base = (process.argv[2] ?? 'http://127.0.0.1:3914').replace(/\/+$/, '');
const VISITS = Number(process.argv[3] ?? 4);
const PER_VISIT = Number(process.argv[4] ?? 10);
const UP_BPS = 750_000 / 8;
const PHOTOS_DIR = new URL('../../../shared/bench/photos/', import.meta.url).pathname;
const photos = readdirSync(PHOTOS_DIR).filter((f) => /\.jpe?g$/i.test(f)).sort()
  .map((name) => ({ name, buffer: readFileSync(join(PHOTOS_DIR, name)) }));

const browser = await launchChromium();
const context = await browser.newContext({ viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true, baseURL: base,
  geolocation: { latitude: 21.27, longitude: 106.19, accuracy: 20 }, permissions: ['geolocation'] });
const page = await context.newPage();
const hydrated = () => page.waitForFunction(() => document.documentElement.dataset.hydrated === 'true', null, { timeout: 60_000 });
await page.goto('/login');
await hydrated();
await page.getByTestId('login-username').fill('ksv1');
await page.getByTestId('login-password').fill('khaosat-demo');
await page.getByTestId('login-submit').click();
await page.waitForURL((url) => url.pathname === '/');
await page.getByTestId('proposal-item').first().waitFor();
console.log(`server ${base}, Chromium ${browser.version()}, ${photos.length} photos from ${PHOTOS_DIR}`);

// Every upload request and answer, with the bytes each puts on the wire.
const wire = [];
page.on('requestfinished', async (request) => {
  if (!request.url().includes('/api/uploads')) return;
  const sizes = await request.sizes().catch(() => null);
  if (!sizes) return;
  wire.push({ method: request.method(), body: sizes.requestBodySize, headers: sizes.requestHeadersSize + sizes.responseHeadersSize + sizes.responseBodySize });
});

async function visitWithPhotos(files) {
  await page.goto('/');
  await hydrated();
  await page.getByTestId('start-visit').first().click();
  await page.waitForURL(/\/visits\//);
  const input = page.getByTestId('photo-input-gallery');
  await input.setInputFiles(files.map((p) => ({ name: p.name, mimeType: 'image/jpeg', buffer: p.buffer })));
  await page.waitForFunction((n) => document.querySelectorAll('[data-testid=photo-item]').length === n, files.length, { timeout: 120_000 });
  return page.url().split('/').pop();
}

async function syncUntilOk(expected, timeoutMs) {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    await page.getByTestId('sync-button').click({ timeout: 2_000 }).catch(() => {});
    await page.waitForTimeout(1_000);
    const states = await page.evaluate(async () => {
      const open = indexedDB.open('khaosat');
      const db = await new Promise((ok, fail) => { open.onsuccess = () => ok(open.result); open.onerror = fail; });
      const tx = db.transaction('photos');
      const all = await new Promise((ok) => { const r = tx.objectStore('photos').getAll(); r.onsuccess = () => ok(r.result); });
      db.close();
      return all.filter((v) => typeof v === 'string').map((v) => JSON.parse(v));
    });
    if (states.filter((p) => p.server_status === 'ok').length >= expected) return states;
  }
  throw new Error('photos did not all reach the server in time');
}

// 1 and 2: each bench photo once, unthrottled.
await visitWithPhotos(photos);
const local = await syncUntilOk(photos.length, 180_000);
console.log('\n| photo | camera file | sent after downscale | ratio |');
console.log('|---|---|---|---|');
for (const p of local.sort((a, b) => a.created_at_ms - b.created_at_ms)) {
  console.log(`| ${p.width}×${p.height} | ${p.original_size.toLocaleString('en')} B | ${p.size.toLocaleString('en')} B | 1/${(p.original_size / p.size).toFixed(1)} |`);
}
const patches = wire.filter((w) => w.method === 'PATCH');
const payload = patches.reduce((s, w) => s + w.body, 0);
const all = wire.reduce((s, w) => s + w.body + w.headers, 0);
const steady = patches.filter((w) => w.body >= 1024 * 1024);
const steadyPayload = steady.reduce((s, w) => s + w.body, 0);
const steadyWire = steady.reduce((s, w) => s + w.body + w.headers, 0);
console.log(`\ntus requests: ${wire.length} (${patches.length} PATCH); payload ${payload} B; on the wire ${all} B; overhead ${(100 * (all - payload) / payload).toFixed(2)} % overall`);
if (steady.length) console.log(`steady state (PATCH ≥ 1 MiB, ${steady.length} requests): overhead ${(100 * (steadyWire - steadyPayload) / steadyPayload).toFixed(3)} %`);

// 3: a batch of visits over 750 kbit/s up, cut once in the middle.
const cdp = await context.newCDPSession(page);
const batch = [];
for (let v = 0; v < VISITS; v += 1) {
  await page.context().setOffline(true);
  await visitWithPhotos(Array.from({ length: PER_VISIT }, (_, i) => photos[(v + i) % photos.length]));
  batch.push(v);
}
const before = await syncUntilOk(0, 1);
const target = before.filter((p) => p.server_status !== 'ok');
const bytes = target.reduce((s, p) => s + p.size, 0);
wire.length = 0;
await page.context().setOffline(false);
await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 150, downloadThroughput: 4_000_000 / 8, uploadThroughput: UP_BPS });
const t0 = Date.now();
// Cut the link once, a third of the way in, for 5 s (through the same CDP
// emulation, so the throttling comes back with the link).
const throttled = { offline: false, latency: 150, downloadThroughput: 4_000_000 / 8, uploadThroughput: UP_BPS };
setTimeout(async () => {
  await cdp.send('Network.emulateNetworkConditions', { ...throttled, offline: true });
  setTimeout(() => cdp.send('Network.emulateNetworkConditions', throttled), 5_000);
}, (bytes / UP_BPS) * 1000 / 3);
await syncUntilOk(photos.length + target.length, Math.max(600_000, (bytes / UP_BPS) * 4000));
const took = (Date.now() - t0) / 1000;
const ideal = bytes / UP_BPS;
const resumed = wire.filter((w) => w.method === 'HEAD').length;
console.log(`\nbatch: ${VISITS} visits × ${PER_VISIT} photos = ${target.length} photos, ${bytes} B after downscale`);
console.log(`750 kbit/s up: ideal ${ideal.toFixed(1)} s, took ${took.toFixed(1)} s (incl. a 5 s cut), ${(took / ideal).toFixed(2)}× bytes/bandwidth; ${resumed} HEAD (resumes)`);
await browser.close();
