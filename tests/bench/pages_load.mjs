#!/usr/bin/env node
// Server-rendered pages under concurrent load, half in Vietnamese and half in
// English, as a supervisor: the office pages, the home and the login page.
//
// Usage: node tests/bench/pages_load.mjs http://127.0.0.1:3911 [--pages 2000]
//          [--concurrency 32] [--as giamsat:khaosat-demo]
//   e.g. target/e2e/khaosat serve --addr 127.0.0.1:3911 --data-dir /tmp/pl --demo --site-root target/site
//
// Reported: answers per path and status, page loads per second, latency
// p50/p95/max. The work is asserted: every page must answer 200 with the
// title, `<html lang>` and body text of the language its request asked for,
// or the script exits 1. A render that resumed on another worker thread under
// another request's reactive owner answered 500 or another language (see
// server/src/page_owner.rs).

import http from 'node:http';
import { randomUUID } from 'node:crypto';

const base = new URL(process.argv[2] ?? 'http://127.0.0.1:3911');
const args = Object.fromEntries(
  process.argv.slice(3).reduce((pairs, a, i, all) => (a.startsWith('--') ? [...pairs, [a.slice(2), all[i + 1]]] : pairs), []),
);
const total = Number(args.pages ?? 2000);
const concurrency = Number(args.concurrency ?? 32);
const [username, password] = (args.as ?? 'giamsat:khaosat-demo').split(':');
const PATHS = ['/review', '/plan', '/registry', '/', '/login'];
const TITLES = { vi: 'Khảo sát khuyến công', en: 'Industrial-extension survey' };
// Text each office page draws in its body, some of it in the parts streamed
// after the first chunk (the review list's rows): in the page's language,
// never in the other.
const BODY = {
  '/review': { vi: 'Đang thực hiện', en: 'In progress' },
  '/plan': { vi: 'Kinh phí đề nghị', en: 'Requested funding' },
  '/registry': { vi: 'Danh mục cơ sở và đề án', en: 'Registry of facilities and proposals' },
};

const login = await fetch(new URL('/api/auth/login', base), {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ username, password, device_id: randomUUID() }),
});
if (!login.ok) {
  console.error(`login as ${username}: ${login.status} ${await login.text()}`);
  process.exit(1);
}
const session = login.headers.getSetCookie().map((c) => c.split(';')[0]).find((c) => c.startsWith('khaosat_session='));

const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
const answers = {};
const wrong = [];
const latencies = [];
let started = 0;

function load(i) {
  const lang = i % 2 ? 'en' : 'vi';
  const path = PATHS[i % PATHS.length];
  const t0 = performance.now();
  return new Promise((done) => {
    const request = http.get(
      { host: base.hostname, port: base.port, path, agent, headers: { accept: 'text/html', cookie: `${session}; khaosat_lang=${lang}` } },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk) => (body += chunk));
        response.on('end', () => {
          latencies.push(performance.now() - t0);
          const key = `${path} ${response.statusCode}`;
          answers[key] = (answers[key] ?? 0) + 1;
          const title = body.match(/<title>([^<]*)<\/title>/)?.[1];
          const htmlLang = body.match(/<html[^>]*\blang="([a-z]+)"/)?.[1];
          const other = lang === 'vi' ? 'en' : 'vi';
          const body_ok = !BODY[path] || (body.includes(BODY[path][lang]) && !body.includes(BODY[path][other]));
          // The page's own name, then the app's.
          if (response.statusCode !== 200 || !title?.endsWith(` · ${TITLES[lang]}`) || htmlLang !== lang || !body_ok) {
            wrong.push({ path, lang, status: response.statusCode, title, htmlLang, body_ok });
          }
          done();
        });
      },
    );
    request.on('error', (e) => {
      answers[e.code] = (answers[e.code] ?? 0) + 1;
      wrong.push({ path, lang, error: e.code });
      done();
    });
  });
}

async function worker() {
  while (started < total) await load(started++);
}

const t0 = performance.now();
await Promise.all(Array.from({ length: concurrency }, worker));
const seconds = (performance.now() - t0) / 1000;
latencies.sort((a, b) => a - b);
const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))].toFixed(1);
console.log(JSON.stringify(answers));
console.log(`${total} pages, concurrency ${concurrency}: ${(total / seconds).toFixed(0)} pages/s, latency p50 ${at(0.5)} ms, p95 ${at(0.95)} ms, max ${at(1)} ms`);
if (wrong.length) {
  console.log(`${wrong.length} wrong answers, e.g. ${JSON.stringify(wrong.slice(0, 5))}`);
  process.exit(1);
}
console.log('every page answered 200 in its own language');
