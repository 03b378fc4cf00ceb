#!/usr/bin/env node
// The field app's speed in headless Chromium against a running release server:
//
// 1. offline start: a logged-in phone with the service worker in control, offline,
//    CPU throttled 4x (CDP Emulation.setCPUThrottlingRate), reloads "/": time from
//    navigation start to the app hydrated and the proposal list shown;
// 2. a 150-field form (published as a new version of the default form by the
//    administrator, fields with range, pattern and `relevant` rules): keystroke to
//    re-validated and re-rendered (input event dispatched, the app's effects run,
//    layout forced), without throttling and at 4x;
// 3. the explicit save transaction: click on "save" to the app saying "saved"
//    (draft, mutations and seq counter in one strict IndexedDB transaction).
//
// Usage: node tests/bench/field_app.mjs BASE_URL   (tests/bench/field_app.sh starts
// a server with the demo data and runs it). Not a test: prints figures, exits 0.

import { readFileSync } from 'node:fs';
import { request } from '@playwright/test';
import { launchChromium } from './browser.mjs';

const base = (process.argv[2] ?? 'http://127.0.0.1:3900').replace(/\/+$/, '');
const PASSWORD = 'khaosat-demo';

const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  return { n: s.length, median: at(0.5), p95: at(0.95), max: s[s.length - 1] };
};
const ms = (x) => `${x.toFixed(1)} ms`;
const show = (label, st) =>
  console.log(`${label}: n=${st.n} median=${ms(st.median)} p95=${ms(st.p95)} max=${ms(st.max)}`);

/** The default form plus generated fields up to 150, as a new version. */
function benchForm(version) {
  const form = JSON.parse(readFileSync(new URL('../../data/forms/khuyen-cong-v1.json', import.meta.url)));
  form.version = version;
  const count = () => form.sections.flatMap((s) => s.fields).length;
  const fields = [];
  for (let i = 0; count() + fields.length < 150; i += 1) {
    const key = `b_${String(i).padStart(3, '0')}`;
    const label = { vi: `Mục thử ${i}`, en: `Bench field ${i}` };
    if (i % 3 === 0) fields.push({ key, type: 'integer', label, min: 0, max: 100000 });
    else if (i % 3 === 1) fields.push({ key, type: 'text', label, max_length: 200, pattern: '[0-9A-Za-zÀ-ỹ ,.-]*' });
    else fields.push({ key, type: 'decimal', label, relevant: `b_000 > ${i}` });
  }
  form.sections.push({ key: 'bench', title: { vi: 'Mục thử', en: 'Bench' }, fields });
  return form;
}

async function publishBenchForm() {
  const api = await request.newContext({ baseURL: base, extraHTTPHeaders: { Origin: base } });
  const login = await api.post('/api/auth/login', { data: { username: 'quantri', password: PASSWORD, device_id: crypto.randomUUID() } });
  if (!login.ok()) throw new Error(`admin login: ${login.status()} ${await login.text()}`);
  const list = await (await api.post('/rpc/list_forms', { data: {} })).json();
  const next = Math.max(...list.filter((f) => f.id === 'khuyen-cong').map((f) => f.version)) + 1;
  const form = benchForm(next);
  const published = await api.post('/rpc/publish_form', { data: { definition: JSON.stringify(form) } });
  if (!published.ok()) throw new Error(`publish: ${published.status()} ${await published.text()}`);
  await api.dispose();
  return form.sections.flatMap((s) => s.fields).length;
}

async function hydrated(page) {
  await page.waitForFunction(() => document.documentElement.dataset.hydrated === 'true', null, { timeout: 60_000 });
}

const fieldCount = await publishBenchForm();
const browser = await launchChromium();
const context = await browser.newContext({ viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true, baseURL: base });
// Marks when the app hydrated and when the first proposal appeared, in the page's own clock.
await context.addInitScript(() => {
  const seen = () => {
    if (!window.__hydratedAt && document.documentElement.dataset.hydrated === 'true') window.__hydratedAt = performance.now();
    if (!window.__listAt && document.querySelector('[data-testid="proposal-item"]')) window.__listAt = performance.now();
  };
  new MutationObserver(seen).observe(document, { subtree: true, childList: true, attributes: true });
});
const page = await context.newPage();
await page.goto('/login');
await hydrated(page);
await page.getByTestId('login-username').fill('ksv1');
await page.getByTestId('login-password').fill(PASSWORD);
await page.getByTestId('login-submit').click();
await page.waitForURL((url) => url.pathname === '/');
await page.getByTestId('proposal-item').first().waitFor();
await page.evaluate(() => navigator.serviceWorker.ready);
if (!(await page.evaluate(() => navigator.serviceWorker.controller !== null))) await page.reload();
await page.getByTestId('proposal-item').first().waitFor();

const cdp = await context.newCDPSession(page);
console.log(`server ${base}, Chromium ${browser.version()}, form of ${fieldCount} fields`);

// 1. Offline start, 4x CPU throttling.
await context.setOffline(true);
await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 });
const starts = [];
const lists = [];
for (let i = 0; i < 7; i += 1) {
  await page.reload();
  await page.waitForFunction(() => window.__hydratedAt && window.__listAt, null, { timeout: 60_000 });
  const [h, l] = await page.evaluate(() => [window.__hydratedAt, window.__listAt]);
  starts.push(h);
  lists.push(l);
}
await cdp.send('Emulation.setCPUThrottlingRate', { rate: 1 });
show('offline start, 4x CPU: navigation to hydrated', stats(starts));
show('offline start, 4x CPU: navigation to proposal list shown', stats(lists));

// 2. The 150-field form (the new version came with the last pull before going offline).
await context.setOffline(false);
await page.goto('/');
await hydrated(page);
await page.getByTestId('sync-button').click();
await page.waitForFunction(() => document.querySelector('[data-testid="sync-status"]')?.dataset.state === 'ok', null, { timeout: 30_000 });
await page.getByTestId('start-visit').first().click();
await page.waitForURL(/\/visits\//);
await page.getByTestId('field-b_000').waitFor();
const rendered = await page.locator('[data-testid="visit-form"] .field').count();
const keystrokes = async (rate) => {
  await cdp.send('Emulation.setCPUThrottlingRate', { rate });
  const times = await page.evaluate(async () => {
    const el = document.querySelector('[data-testid="field-b_000"]');
    const tick = () => new Promise((done) => { const c = new MessageChannel(); c.port1.onmessage = () => done(); c.port2.postMessage(0); });
    const out = [];
    for (let i = 0; i < 60; i += 1) {
      const t0 = performance.now();
      el.value = String(i % 2 === 0 ? 5 + i : 200 + i); // shows and hides the `relevant` fields
      el.dispatchEvent(new Event('input', { bubbles: true }));
      await tick(); // the app's scheduled effects run before this task
      void document.body.offsetHeight; // layout of what changed
      out.push(performance.now() - t0);
      await new Promise((done) => requestAnimationFrame(() => setTimeout(done, 0)));
    }
    return out;
  });
  await cdp.send('Emulation.setCPUThrottlingRate', { rate: 1 });
  return times;
};
console.log(`visit form rendered with ${rendered} fields`);
show('keystroke to re-validated and re-rendered (150-field form, no throttling)', stats(await keystrokes(1)));
show('keystroke to re-validated and re-rendered (150-field form, 4x CPU)', stats(await keystrokes(4)));

// 3. Explicit save: one changed field per save, so each save writes one mutation.
const saves = [];
for (let i = 0; i < 15; i += 1) {
  await page.getByTestId('field-b_001').fill(`Lần ${i}`);
  saves.push(await page.evaluate(async () => {
    const status = document.querySelector('[data-testid="save-status"]');
    const done = new Promise((resolve) => {
      const observer = new MutationObserver(() => {
        if (status.dataset.state === 'saved' || status.dataset.state === 'error') {
          observer.disconnect();
          resolve(performance.now());
        }
      });
      observer.observe(status, { attributes: true });
    });
    const t0 = performance.now();
    document.querySelector('[data-testid="save-button"]').click();
    const t1 = await done;
    if (status.dataset.state !== 'saved') throw new Error('save failed');
    return t1 - t0;
  }));
}
show('explicit save, click to "saved" (strict IndexedDB transaction)', stats(saves));
await browser.close();
