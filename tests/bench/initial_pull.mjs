#!/usr/bin/env node
// Time for an inspector's first sync: from the login submit until the phone holds every
// proposal and facility of its units in IndexedDB.
//
// One file (about 710 lines): a benchmark others run by hand, so it carries its own
// server set-up, browser driving and report rather than importing them.
//
// Usage: node tests/bench/initial_pull.mjs [--bin target/server-release/khaosat]
//          [--site-root target/site] [--proposals 10000] [--district 213] [--user ksv1]
//          [--password khaosat-demo] [--runs 3] [--port PORT] [--timeout 120000]
//          [--list-timeout 60000] [--goal-ms 5000] [--pages] [--keep] [--json FILE]
//          [--scroll-cards 1000] [--cpu 4]
//   e.g. (from the repository root) node tests/bench/initial_pull.mjs
//
// The script prepares its own server: a temporary data directory, `khaosat bulk-demo`
// (the demo plus N facilities with one proposal each in the district, which demo
// inspector ksv1 covers), then `khaosat serve` on a loopback port, ready once
// GET /api/health answers ok. Relative --bin and --site-root are taken from the
// repository root. At the end the server is stopped and the data removed (--keep keeps it).
//
// Each run is a fresh browser context (Playwright: a new, empty profile, so no IndexedDB,
// no Cache Storage, no service worker; checked before the login). It opens /login, waits
// for html[data-hydrated="true"], fills the form and clicks submit. The clock starts at
// that click (taken in the page, capture phase) and stops at the header's
// [data-testid=sync-status] data-state="ok" transition after which IndexedDB (database
// `khaosat`, stores `proposals` and `facilities`, keys "{user_id}:…") holds at least N of
// each for the logged-in user. If a sync reports ok with fewer records, the script keeps
// waiting (the app may sync again) up to --timeout. Every `/api/sync/pull` response is
// timed with Playwright's resource timing: server wait (request sent → first byte),
// download (first → last byte), and the client's gap before the next pull (parse, the
// IndexedDB transaction, the clock merge). Finally, separately, the time until the home
// list shows N proposal items (the app reloads its rows after the sync is ok).
//
// With --scroll-cards N, each run then measures the list as an inspector uses it on
// a slow phone: the CPU throttled --cpu times (DevTools' Emulation.setCPUThrottlingRate),
// "Hiện thêm" clicked until N cards are drawn (each click timed until its cards are in
// the DOM), then the page scrolled from top to bottom 600 px per animation frame (a
// fling) while every frame's duration is recorded: median, p95 and longest frame, and
// how many frames missed 60 fps (> 16.7 ms) and 30 fps (> 33.3 ms). The cards drawn
// and the distance scrolled are checked, so a list that drew less cannot look faster.
//
// Not a test: it prints per-run tables, a markdown table for BENCHMARKS.md and whether
// the goal is met, and exits 0; 1 only when a run's sync never completed.

import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, accessSync, constants } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium } from './browser.mjs';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** A phone of the kind inspectors carry (as in tests/e2e/support/fixtures.ts). */
const PHONE = { viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };

const USAGE =
  'usage: node tests/bench/initial_pull.mjs [--bin PATH] [--site-root DIR] [--proposals N] [--district CODE] ' +
  '[--user NAME] [--password PW] [--runs 3] [--port PORT] [--timeout MS] [--list-timeout MS] [--goal-ms MS] ' +
  '[--pages] [--keep] [--json FILE] [--scroll-cards N] [--cpu 4]';

function parseArgs(argv) {
  const options = {
    bin: 'target/server-release/khaosat',
    siteRoot: 'target/site',
    proposals: 10_000,
    district: '213',
    user: 'ksv1',
    password: 'khaosat-demo',
    runs: 3,
    port: undefined,
    timeout: 120_000,
    listTimeout: 60_000,
    goalMs: 5_000,
    pages: true,
    keep: false,
    json: undefined,
    scrollCards: 0,
    cpu: 4,
  };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${arg} needs a value`);
      i += 1;
      return argv[i];
    };
    const number = () => {
      const n = Number(value());
      if (!Number.isFinite(n) || n < 0) throw new Error(`${arg} needs a number`);
      return n;
    };
    if (arg === '--bin') options.bin = value();
    else if (arg === '--site-root') options.siteRoot = value();
    else if (arg === '--proposals') options.proposals = number();
    else if (arg === '--district') options.district = value();
    else if (arg === '--user') options.user = value();
    else if (arg === '--password') options.password = value();
    else if (arg === '--runs') options.runs = Math.max(1, Math.floor(number()));
    else if (arg === '--port') options.port = number();
    else if (arg === '--timeout') options.timeout = number();
    else if (arg === '--list-timeout') options.listTimeout = number();
    else if (arg === '--goal-ms') options.goalMs = number();
    else if (arg === '--pages') options.pages = true;
    else if (arg === '--no-pages') options.pages = false;
    else if (arg === '--keep') options.keep = true;
    else if (arg === '--json') options.json = value();
    else if (arg === '--scroll-cards') options.scrollCards = Math.floor(number());
    else if (arg === '--cpu') options.cpu = Math.max(1, number());
    else if (arg === '-h' || arg === '--help') {
      console.log(USAGE);
      process.exit(0);
    } else {
      console.error(`unknown argument ${arg}\n${USAGE}`);
      process.exit(64);
    }
  }
  options.bin = resolve(REPO_ROOT, options.bin);
  options.siteRoot = resolve(REPO_ROOT, options.siteRoot);
  return options;
}

const sleep = (ms) => new Promise((done) => setTimeout(done, ms));
const ms = (value) => (value === undefined || value === null || Number.isNaN(value) ? '-' : `${Math.round(value)} ms`);
const secs = (value) => (value === undefined || value === null || Number.isNaN(value) ? '-' : `${(value / 1000).toFixed(2)} s`);
const kb = (bytes) => (bytes === undefined ? '-' : `${(bytes / 1024).toFixed(0)} KB`);
const int = (n) => (n === undefined ? '-' : n.toLocaleString('en-US'));

function median(values) {
  const sorted = values.filter((v) => typeof v === 'number' && !Number.isNaN(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return undefined;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function printTable(heads, rows, rightAligned = () => true) {
  const widths = heads.map((head, c) => Math.max(head.length, ...rows.map((r) => String(r[c]).length)));
  const line = (cells) =>
    cells.map((cell, c) => (rightAligned(c) ? String(cell).padStart(widths[c]) : String(cell).padEnd(widths[c]))).join('  ');
  console.log(`  ${line(heads)}`);
  for (const row of rows) console.log(`  ${line(row)}`);
}

// ---------------------------------------------------------------- server

async function freePort() {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolvePort(port));
    });
  });
}

function tail(file, lines = 30) {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Runs the binary to completion, output to the log; resolves with the exit code. */
function runToEnd(bin, args, env, logFile) {
  return new Promise((done, reject) => {
    const log = createWriteStream(logFile, { flags: 'a' });
    const child = spawn(bin, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pipe(log, { end: false });
    child.stderr.pipe(log, { end: false });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      log.end();
      done(code ?? signal);
    });
  });
}

async function healthy(baseURL) {
  try {
    const response = await fetch(`${baseURL}/api/health`, { signal: AbortSignal.timeout(2_000) });
    if (!response.ok) return false;
    const body = await response.json();
    return body.status === 'ok';
  } catch {
    return false;
  }
}

async function startServer(options, dataDir, logFile) {
  const port = options.port ?? (await freePort());
  const baseURL = `http://127.0.0.1:${port}`;
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(options.bin, ['serve', '--addr', `127.0.0.1:${port}`, '--data-dir', dataDir], {
    cwd: REPO_ROOT,
    env: { ...process.env, LEPTOS_SITE_ROOT: options.siteRoot },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  const reap = () => child.kill('SIGKILL');
  process.once('exit', reap);
  const exited = () =>
    child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((done) => child.once('exit', () => done()));
  const deadline = Date.now() + 60_000;
  while (!(await healthy(baseURL))) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`khaosat serve exited (${child.exitCode ?? child.signalCode}) before it was healthy; log ${logFile}:\n${tail(logFile)}`);
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      await exited();
      throw new Error(`khaosat serve was not healthy at ${baseURL}/api/health within 60 s; log ${logFile}:\n${tail(logFile)}`);
    }
    await sleep(200);
  }
  return {
    baseURL,
    pid: child.pid,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited();
        clearTimeout(timer);
      }
      process.removeListener('exit', reap);
    },
  };
}

// ---------------------------------------------------------------- page side

/**
 * Runs in every document of the context before the app: reports each change of the sync
 * status (and the login click) to the bench with the page's clock, so transitions are
 * seen even when they are shorter than any polling interval.
 */
function pageProbe() {
  let last;
  const report = () => {
    const el = document.querySelector('[data-testid="sync-status"]');
    const state = el ? el.getAttribute('data-state') : null;
    if (state !== last) {
      last = state;
      window.__benchEvent?.({ kind: 'sync-state', state, t: Date.now() });
    }
  };
  new MutationObserver(report).observe(document, {
    subtree: true,
    childList: true,
    attributes: true,
    attributeFilter: ['data-state'],
  });
  document.addEventListener(
    'click',
    (event) => {
      const target = event.target instanceof Element ? event.target.closest('[data-testid="login-submit"]') : null;
      if (target) window.__benchEvent?.({ kind: 'login-click', t: Date.now() });
    },
    true,
  );
}

/**
 * Counts the records in the app's IndexedDB without ever creating the database: the
 * list comes first, and an open that would create it is aborted in onupgradeneeded.
 */
async function countIdb() {
  const list = typeof indexedDB.databases === 'function' ? await indexedDB.databases() : [];
  const names = list.map((d) => d.name);
  if (!names.includes('khaosat')) return { exists: false, databases: names, proposals: 0, facilities: 0 };
  const db = await new Promise((done, fail) => {
    const request = indexedDB.open('khaosat');
    request.onupgradeneeded = () => request.transaction.abort();
    request.onsuccess = () => done(request.result);
    request.onerror = () => fail(request.error);
  });
  try {
    const wanted = ['meta', 'proposals', 'facilities', 'units', 'forms', 'visits'].filter((s) => db.objectStoreNames.contains(s));
    const tx = db.transaction(wanted, 'readonly');
    const req = (r) => new Promise((done, fail) => ((r.onsuccess = () => done(r.result)), (r.onerror = () => fail(r.error))));
    const session = wanted.includes('meta') ? await req(tx.objectStore('meta').get('session')) : undefined;
    const userId = session ? JSON.parse(session).user.id : undefined;
    const range = userId ? IDBKeyRange.bound(`${userId}:`, `${userId}:\uffff`) : undefined;
    const count = async (store, mine) => (wanted.includes(store) ? req(tx.objectStore(store).count(mine ? range : undefined)) : 0);
    const cursor = userId && wanted.includes('meta') ? await req(tx.objectStore('meta').get(`cursor:${userId}`)) : undefined;
    return {
      exists: true,
      version: db.version,
      stores: [...db.objectStoreNames],
      userId,
      cursor: cursor === undefined ? undefined : JSON.parse(cursor),
      proposals: userId ? await count('proposals', true) : 0,
      facilities: userId ? await count('facilities', true) : 0,
      proposalsAll: await count('proposals', false),
      facilitiesAll: await count('facilities', false),
      units: await count('units', false),
      forms: await count('forms', false),
      visits: await count('visits', false),
    };
  } finally {
    db.close();
  }
}

// ---------------------------------------------------------------- one run

async function oneRun(browser, options, baseURL, index) {
  const context = await browser.newContext(PHONE);
  const page = await context.newPage();
  const events = [];
  const problems = [];
  const pulls = [];
  let loginResponseAt;
  await context.exposeFunction('__benchEvent', (event) => events.push(event));
  await context.addInitScript(pageProbe);

  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') problems.push(`console.${message.type()}: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`pageerror: ${error.stack ?? error.message}`));
  page.on('response', (response) => {
    const url = response.url();
    if (url.includes('/api/auth/login')) loginResponseAt ??= Date.now();
    if (!url.includes('/api/sync/pull')) return;
    const row = { url, status: response.status(), respondedAt: Date.now(), request: response.request() };
    pulls.push(row);
    row.done = (async () => {
      try {
        const body = await response.body();
        row.bytes = body.length;
        try {
          const json = JSON.parse(body.toString('utf8'));
          row.changes = Array.isArray(json.changes) ? json.changes.length : undefined;
          row.hasMore = json.has_more;
          row.cursorOut = json.cursor;
        } catch {
          // not JSON (an error page): keep the size
        }
      } catch (error) {
        row.bodyError = error.message;
      }
      try {
        // Resolves once the request finished: the body's size as received (encoded).
        row.wireBytes = (await response.request().sizes()).responseBodySize;
      } catch {
        // gone with the context
      }
    })();
  });

  const result = { run: index, completed: false, problems };
  try {
    await page.goto(`${baseURL}/login`, { timeout: 60_000 });
    await page.locator('html[data-hydrated="true"]').waitFor({ state: 'attached', timeout: 60_000 });
    result.idbBefore = await page.evaluate(countIdb);
    result.freshStorage = !result.idbBefore.exists || (result.idbBefore.proposals === 0 && result.idbBefore.proposalsAll === 0 && result.idbBefore.facilitiesAll === 0);

    await page.getByTestId('login-username').fill(options.user);
    await page.getByTestId('login-password').fill(options.password);
    const nodeClickAt = Date.now();
    await page.getByTestId('login-submit').click();
    // The page reports the click through a binding: give it a moment to arrive.
    for (let i = 0; i < 40 && !events.some((e) => e.kind === 'login-click'); i += 1) await sleep(25);
    const t0 = events.find((e) => e.kind === 'login-click')?.t ?? nodeClickAt;
    result.clickSource = events.some((e) => e.kind === 'login-click') ? 'page' : 'node';
    result.t0 = t0;

    // Wait for an ok after which IndexedDB holds the records.
    const deadline = t0 + options.timeout;
    let checkedOk = 0;
    let lastCounts;
    while (Date.now() < deadline) {
      const states = events.filter((e) => e.kind === 'sync-state');
      const current = states.at(-1);
      const oks = states.filter((e) => e.state === 'ok');
      const newestOk = oks.at(-1);
      if (current?.state === 'ok' && newestOk && (newestOk.t > checkedOk || Date.now() - checkedOk > 500)) {
        checkedOk = Math.max(newestOk.t, Date.now());
        lastCounts = await page.evaluate(countIdb).catch((error) => ({ error: error.message }));
        if (lastCounts.proposals >= options.proposals && lastCounts.facilities >= options.proposals) {
          result.completed = true;
          result.okAt = newestOk.t;
          break;
        }
      }
      await sleep(50);
    }
    result.counts = lastCounts ?? (await page.evaluate(countIdb).catch((error) => ({ error: error.message })));
    result.states = events.filter((e) => e.kind === 'sync-state').map((e) => ({ state: e.state, at: e.t - t0 }));
    result.loginResponse = loginResponseAt === undefined ? undefined : loginResponseAt - t0;

    if (result.completed) {
      result.total = result.okAt - t0;
      // What the inspector sees: the home list reloads its rows after the sync.
      const listDeadline = Date.now() + options.listTimeout;
      while (Date.now() < listDeadline) {
        // The list draws 100 cards at a time (issue 17) with a "show more"
        // button once it holds more: all rows are loaded when the first page
        // is drawn and the button says how many are left.
        const { shown, more } = await page
          .evaluate(() => ({
            shown: document.querySelectorAll('[data-testid="proposal-item"]').length,
            more: document.querySelector('[data-testid="show-more-proposals"]') !== null,
          }))
          .catch(() => ({ shown: 0, more: false }));
        result.listItems = shown;
        const page_ = Math.min(options.proposals, 100);
        if (shown >= page_ && (options.proposals <= 100 || more)) {
          result.listShown = Date.now() - t0;
          break;
        }
        await sleep(100);
      }
    }

    if (result.listShown !== undefined && options.scrollCards > 0) {
      result.scroll = await scrollFrames(page, options);
    }

    await Promise.all(pulls.map((row) => row.done));
    result.pulls = pulls.map((row) => {
      const timing = row.request.timing();
      const start = timing.startTime;
      const rel = (v) => (v >= 0 ? v : undefined);
      return {
        cursorIn: new URL(row.url).searchParams.get('cursor'),
        status: row.status,
        bytes: row.bytes,
        wireBytes: row.wireBytes,
        changes: row.changes,
        hasMore: row.hasMore,
        startAt: start - t0,
        serverWait: rel(timing.responseStart) !== undefined && rel(timing.requestStart) !== undefined ? timing.responseStart - timing.requestStart : undefined,
        download: rel(timing.responseEnd) !== undefined && rel(timing.responseStart) !== undefined ? timing.responseEnd - timing.responseStart : undefined,
        endAt: rel(timing.responseEnd) !== undefined ? start + timing.responseEnd - t0 : row.respondedAt - t0,
      };
    });
    result.pulls.forEach((row, i) => {
      const next = result.pulls[i + 1];
      if (next) row.clientGap = next.startAt - row.endAt;
      else if (result.okAt !== undefined) row.clientGap = result.okAt - t0 - row.endAt;
    });
    const sum = (key) => result.pulls.reduce((s, r) => s + (r[key] ?? 0), 0);
    result.pullCount = result.pulls.length;
    result.pullBytes = sum('bytes');
    result.pullWireBytes = result.pulls.every((r) => r.wireBytes !== undefined) ? sum('wireBytes') : undefined;
    result.serverSum = sum('serverWait');
    result.downloadSum = sum('download');
    result.clientSum = sum('clientGap');
    result.firstPull = result.pulls[0]?.endAt;
    result.lastPull = result.pulls.at(-1)?.endAt;
    result.beforeFirstPull = result.pulls[0]?.startAt;
  } finally {
    await context.close().catch(() => undefined);
  }
  return result;
}

/** "Show more" until N cards, then a fling to the bottom, frames timed (see the top). */
async function scrollFrames(page, options) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Emulation.setCPUThrottlingRate', { rate: options.cpu });
  const count = () => page.evaluate(() => document.querySelectorAll('[data-testid="proposal-item"]').length);
  const clicks = [];
  try {
    let shown = await count();
    while (shown < options.scrollCards) {
      const more = page.getByTestId('show-more-proposals');
      if ((await more.count()) === 0) break;
      const started = Date.now();
      await more.click();
      const want = shown + 1;
      while ((shown = await count()) < want) await sleep(10);
      clicks.push(Date.now() - started);
    }
    const frames = await page.evaluate(
      () =>
        new Promise((done) => {
          window.scrollTo(0, 0);
          const deltas = [];
          let last = performance.now();
          const start = window.scrollY;
          const step = () => {
            const now = performance.now();
            deltas.push(now - last);
            last = now;
            const bottom = document.documentElement.scrollHeight - window.innerHeight;
            if (window.scrollY >= bottom - 1) {
              done({ deltas: deltas.slice(1), distance: window.scrollY - start, height: document.documentElement.scrollHeight });
              return;
            }
            window.scrollBy(0, 600);
            requestAnimationFrame(step);
          };
          requestAnimationFrame(step);
        }),
    );
    const sorted = [...frames.deltas].sort((a, b) => a - b);
    const pct = (p) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))];
    return {
      cards: await count(),
      clicks,
      frames: sorted.length,
      distance: frames.distance,
      height: frames.height,
      median: pct(0.5),
      p95: pct(0.95),
      max: sorted.at(-1),
      over16: sorted.filter((d) => d > 1000 / 60).length,
      over33: sorted.filter((d) => d > 1000 / 30).length,
    };
  } finally {
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: 1 }).catch(() => undefined);
  }
}

function printRun(result, options) {
  console.log(`\nrun ${result.run}: ${result.completed ? `sync complete after ${secs(result.total)}` : `sync NOT complete within ${options.timeout} ms`}`);
  const before = result.idbBefore;
  console.log(
    `  IndexedDB before login: ${before ? (before.exists ? `database exists (v${before.version}), ${before.proposalsAll} proposals, ${before.facilitiesAll} facilities` : 'no khaosat database yet') : '?'}` +
      ` → ${result.freshStorage ? 'fresh' : 'NOT FRESH'}`,
  );
  const c = result.counts ?? {};
  console.log(
    `  IndexedDB after: ${c.error ? `error ${c.error}` : `proposals ${int(c.proposals)}, facilities ${int(c.facilities)} (user ${c.userId}), units ${c.units}, forms ${c.forms}, visits ${c.visits}, cursor ${c.cursor}`}`,
  );
  console.log(`  sync-status transitions (ms after submit): ${(result.states ?? []).map((s) => `${s.state}@${Math.round(s.at)}`).join(' → ') || '(none)'}`);
  console.log(
    `  login response ${ms(result.loginResponse)}, first pull sent ${ms(result.beforeFirstPull)}, first pull response ${ms(result.firstPull)}, ` +
      `last pull response ${ms(result.lastPull)}, ok ${ms(result.total)}, home list shows ${int(result.listItems)} items` +
      (result.listShown !== undefined ? ` at ${ms(result.listShown)}` : ` (not ${int(options.proposals)} within ${options.listTimeout} ms)`),
  );
  console.log(
    `  pulls ${result.pullCount}, ${kb(result.pullBytes)} JSON (${kb(result.pullWireBytes)} on the wire); ` +
      `Σ server wait ${ms(result.serverSum)}, Σ download ${ms(result.downloadSum)}, Σ client gaps (parse + IndexedDB + clock) ${ms(result.clientSum)}`,
  );
  if (options.pages && result.pulls?.length) {
    printTable(
      ['#', 'cursor', 'status', 'changes', 'JSON bytes', 'sent at', 'server wait', 'download', 'response end', 'client gap after'],
      result.pulls.map((p, i) => [
        i + 1,
        p.cursorIn,
        p.status,
        p.changes ?? '-',
        int(p.bytes),
        ms(p.startAt),
        ms(p.serverWait),
        ms(p.download),
        ms(p.endAt),
        ms(p.clientGap),
      ]),
    );
  }
  if (result.problems.length) {
    console.log(`  browser console (${result.problems.length} errors/warnings):`);
    for (const line of result.problems.slice(0, 20)) console.log(`    ${line}`);
  }
  if (result.scroll) {
    const f = result.scroll;
    console.log(
      `  scroll at ${options.cpu}× CPU: ${int(f.cards)} cards drawn (${f.clicks.length} "Hiện thêm" clicks, median ${ms(median(f.clicks))}, ` +
        `longest ${ms(Math.max(0, ...f.clicks))}); fling of ${int(Math.round(f.distance))} px in ${f.frames} frames: ` +
        `median ${ms(f.median)}, p95 ${ms(f.p95)}, longest ${ms(f.max)}, ${f.over16} frames > 16.7 ms, ${f.over33} > 33.3 ms`,
    );
    if (f.cards < options.scrollCards) console.log(`  NOTE: only ${f.cards} of ${options.scrollCards} cards were drawn`);
  }
}

// ---------------------------------------------------------------- main

async function main() {
  const options = parseArgs(process.argv.slice(2));
  try {
    accessSync(options.bin, constants.X_OK);
  } catch {
    console.error(`khaosat binary not found or not executable at ${options.bin}`);
    process.exit(1);
  }
  if (!existsSync(options.siteRoot)) console.warn(`warning: site root ${options.siteRoot} does not exist`);

  const runDir = mkdtempSync(join(tmpdir(), 'khaosat-bench-pull-'));
  const dataDir = join(runDir, 'data');
  mkdirSync(dataDir);
  const logFile = join(runDir, 'server.log');
  let server;
  let browser;
  const results = [];
  let bulkMs;
  const cleanup = async () => {
    await browser?.close().catch(() => undefined);
    await server?.stop().catch(() => undefined);
    if (options.keep) console.log(`\nkept ${runDir} (data ${dataDir}, log ${logFile})`);
    else rmSync(runDir, { recursive: true, force: true });
  };
  process.once('SIGINT', () => {
    cleanup().finally(() => process.exit(130));
  });

  try {
    const bulkStart = Date.now();
    const code = await runToEnd(
      options.bin,
      ['bulk-demo', '--proposals', String(options.proposals), '--district', options.district, '--data-dir', dataDir],
      { ...process.env, LEPTOS_SITE_ROOT: options.siteRoot },
      logFile,
    );
    bulkMs = Date.now() - bulkStart;
    if (code !== 0) throw new Error(`bulk-demo failed (${code}); log ${logFile}:\n${tail(logFile)}`);
    const bulkLine = tail(logFile, 50).split('\n').find((l) => l.startsWith('added ')) ?? '';
    server = await startServer(options, dataDir, logFile);
    console.log(`bulk-demo --proposals ${options.proposals} --district ${options.district}: ${secs(bulkMs)} (${bulkLine.trim()})`);
    console.log(`server pid ${server.pid} at ${server.baseURL}, data ${dataDir}`);

    browser = await launchChromium();
    console.log(`chromium ${browser.version()}, phone viewport 360×740, ${options.runs} fresh contexts, user ${options.user}, N = ${options.proposals}`);
    for (let run = 1; run <= options.runs; run += 1) {
      const result = await oneRun(browser, options, server.baseURL, run);
      results.push(result);
      printRun(result, options);
    }
  } finally {
    await cleanup();
  }

  const done = results.filter((r) => r.completed);
  const med = (key) => median(done.map((r) => r[key]));
  const row = (label, r) => [
    label,
    secs(r.total),
    ms(r.loginResponse),
    ms(r.firstPull),
    ms(r.lastPull),
    r.pullCount ?? '-',
    typeof r.pullBytes === 'number' ? `${(r.pullBytes / 1024 / 1024).toFixed(2)} MB` : '-',
    ms(r.serverSum),
    ms(r.downloadSum),
    ms(r.clientSum),
    r.counts ? `${int(r.counts.proposals)} / ${int(r.counts.facilities)}` : '-',
    secs(r.listShown),
  ];
  const heads = [
    'run',
    'submit → ok + IDB ≥ N',
    'login resp.',
    '1st pull resp.',
    'last pull resp.',
    'pulls',
    'pull JSON',
    'Σ server wait',
    'Σ download',
    'Σ client gaps',
    'IDB proposals / facilities',
    'list shows N',
  ];
  const rows = results.map((r) => row(String(r.run), r));
  const medianRow = [
    'median',
    secs(med('total')),
    ms(med('loginResponse')),
    ms(med('firstPull')),
    ms(med('lastPull')),
    med('pullCount') ?? '-',
    med('pullBytes') !== undefined ? `${(med('pullBytes') / 1024 / 1024).toFixed(2)} MB` : '-',
    ms(med('serverSum')),
    ms(med('downloadSum')),
    ms(med('clientSum')),
    '',
    secs(med('listShown')),
  ];

  console.log(`\ninitial pull of ${options.proposals} proposals + ${options.proposals} facilities (times from the login submit)`);
  printTable(heads, [...rows, medianRow], (c) => c !== 0);

  console.log('\nmarkdown:\n');
  console.log(`| ${heads.join(' | ')} |`);
  console.log(`|${heads.map((_, c) => (c === 0 ? '---' : '---:')).join('|')}|`);
  for (const cells of [...rows, medianRow.map((cell, c) => (c === 0 || cell === '' ? cell || '' : `**${cell}**`))]) {
    console.log(`| ${cells.join(' | ')} |`);
  }

  const medianTotal = med('total');
  const allDone = done.length === results.length && results.length > 0;
  console.log(
    `\ngoal ≤ ${secs(options.goalMs)}: ${
      allDone && medianTotal !== undefined && medianTotal <= options.goalMs ? 'met' : 'not met'
    } (median ${secs(medianTotal)} over ${done.length}/${results.length} completed runs)`,
  );

  if (options.json) {
    const plain = results.map(({ problems, ...rest }) => ({ ...rest, problems }));
    writeFileSync(options.json, `${JSON.stringify({ options, bulkMs, results: plain }, null, 2)}\n`);
  }
  if (!allDone) process.exitCode = 1;
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
