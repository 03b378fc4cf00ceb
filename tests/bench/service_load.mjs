#!/usr/bin/env node
// Push throughput and latency with many phones at once, against one khaosat
// process or several, each time behind the same nginx (so the proxy's cost is
// in both numbers), on one PostgreSQL database.
//
// Usage: node tests/bench/service_load.mjs [--bin target/server-release/khaosat]
//          [--site-root target/site] [--processes 1] [--phones 200]
//          [--batches 10] [--per-batch 20] [--photo-store s3://… (AWS_* from env)]
//   e.g. node tests/bench/service_load.mjs --processes 2
//
// Needs KHAOSAT_TEST_POSTGRES_URL (source scripts/postgres.sh; start_postgres),
// psql and Debian's nginx. The script makes its own database (dropped at the
// end), starts N processes with --demo on it (one photo directory, or
// --photo-store), and nginx on a loopback port balancing round robin over them
// (HTTP: TLS would put the proxy's handshakes in the servers' numbers).
//
// Untimed: each phone logs in (the five demo inspectors, each phone its own
// device) and pulls its first page. Timed: every phone pushes --batches
// batches of --per-batch mutations one after the other (the first mutation of
// each batch creates a visit on one of its proposals, the rest answer its
// fields), all phones at once. Reported: wall time, mutations per second, and
// push latency p50/p95/p99/max. The work is asserted: every mutation must come
// back `applied`, and the database must hold every visit, or the script exits 1
// (so a regression that drops work can never look like a speed-up).

import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createServer } from 'node:net';
import { randomUUID } from 'node:crypto';

const REPO = resolve(new URL('../..', import.meta.url).pathname);
const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, a, i, all) => (a.startsWith('--') ? [...pairs, [a.slice(2), all[i + 1]]] : pairs), []),
);
const bin = resolve(REPO, args.bin ?? 'target/server-release/khaosat');
const site = resolve(REPO, args['site-root'] ?? 'target/site');
const processes = Number(args.processes ?? 1);
const phones = Number(args.phones ?? 200);
const batches = Number(args.batches ?? 10);
const perBatch = Number(args['per-batch'] ?? 20);
const admin = process.env.KHAOSAT_TEST_POSTGRES_URL;
if (!admin) throw new Error('KHAOSAT_TEST_POSTGRES_URL is not set (source scripts/postgres.sh; start_postgres)');

const freePort = () =>
  new Promise((ok) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
const until = async (what, check, ms = 60_000) => {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100)); // polling a state, not a wait for time
  }
};

const dir = mkdtempSync(join(tmpdir(), 'khaosat-load-'));
const dbName = `khaosat_load_${randomUUID().replaceAll('-', '')}`;
const base = admin.slice(0, admin.lastIndexOf('/'));
const dbUrl = `${base}/${dbName}`;
const children = [];
const stop = () => {
  for (const c of children) c.kill('SIGKILL');
  try {
    execFileSync('psql', [admin, '-qc', `DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`]);
  } catch {}
  rmSync(dir, { recursive: true, force: true });
};
process.on('exit', stop);
process.on('SIGINT', () => process.exit(130));

execFileSync('psql', [admin, '-qc', `CREATE DATABASE ${dbName}`]);
const upstreams = [];
for (let i = 0; i < processes; i++) {
  const port = await freePort();
  const store = args['photo-store'] ? ['--photo-store', args['photo-store']] : ['--photo-dir', join(dir, 'photos')];
  const child = spawn(
    bin,
    ['serve', '--demo', '--addr', `127.0.0.1:${port}`, '--data-dir', join(dir, `data${i}`), '--database-url', dbUrl, '--trusted-proxy', '127.0.0.1', ...store],
    { env: { ...process.env, LEPTOS_SITE_ROOT: site, RUST_LOG: 'warn' }, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  children.push(child);
  upstreams.push(`127.0.0.1:${port}`);
}
for (const u of upstreams) await until(`${u} healthy`, async () => (await fetch(`http://${u}/api/health`)).ok);

const proxyPort = await freePort();
mkdirSync(join(dir, 'nginx', 'tmp'), { recursive: true });
const n = join(dir, 'nginx');
writeFileSync(
  join(n, 'nginx.conf'),
  `${process.getuid?.() === 0 ? 'user root;' : ''}
worker_processes 1;
daemon off;
pid ${n}/nginx.pid;
error_log ${n}/error.log warn;
events { worker_connections 2048; }
http {
  client_body_temp_path ${n}/tmp/body; proxy_temp_path ${n}/tmp/proxy;
  fastcgi_temp_path ${n}/tmp/fcgi; uwsgi_temp_path ${n}/tmp/uwsgi; scgi_temp_path ${n}/tmp/scgi;
  access_log off;
  upstream khaosat { ${upstreams.map((u) => `server ${u};`).join(' ')} keepalive 64; }
  server {
    listen 127.0.0.1:${proxyPort};
    client_max_body_size 64m;
    location / {
      proxy_pass http://khaosat;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_request_buffering off;
      proxy_buffering off;
    }
  }
}
`,
);
const nginx = spawn('nginx', ['-p', `${n}/`, '-c', `${n}/nginx.conf`, '-e', `${n}/error.log`], { stdio: 'inherit' });
children.push(nginx);
const url = `http://127.0.0.1:${proxyPort}`;
await until('nginx', async () => (await fetch(`${url}/api/health`)).ok);

// Untimed: logins and a first pull per phone, a few at a time (password
// hashing is meant to be slow).
const demo = JSON.parse(
  execFileSync('cat', [join(REPO, 'data/demo/bac-giang-2020.json')], { encoding: 'utf8', maxBuffer: 1 << 26 }),
);
const inspectors = demo.users.filter((u) => u.roles.includes('inspector'));
const proposalsOf = (user) => demo.proposals.filter((p) => user.units.includes(p.district_code)).map((p) => p.id);
const devices = [];
console.error(`logging ${phones} phones in`);
for (let i = 0; i < phones; i += 8) {
  await Promise.all(
    Array.from({ length: Math.min(8, phones - i) }, async (_, k) => {
      const user = inspectors[(i + k) % inspectors.length];
      const device = randomUUID();
      const r = await fetch(`${url}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: user.username, password: 'khaosat-demo', device_id: device }),
      });
      if (r.status !== 200) throw new Error(`login ${user.username}: ${r.status} ${await r.text()}`);
      const cookie = r.headers.get('set-cookie').split(';')[0];
      const pulled = await fetch(`${url}/api/sync/pull?cursor=0`, { headers: { cookie } });
      if (pulled.status !== 200) throw new Error(`pull: ${pulled.status}`);
      await pulled.arrayBuffer();
      devices.push({ cookie, device, proposals: proposalsOf(user) });
    }),
  );
}

console.error(`${devices.length} phones logged in and pulled; pushing`);
// Timed: every phone pushes its batches in turn, all phones at once.
const latencies = [];
let applied = 0;
let refused = 0;
let wall = 0;
const hlcNow = (counter) => `${String(Date.now()).padStart(15, '0')}-${String(counter % 1_000_000).padStart(6, '0')}`;
const started = performance.now();
await Promise.all(
  devices.map(async (phone, p) => {
    let seq = 0;
    for (let b = 0; b < batches; b++) {
      const visit = randomUUID();
      const mutations = [];
      for (let m = 0; m < perBatch; m++) {
        seq += 1;
        const fields =
          m === 0
            ? { form_id: 'khuyen-cong', form_version: 1, proposal_id: phone.proposals[(p + b) % phone.proposals.length], workforce: 1 }
            : { workforce: m + 1 };
        mutations.push({ seq, mutation_id: randomUUID(), kind: 'upsert', entity: 'visit', record_id: visit, fields, hlc: hlcNow(seq), base_version: 0 });
      }
      const t = performance.now();
      const r = await fetch(`${url}/api/sync/push`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', cookie: phone.cookie },
        body: JSON.stringify({ device_id: phone.device, schema_version: 3, mutations }),
      });
      const body = await r.json();
      latencies.push(performance.now() - t);
      if (r.status !== 200) throw new Error(`push ${r.status}: ${JSON.stringify(body)}`);
      for (const result of body.results) {
        if (result.status === 'applied') applied += 1;
        else refused += 1;
      }
    }
  }),
);
wall = (performance.now() - started) / 1000;

const expected = phones * batches * perBatch;
const visits = Number(
  execFileSync('psql', [dbUrl, '-tAc', "SELECT COUNT(*) FROM visits WHERE form_id = 'khuyen-cong'"], { encoding: 'utf8' }).trim(),
);
latencies.sort((a, b) => a - b);
const pct = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))].toFixed(0);
const summary = {
  processes,
  phones,
  pushes: latencies.length,
  mutations: applied,
  wall_s: Number(wall.toFixed(1)),
  mutations_per_s: Math.round(applied / wall),
  p50_ms: Number(pct(0.5)),
  p95_ms: Number(pct(0.95)),
  p99_ms: Number(pct(0.99)),
  max_ms: Number(latencies.at(-1).toFixed(0)),
  visits_in_database: visits,
};
console.log(JSON.stringify(summary));
console.log(
  `| ${processes} | ${phones} × ${batches} × ${perBatch} | ${summary.wall_s} s | ${summary.mutations_per_s}/s | ${summary.p50_ms} | ${summary.p95_ms} | ${summary.p99_ms} | ${summary.max_ms} |`,
);
if (applied !== expected || refused !== 0 || visits < phones * batches) {
  console.error(`work missing: ${applied} of ${expected} applied, ${refused} refused, ${visits} visits`);
  process.exit(1);
}
