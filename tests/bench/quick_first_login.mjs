#!/usr/bin/env node
// A phone's first day on a slow link, when the inspector logs in before the
// service worker has finished its precache: does the field app's code cross the
// network once or twice?
//
// Usage: node bench/quick_first_login.mjs BASE_URL [--as USER:PASSWORD] [--rate BYTES_PER_S]
//   e.g. node bench/quick_first_login.mjs http://127.0.0.1:3911 --as ksv3:khaosat-demo --rate 40000
//
// The browser talks to BASE_URL through a proxy started here that sends every
// response body at --rate bytes per second per connection (default 40,000, a weak
// 3G link) and counts the requests that reach it: those are what crossed the
// network. A fresh context opens /login, logs in through the form the moment the
// page has hydrated (the worker is then still fetching its precache), and waits
// for the home page to list proposals and for the worker to control the page.
// Playwright's context events say who asked for each /pkg/ file (the page or the
// worker); the proxy says how often each reached the network.
//
// Not a test: it prints a table and exits 0; 1 when the home listed nothing or a
// field chunk was never fetched by the page (nothing was measured); 2 when a
// /pkg/ file reached the network more than once.

import http from 'node:http';
import { launchChromium } from './browser.mjs';

function parseArgs(argv) {
  const options = { as: 'ksv3:khaosat-demo', rate: 40_000 };
  for (let i = 0; i < argv.length; i += 1) {
    if (argv[i] === '--as') options.as = argv[(i += 1)];
    else if (argv[i] === '--rate') options.rate = Number(argv[(i += 1)]);
    else options.base = argv[i];
  }
  if (!options.base) throw new Error('usage: node bench/quick_first_login.mjs BASE_URL [--as USER:PASSWORD] [--rate N]');
  return options;
}

/** A proxy to `upstream` that paces every response body and counts the paths asked for. */
function throttlingProxy(upstream, rate) {
  const reached = new Map();
  const server = http.createServer((req, res) => {
    const path = req.url.split('?')[0];
    reached.set(path, (reached.get(path) ?? 0) + 1);
    // The server checks Origin against its own address.
    const headers = { ...req.headers, host: upstream.host };
    if (headers.origin) headers.origin = upstream.origin;
    const forward = http.request({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers }, (answer) => {
      res.writeHead(answer.statusCode, answer.headers);
      const queue = [];
      let ended = false;
      const tick = setInterval(() => {
        let budget = rate / 10;
        while (budget > 0 && queue.length > 0) {
          const head = queue[0];
          if (head.length <= budget) {
            res.write(head);
            budget -= head.length;
            queue.shift();
          } else {
            res.write(head.subarray(0, budget));
            queue[0] = head.subarray(budget);
            budget = 0;
          }
        }
        if (ended && queue.length === 0) {
          clearInterval(tick);
          res.end();
        }
      }, 100);
      answer.on('data', (chunk) => queue.push(chunk));
      answer.on('end', () => (ended = true));
    });
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, reached })));
}

const options = parseArgs(process.argv.slice(2));
const upstream = new URL(options.base);
const { server, reached } = await throttlingProxy(upstream, options.rate);
const base = `http://127.0.0.1:${server.address().port}`;
const [username, password] = options.as.split(':');

const browser = await launchChromium();
const context = await browser.newContext({ baseURL: base, viewport: { width: 360, height: 740 } });
const started = Date.now();
const asked = [];
context.on('requestfinished', async (request) => {
  const path = new URL(request.url()).pathname;
  if (!path.startsWith('/pkg/')) return;
  const response = await request.response();
  asked.push({ path, by: request.serviceWorker() ? 'worker' : 'page', fromWorker: !!response?.fromServiceWorker(), at: Date.now() - started });
});
const page = await context.newPage();
await page.goto('/login');
await page.locator('html[data-hydrated="true"]').waitFor({ timeout: 300_000 });
const hydratedAt = Date.now() - started;
await page.getByTestId('login-username').fill(username);
await page.getByTestId('login-password').fill(password);
await page.getByTestId('login-submit').click();
await page.getByTestId('proposal-item').first().waitFor({ timeout: 300_000 });
const listedAt = Date.now() - started;
const proposals = await page.getByTestId('proposal-item').count();
await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 300_000 });
const controlledAt = Date.now() - started;
await browser.close();
server.close();

const field = /^\/pkg\/(split_field_|chunk_)/;
const paths = [...new Set(asked.map((a) => a.path))].filter((p) => field.test(p)).sort();
console.log(`link: ${options.rate} B/s per connection; /login hydrated after ${hydratedAt} ms, login submitted at once;`);
console.log(`${username}'s home listed ${proposals} proposals after ${listedAt} ms; the worker controlled the page after ${controlledAt} ms\n`);
console.log('field file'.padEnd(60) + 'asked by page'.padStart(15) + 'asked by worker'.padStart(17) + 'reached network'.padStart(17));
let twice = 0;
let pageAsked = 0;
for (const path of paths) {
  const byPage = asked.filter((a) => a.path === path && a.by === 'page' && !a.fromWorker).length;
  const byWorker = asked.filter((a) => a.path === path && a.by === 'worker').length;
  const network = reached.get(path) ?? 0;
  if (network > 1) twice += 1;
  if (byPage > 0) pageAsked += 1;
  console.log(path.slice(5, 64).padEnd(60) + String(byPage).padStart(15) + String(byWorker).padStart(17) + String(network).padStart(17));
}
const repeated = [...reached].filter(([p, n]) => p.startsWith('/pkg/') && n > 1);
console.log(`\n${paths.length} field files; ${pageAsked} asked for by the page before the worker controlled it; ${repeated.length} /pkg/ files reached the network more than once`);
if (proposals === 0 || pageAsked === 0) process.exit(1);
if (twice > 0 || repeated.length > 0) process.exit(2);
