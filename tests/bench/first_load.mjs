#!/usr/bin/env node
// Bytes on the wire for a first, cold load of the login page, until the app hydrated.
//
// Usage: node bench/first_load.mjs BASE_URL [--path /login] [--timeout 60000]
//                                  [--sw-wait 15000] [--budget BYTES] [--json FILE]
//                                  [--as USER:PASSWORD [--offline-starts N]]
//   e.g. node bench/first_load.mjs http://127.0.0.1:3000 --as ksv3:khaosat-demo
//
// With --as, the same profile then logs in through the form and the table goes on
// until the inspector's home lists their proposals: what the login submit and the
// home page cost on the wire (the home page's code, the login and the first pull).
// Then, with --offline-starts N, the network goes off and the page is reloaded N
// times with the CPU throttled 4x (CDP Emulation.setCPUThrottlingRate), timing
// each from navigation to the proposal list, and the median is printed.
//
// A fresh browser context (empty HTTP cache, no service worker) opens BASE_URL+path. The
// page's own requests are measured through the Chrome DevTools Protocol: Network.enable,
// and each request's encodedDataLength from Network.loadingFinished (headers + body as
// transferred, i.e. after Content-Encoding). The total counts requests started before
// html[data-hydrated="true"] appeared. Then, separately, what the service worker fetched
// while installing (its precache), which a phone also pays for on the first visit; those
// requests run in the worker, not the page, so Playwright's context-level events report
// them. Responses the page got from the service worker are listed but not added twice.
//
// Not a test: it prints a table and exits 0, or 1 when the page never hydrated, or 2
// when --budget is given and the page total exceeds it.

import { writeFileSync } from 'node:fs';
import { launchChromium } from './browser.mjs';

function parseArgs(argv) {
  const options = { path: '/login', timeout: 60_000, swWait: 15_000, budget: undefined, json: undefined };
  const positional = [];
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${arg} needs a value`);
      i += 1;
      return argv[i];
    };
    if (arg === '--path') options.path = value();
    else if (arg === '--timeout') options.timeout = Number(value());
    else if (arg === '--sw-wait') options.swWait = Number(value());
    else if (arg === '--budget') options.budget = Number(value());
    else if (arg === '--json') options.json = value();
    else if (arg === '--as') options.as = value();
    else if (arg === '--offline-starts') options.offlineStarts = Number(value());
    else if (arg === '-h' || arg === '--help') options.help = true;
    else positional.push(arg);
  }
  if (options.help || positional.length !== 1) {
    console.error('usage: node bench/first_load.mjs BASE_URL [--path /login] [--timeout MS] [--sw-wait MS] [--budget BYTES] [--json FILE] [--as USER:PASSWORD [--offline-starts N]]');
    process.exit(options.help ? 0 : 64);
  }
  options.base = positional[0].replace(/\/+$/, '');
  return options;
}

function header(headers, name) {
  if (!headers) return undefined;
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === wanted) return String(value);
  }
  return undefined;
}

const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KB`;

function shortUrl(url, base) {
  return url.startsWith(base) ? url.slice(base.length) || '/' : url;
}

function printTable(title, rows, base) {
  console.log(`\n${title}`);
  if (rows.length === 0) {
    console.log('  (none)');
    return;
  }
  const table = rows.map((row) => [
    String(row.status ?? (row.failed ? 'FAIL' : '…')),
    String(row.encoded),
    row.encoding || '-',
    row.source,
    shortUrl(row.url, base),
  ]);
  const heads = ['status', 'encoded bytes', 'content-encoding', 'source', 'url'];
  const widths = heads.map((head, column) => Math.max(head.length, ...table.map((cells) => cells[column].length)));
  const line = (cells) =>
    cells
      .map((cell, column) => (column === 1 ? cell.padStart(widths[column]) : column === 4 ? cell : cell.padEnd(widths[column])))
      .join('  ');
  console.log(`  ${line(heads)}`);
  for (const cells of table) console.log(`  ${line(cells)}`);
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const browser = await launchChromium();
  try {
    // A new context is a cold profile: no HTTP cache, no Cache Storage, no worker.
    const context = await browser.newContext();
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);

    /** requestId -> what we know of it */
    const requests = new Map();
    let hydratedAt = Infinity;
    const entry = (requestId) => {
      let row = requests.get(requestId);
      if (!row) {
        row = { url: '', encoded: 0, encoding: '', status: undefined, source: 'network', startedAt: Date.now(), done: false, failed: false };
        requests.set(requestId, row);
      }
      return row;
    };
    let acceptEncoding;
    cdp.on('Network.requestWillBeSent', (event) => {
      const row = entry(event.requestId);
      row.url = event.request.url;
      row.startedAt = Date.now();
    });
    cdp.on('Network.requestWillBeSentExtraInfo', (event) => {
      acceptEncoding ??= header(event.headers, 'accept-encoding');
    });
    cdp.on('Network.responseReceived', (event) => {
      const row = entry(event.requestId);
      row.status = event.response.status;
      row.encoding = header(event.response.headers, 'content-encoding') ?? row.encoding;
      if (event.response.fromServiceWorker) row.source = 'from-sw';
      else if (event.response.fromDiskCache || event.response.fromPrefetchCache) row.source = 'cache';
    });
    cdp.on('Network.responseReceivedExtraInfo', (event) => {
      const row = entry(event.requestId);
      row.encoding = header(event.headers, 'content-encoding') ?? row.encoding;
    });
    cdp.on('Network.loadingFinished', (event) => {
      const row = entry(event.requestId);
      row.encoded = event.encodedDataLength;
      row.done = true;
    });
    cdp.on('Network.loadingFailed', (event) => {
      const row = entry(event.requestId);
      row.failed = true;
      row.done = true;
      row.error = event.errorText;
    });
    await cdp.send('Network.enable');

    // The service worker's own fetches (its install-time precache).
    const workerRequests = [];
    context.on('requestfinished', async (request) => {
      if (!request.serviceWorker()) return;
      const record = { url: request.url(), encoded: 0, encoding: '', status: undefined, source: 'sw-fetch' };
      workerRequests.push(record);
      try {
        const sizes = await request.sizes();
        record.encoded = sizes.responseBodySize + sizes.responseHeadersSize;
        const response = await request.response();
        if (response) {
          record.status = response.status();
          record.encoding = (await response.headerValue('content-encoding')) ?? '';
        }
      } catch {
        // The worker may be gone; keep what we have.
      }
    });

    const url = `${options.base}${options.path}`;
    const startedAt = Date.now();
    let hydrated = true;
    await page.goto(url, { waitUntil: 'commit', timeout: options.timeout });
    try {
      await page.locator('html[data-hydrated="true"]').waitFor({ state: 'attached', timeout: options.timeout });
    } catch {
      hydrated = false;
    }
    hydratedAt = Date.now();

    // Let requests started before hydration report their last bytes.
    const settleUntil = Date.now() + 5_000;
    while (Date.now() < settleUntil && [...requests.values()].some((row) => row.startedAt <= hydratedAt && !row.done)) {
      await new Promise((wait) => setTimeout(wait, 50));
    }

    // Give the service worker time to install (precache) before listing its fetches.
    const worker = await page
      .evaluate(async (waitMs) => {
        if (!('serviceWorker' in navigator)) return 'no serviceWorker API';
        const timeout = new Promise((done) => setTimeout(() => done('not ready'), waitMs));
        return Promise.race([navigator.serviceWorker.ready.then(() => 'ready'), timeout]);
      }, options.swWait)
      .catch((error) => `error: ${error.message}`);
    await new Promise((wait) => setTimeout(wait, 1_000));

    const rows = [...requests.values()].filter((row) => row.url && !row.url.startsWith('data:'));
    const beforeHydration = rows.filter((row) => row.startedAt <= hydratedAt);
    const afterHydration = rows.filter((row) => row.startedAt > hydratedAt);
    const countable = (row) => row.source === 'network';
    const pageTotal = beforeHydration.filter(countable).reduce((sum, row) => sum + row.encoded, 0);
    const workerTotal = workerRequests.reduce((sum, row) => sum + row.encoded, 0);

    console.log(`first load of ${url}`);
    console.log(`Accept-Encoding sent: ${acceptEncoding ?? '(not seen)'}`);
    console.log(hydrated ? `hydrated after ${hydratedAt - startedAt} ms` : `NOT hydrated within ${options.timeout} ms`);
    printTable('page requests until hydrated (CDP encodedDataLength: headers + body on the wire)', beforeHydration, options.base);
    console.log(`  total: ${pageTotal} bytes (${kb(pageTotal)}) in ${beforeHydration.filter(countable).length} network requests`);
    if (afterHydration.length > 0) {
      printTable('page requests after hydration (not in the total)', afterHydration, options.base);
    }
    printTable(`service worker fetches (worker ${worker})`, workerRequests, options.base);
    console.log(`  total: ${workerTotal} bytes (${kb(workerTotal)})`);
    console.log(`\nfirst visit, page + service worker: ${pageTotal + workerTotal} bytes (${kb(pageTotal + workerTotal)})`);

    let home;
    if (options.as) {
      home = await inspectorHome(page, cdp, requests, options);
    }

    if (options.json) {
      writeFileSync(
        options.json,
        `${JSON.stringify({ url, hydrated, hydrationMs: hydratedAt - startedAt, acceptEncoding, pageTotal, workerTotal, page: beforeHydration, afterHydration, worker: workerRequests, home }, null, 2)}\n`,
      );
    }
    await context.close();
    if (!hydrated) process.exitCode = 1;
    else if (options.budget !== undefined && pageTotal > options.budget) {
      console.log(`over budget: ${pageTotal} > ${options.budget} bytes`);
      process.exitCode = 2;
    }
  } finally {
    await browser.close();
  }
}

/** Logs in through the form on the hydrated /login and measures until the home page lists proposals. */
async function inspectorHome(page, cdp, requests, options) {
  const [user, password] = options.as.split(':');
  const from = Date.now();
  await page.getByTestId('login-username').fill(user);
  await page.getByTestId('login-password').fill(password);
  await page.getByTestId('login-submit').click();
  await page.getByTestId('proposal-item').first().waitFor({ timeout: options.timeout });
  const listedAt = Date.now();
  const proposals = await page.getByTestId('proposal-item').count();
  const settleUntil = Date.now() + 5_000;
  while (Date.now() < settleUntil && [...requests.values()].some((row) => row.startedAt >= from && row.startedAt <= listedAt && !row.done)) {
    await new Promise((wait) => setTimeout(wait, 50));
  }
  const rows = [...requests.values()].filter((row) => row.url && row.startedAt >= from && row.startedAt <= listedAt);
  const network = rows.filter((row) => row.source === 'network');
  const total = network.reduce((sum, row) => sum + row.encoded, 0);
  printTable(`after the login submit until ${user}'s home listed ${proposals} proposals (${listedAt - from} ms)`, rows, options.base);
  console.log(`  total: ${total} bytes (${kb(total)}) in ${network.length} network requests (responses from the worker's cache not counted)`);
  if (proposals === 0) throw new Error('the home page listed no proposal');

  const starts = [];
  if (options.offlineStarts) {
    await page.context().setOffline(true);
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 });
    for (let i = 0; i < options.offlineStarts; i += 1) {
      const started = Date.now();
      await page.reload({ waitUntil: 'commit' });
      await page.getByTestId('proposal-item').first().waitFor({ timeout: options.timeout });
      starts.push(Date.now() - started);
    }
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: 1 });
    await page.context().setOffline(false);
    const sorted = [...starts].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)];
    console.log(`\noffline start at 4x CPU throttle, navigation to proposal list, ${starts.length} runs: ${starts.join(', ')} ms; median ${median} ms`);
  }
  return { user, proposals, ms: listedAt - from, total, requests: rows, offlineStartsMs: starts };
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
