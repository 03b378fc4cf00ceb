#!/usr/bin/env node
// A year's worth of data through one process, then a backup and a restore:
// photo upload throughput and time to verdict (local disk or object storage),
// and backup/restore time for 10,000 visits and 2,000 photos.
//
// Usage: node tests/bench/service_data.mjs [--bin target/server-release/khaosat]
//          [--site-root target/site] [--visits 10000] [--photos 2000]
//          [--photo-store s3://bucket/prefix (AWS_* from the environment) | s3s-fs]
//          [--restore-store s3://bucket/other-prefix] [--parallel 4]
//
// Needs KHAOSAT_TEST_POSTGRES_URL, psql and pg_dump/pg_restore (Debian's
// postgresql-client). The script makes its own database and a second empty
// one for the restore (both dropped at the end) and starts `khaosat serve
// --demo` on it.
//
// 1. Visits: the five demo inspectors push --visits visits (a visit and one
//    answer each) in batches of 200 mutations. Untimed.
// 2. Photos: --photos photo records on the first visits, then their bytes
//    through tus (POST, then one PATCH), --parallel at a time. Each photo is
//    one of the bench photos (../shared/bench/photos, Wood.jpg and
//    TwoWings.jpg in turn) with a JPEG comment segment naming it, so every
//    file is distinct (content-addressed storage would keep duplicates once).
//    Timed: upload MB/s over all photos, and per photo the time from its first
//    byte to the pipeline's verdict (GET /api/photos/{id} says `ok`).
// 3. `khaosat backup --to DIR` with the server stopped, then `khaosat restore`
//    into the empty database and an empty store. Timed, each as a whole.
// The work is asserted: every photo must end `ok`, and the backup's manifest
// must hold every visit and three files per photo, or the script exits 1.

import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createServer } from 'node:net';
import { createHash, randomUUID } from 'node:crypto';

const REPO = resolve(new URL('../..', import.meta.url).pathname);
const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, a, i, all) => (a.startsWith('--') ? [...pairs, [a.slice(2), all[i + 1]]] : pairs), []),
);
const bin = resolve(REPO, args.bin ?? 'target/server-release/khaosat');
const site = resolve(REPO, args['site-root'] ?? 'target/site');
const visitsWanted = Number(args.visits ?? 10000);
const photosWanted = Number(args.photos ?? 2000);
const parallel = Number(args.parallel ?? 4);
const admin = process.env.KHAOSAT_TEST_POSTGRES_URL;
if (!admin) throw new Error('KHAOSAT_TEST_POSTGRES_URL is not set (source scripts/postgres.sh; start_postgres)');

const dir = mkdtempSync(join(tmpdir(), 'khaosat-data-'));
const names = [`khaosat_data_${randomUUID().replaceAll('-', '')}`, `khaosat_restored_${randomUUID().replaceAll('-', '')}`];
const base = admin.slice(0, admin.lastIndexOf('/'));
const [dbUrl, restoredUrl] = names.map((n) => `${base}/${n}`);
let server;
process.on('exit', () => {
  server?.kill('SIGKILL');
  for (const n of names) {
    try {
      execFileSync('psql', [admin, '-qc', `DROP DATABASE IF EXISTS ${n} WITH (FORCE)`]);
    } catch {}
  }
  rmSync(dir, { recursive: true, force: true });
});
process.on('SIGINT', () => process.exit(130));
for (const n of names) execFileSync('psql', [admin, '-qc', `CREATE DATABASE ${n}`]);

const freePort = () =>
  new Promise((ok) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
// `--photo-store s3s-fs`: an s3s-fs of the script's own (crates.io; the test
// command installs it), bucket `khaosat`, restored into another prefix.
let s3fs;
if (args['photo-store'] === 's3s-fs') {
  const s3port = await freePort();
  mkdirSync(join(dir, 's3', 'khaosat'), { recursive: true });
  s3fs = spawn('s3s-fs', ['--host', '127.0.0.1', '--port', String(s3port), '--access-key', 'bench', '--secret-key', 'bench-secret', join(dir, 's3')], { stdio: 'ignore' });
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: `http://127.0.0.1:${s3port}`,
    AWS_ALLOW_HTTP: 'true',
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench-secret',
  });
  args['photo-store'] = 's3://khaosat/bench';
  args['restore-store'] = 's3://khaosat/restored';
  process.on('exit', () => s3fs.kill('SIGKILL'));
  const { connect } = await import('node:net');
  for (;;) {
    const up = await new Promise((ok) => connect(s3port, '127.0.0.1').on('connect', function () { this.destroy(); ok(true); }).on('error', () => ok(false)));
    if (up) break;
    await new Promise((r) => setTimeout(r, 20)); // polling for the listener
  }
}
const store = args['photo-store'] ? ['--photo-store', args['photo-store']] : ['--photo-dir', join(dir, 'photos')];
const port = await freePort();
const url = `http://127.0.0.1:${port}`;
server = spawn(bin, ['serve', '--demo', '--addr', `127.0.0.1:${port}`, '--data-dir', join(dir, 'data'), '--database-url', dbUrl, ...store], {
  env: { ...process.env, LEPTOS_SITE_ROOT: site, RUST_LOG: 'warn' },
  stdio: ['ignore', 'ignore', 'inherit'],
});
const until = async (what, check, ms = 120_000) => {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50)); // polling a state
  }
};
await until('server healthy', async () => (await fetch(`${url}/api/health`)).ok);

// 1. Visits, from the five inspectors.
const demo = JSON.parse(readFileSync(join(REPO, 'data/demo/bac-giang-2020.json'), 'utf8'));
const inspectors = demo.users.filter((u) => u.roles.includes('inspector'));
const phones = [];
for (const user of inspectors) {
  const device = randomUUID();
  const r = await fetch(`${url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: user.username, password: 'khaosat-demo', device_id: device }),
  });
  if (r.status !== 200) throw new Error(`login: ${r.status}`);
  const proposals = demo.proposals.filter((p) => user.units.includes(p.district_code)).map((p) => p.id);
  phones.push({ cookie: r.headers.get('set-cookie').split(';')[0], device, proposals, seq: 0, visits: [] });
}
const hlc = (n) => `${String(Date.now()).padStart(15, '0')}-${String(n % 1_000_000).padStart(6, '0')}`;
const push = async (phone, mutations) => {
  const r = await fetch(`${url}/api/sync/push`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie: phone.cookie },
    body: JSON.stringify({ device_id: phone.device, schema_version: 3, mutations }),
  });
  const body = await r.json();
  if (r.status !== 200 || body.results.some((x) => x.status !== 'applied')) throw new Error(`push: ${r.status} ${JSON.stringify(body).slice(0, 400)}`);
};
const mutation = (phone, entity, id, fields) => {
  phone.seq += 1;
  return { seq: phone.seq, mutation_id: randomUUID(), kind: 'upsert', entity, record_id: id, fields, hlc: hlc(phone.seq), base_version: 0 };
};
let t = performance.now();
await Promise.all(
  phones.map(async (phone, p) => {
    let batch = [];
    for (let v = p; v < visitsWanted; v += phones.length) {
      const id = randomUUID();
      phone.visits.push(id);
      batch.push(mutation(phone, 'visit', id, { form_id: 'khuyen-cong', form_version: 1, proposal_id: phone.proposals[v % phone.proposals.length] }));
      batch.push(mutation(phone, 'visit', id, { workforce: 10 + (v % 90) }));
      if (batch.length >= 200) {
        await push(phone, batch);
        batch = [];
      }
    }
    if (batch.length) await push(phone, batch);
  }),
);
const visitsSeconds = (performance.now() - t) / 1000;
console.log(`visits: ${phones.reduce((n, p) => n + p.visits.length, 0)} pushed in ${visitsSeconds.toFixed(1)} s`);

// 2. Photos: records first, then bytes.
const sources = ['Wood.jpg', 'TwoWings.jpg'].map((f) => readFileSync(join(REPO, '../shared/bench/photos', f)));
const distinct = (i) => {
  const src = sources[i % sources.length];
  const text = Buffer.from(`khaosat bench photo ${i} ${randomUUID()}`);
  const segment = Buffer.alloc(4);
  segment.writeUInt16BE(0xfffe, 0);
  segment.writeUInt16BE(text.length + 2, 2);
  return Buffer.concat([src.subarray(0, 2), segment, text, src.subarray(2)]);
};
const photos = [];
for (let i = 0; i < photosWanted; i++) {
  const phone = phones[i % phones.length];
  const visit = phone.visits[Math.floor(i / phones.length) % phone.visits.length];
  const bytes = distinct(i);
  photos.push({ phone, visit, id: randomUUID(), bytes, sha: createHash('sha256').update(bytes).digest('hex') });
}
for (const phone of phones) {
  const mine = photos.filter((p) => p.phone === phone);
  for (let i = 0; i < mine.length; i += 100) {
    await push(
      phone,
      mine.slice(i, i + 100).map((p) =>
        mutation(phone, 'photo', p.id, { visit_id: p.visit, field: 'evidence_photos', sha256: p.sha, size: p.bytes.length, content_type: 'image/jpeg', caption: 'bench' }),
      ),
    );
  }
}
const uploadOne = async (p) => {
  const b64 = (s) => Buffer.from(s).toString('base64');
  const started = performance.now();
  const created = await fetch(`${url}/api/uploads/`, {
    method: 'POST',
    headers: { 'tus-resumable': '1.0.0', 'upload-length': String(p.bytes.length), 'upload-metadata': `photo_id ${b64(p.id)}`, cookie: p.phone.cookie },
  });
  if (created.status !== 201) throw new Error(`create: ${created.status} ${await created.text()}`);
  const location = created.headers.get('location');
  const patched = await fetch(`${url}${location}`, {
    method: 'PATCH',
    headers: { 'tus-resumable': '1.0.0', 'upload-offset': '0', 'content-type': 'application/offset+octet-stream', cookie: p.phone.cookie },
    body: p.bytes,
  });
  if (patched.status !== 204) throw new Error(`patch: ${patched.status} ${await patched.text()}`);
  p.uploaded = performance.now() - started;
  for (;;) {
    const r = await fetch(`${url}/api/photos/${p.id}`, { headers: { cookie: p.phone.cookie } });
    const record = await r.json();
    if (record.status === 'ok') break;
    if (record.status === 'bad') throw new Error(`photo judged bad: ${JSON.stringify(record)}`);
    await new Promise((r) => setTimeout(r, 20)); // polling the verdict
  }
  p.verdict = performance.now() - started;
};
t = performance.now();
let next = 0;
await Promise.all(
  Array.from({ length: parallel }, async () => {
    while (next < photos.length) await uploadOne(photos[next++]);
  }),
);
const photoSeconds = (performance.now() - t) / 1000;
const bytes = photos.reduce((n, p) => n + p.bytes.length, 0);
const sorted = photos.map((p) => p.verdict).sort((a, b) => a - b);
const q = (x) => sorted[Math.min(sorted.length - 1, Math.floor(x * sorted.length))].toFixed(0);
console.log(
  `photos: ${photos.length} (${(bytes / 1e6).toFixed(0)} MB) in ${photoSeconds.toFixed(1)} s: ${(bytes / 1e6 / photoSeconds).toFixed(1)} MB/s, ` +
    `${(photos.length / photoSeconds).toFixed(1)} photos/s; first byte to verdict p50 ${q(0.5)} ms, p95 ${q(0.95)} ms, max ${sorted.at(-1).toFixed(0)} ms`,
);

// 3. Backup and restore, with the server stopped.
server.kill('SIGTERM');
await new Promise((ok) => server.once('exit', ok));
server = undefined;
const backupDir = join(dir, 'backup');
t = performance.now();
execFileSync(bin, ['backup', '--to', backupDir, '--data-dir', join(dir, 'data'), '--database-url', dbUrl, ...store], { stdio: 'inherit' });
const backupSeconds = (performance.now() - t) / 1000;
const manifest = JSON.parse(readFileSync(join(backupDir, 'manifest.json'), 'utf8'));
const restoreStore = args['restore-store'] ? ['--photo-store', args['restore-store']] : ['--photo-dir', join(dir, 'restored-photos')];
t = performance.now();
execFileSync(bin, ['restore', '--from', backupDir, '--data-dir', join(dir, 'restored'), '--database-url', restoredUrl, ...restoreStore], { stdio: 'inherit' });
const restoreSeconds = (performance.now() - t) / 1000;
const backupBytes = Number(execFileSync('du', ['-sb', backupDir], { encoding: 'utf8' }).split('\t')[0]);
console.log(
  `backup: ${manifest.records.visits} visits, ${manifest.photos.length} photo files, ${(backupBytes / 1e6).toFixed(0)} MB in ${backupSeconds.toFixed(1)} s; restore ${restoreSeconds.toFixed(1)} s`,
);
console.log(
  JSON.stringify({
    store: args['photo-store'] ?? 'disk',
    visits: manifest.records.visits,
    photos: photos.length,
    upload_mb_per_s: Number((bytes / 1e6 / photoSeconds).toFixed(1)),
    verdict_p50_ms: Number(q(0.5)),
    verdict_p95_ms: Number(q(0.95)),
    backup_s: Number(backupSeconds.toFixed(1)),
    restore_s: Number(restoreSeconds.toFixed(1)),
    backup_mb: Math.round(backupBytes / 1e6),
  }),
);
if (manifest.records.visits < visitsWanted || manifest.photos.length !== 3 * photosWanted) {
  console.error(`work missing: ${manifest.records.visits} visits, ${manifest.photos.length} photo files`);
  process.exit(1);
}
