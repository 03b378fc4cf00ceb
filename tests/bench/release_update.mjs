#!/usr/bin/env node
// What a phone downloads to update from one release to the next, with and
// without the deltas (dcz) the server makes from the release before.
//
// Usage: node bench/release_update.mjs OLD_SITE NEW_SITE [SERVER_BINARY]
//   Each site is a built site root (`target/site` copied after
//   `cargo leptos build --release --split …`) holding the `hash.txt` of its
//   build. The binary defaults to $KHAOSAT_BIN or target/e2e/khaosat.
//
// Starts the server on OLD_SITE (so it remembers that release), then on
// NEW_SITE with the same data directory, waits for "release deltas ready",
// and compares each delta with the brotli copy of the file it stands for.
// Every delta is decoded with the zstd CLI against its dictionary and checked
// byte for byte against the new file, so a number here is a working update.

import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const [oldSite, newSite, binArg] = process.argv.slice(2).map((p) => resolve(p));
if (!oldSite || !newSite) {
  console.error('usage: node bench/release_update.mjs OLD_SITE NEW_SITE [SERVER_BINARY]');
  process.exit(64);
}
const binary = binArg ?? resolve(repo, process.env.KHAOSAT_BIN ?? 'target/e2e/khaosat');
if (spawnSync('zstd', ['--version']).status !== 0) {
  console.error('the zstd CLI decodes each delta to check it: apt-get install zstd');
  process.exit(1);
}
const work = mkdtempSync(join(tmpdir(), 'khaosat-release-update-'));
const data = join(work, 'data');

/** The binary reads hash.txt from its own directory: one directory per site. */
function binaryFor(site, name) {
  const dir = join(work, name);
  mkdirSync(dir);
  try {
    linkSync(binary, join(dir, 'khaosat'));
  } catch {
    copyFileSync(binary, join(dir, 'khaosat'));
  }
  copyFileSync(join(site, 'hash.txt'), join(dir, 'hash.txt'));
  return join(dir, 'khaosat');
}

async function serveUntilReady(site, name) {
  const child = spawn(binaryFor(site, name), ['serve', '--addr', '127.0.0.1:0', '--data-dir', data, '--site-root', site], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const ready = new Promise((done, fail) => {
    const read = (chunk) => {
      log += chunk.toString().replace(/\x1b\[[0-9;]*m/g, '');
      const m = /release deltas (ready: (\d+) files|failed: .*)/.exec(log);
      if (m) (m[2] === undefined ? fail(new Error(m[0])) : done(Number(m[2])));
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    child.on('exit', (code) => fail(new Error(`the server exited (${code}):\n${log}`)));
  });
  try {
    return await ready;
  } finally {
    child.kill('SIGTERM');
  }
}

const hashes = (site) =>
  Object.fromEntries(readFileSync(join(site, 'hash.txt'), 'utf8').split('\n').map((l) => l.split(':').map((p) => p.trim())).filter(([k, v]) => k && v));

try {
  await serveUntilReady(oldSite, 'old');
  const made = await serveUntilReady(newSite, 'new');
  const h = hashes(newSite);
  const manifest = JSON.parse(readFileSync(join(newSite, 'pkg', `__wasm_split_manifest.${h.manifest}.json`), 'utf8'));
  const field = new Set([`khaosat.${h.wasm}.wasm`]);
  for (const [entry, files] of Object.entries(manifest)) {
    if (entry.replace(/^_+/, '').startsWith('field_')) files.forEach((f) => field.add(`${f}.wasm`));
  }
  const deltas = join(data, 'releases', 'deltas');
  const rows = [];
  for (const file of readdirSync(join(newSite, 'pkg')).filter((f) => /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.wasm$/.test(f))) {
    const brotli = statSync(join(newSite, 'pkg', `${file}.br`)).size;
    const delta = readdirSync(deltas).find((d) => d.startsWith(`${file}.`) && statSync(join(deltas, d)).size > 0);
    let dcz = null;
    if (delta) {
      const hash = delta.slice(file.length + 1, -'.dcz'.length);
      const stem = file.split('.')[0];
      const dictionary = readdirSync(join(data, 'releases'))
        .filter((f) => f.endsWith('.wasm') && f.startsWith(`${stem}.`))
        .map((f) => join(data, 'releases', f))
        .find((p) => createHash('sha256').update(readFileSync(p)).digest('hex') === hash);
      const body = readFileSync(join(deltas, delta));
      const decoded = spawnSync('zstd', ['-d', '-q', '-c', `--patch-from=${dictionary}`], { input: body.subarray(40), maxBuffer: 64 << 20 });
      if (decoded.status !== 0 || !decoded.stdout.equals(readFileSync(join(newSite, 'pkg', file)))) {
        throw new Error(`the delta ${delta} does not decode to ${file}: ${decoded.stderr}`);
      }
      dcz = body.length;
    }
    // A file of the same name is the same file: the phone has it already.
    const kept = existsSync(join(oldSite, 'pkg', file));
    rows.push({ file, phone: field.has(file), brotli, dcz, kept });
  }
  const found = rows.filter((r) => r.dcz !== null).length;
  if (found !== made) throw new Error(`the server said it made ${made} deltas; ${found} are in ${deltas}`);
  rows.sort((a, b) => b.brotli - a.brotli);
  for (const r of rows) {
    const dcz = r.kept ? 'unchanged' : `${r.dcz ?? '-'} B dcz`;
    console.log(`${r.file.padEnd(72)} ${r.phone ? 'phone ' : 'office'} ${String(r.brotli).padStart(8)} B brotli ${dcz.padStart(12)}`);
  }
  for (const [label, pick] of [['phone (main module and field chunks)', (r) => r.phone], ['office chunks', (r) => !r.phone]]) {
    const set = rows.filter(pick);
    const brotli = set.filter((r) => !r.kept).reduce((t, r) => t + r.brotli, 0);
    const update = set.filter((r) => !r.kept).reduce((t, r) => t + (r.dcz ?? r.brotli), 0);
    const share = brotli ? ` (${((100 * update) / brotli).toFixed(1)} %)` : '';
    console.log(`${label}, changed files: ${brotli} B brotli, ${update} B as an update with deltas${share}`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
