#!/usr/bin/env node
// The phone's first-load bytes, checked against the number recorded in
// tests/bench/first_load_budget.json: brotli (quality 11, as the server
// precompresses) of what /login needs before it hydrates — the main JS, the
// main WASM, the stylesheet and, in a split build, the chunk loader the main
// JS imports. Lazy chunks (`split_*`, `chunk_*`) are not counted: /login
// never loads them (the field's are precached after it hydrated, the office's
// never reach a phone).
//
// Usage: node bench/bundle_size.mjs SITE_ROOT HASH_FILE [--update]
//   e.g. node bench/bundle_size.mjs ../target/site ../target/server-release/hash.txt
//
// Deterministic (bytes, not time). Exits 1 when the total is more than 5 % above
// the recorded number. Raise the number only with a line in BENCHMARKS.md that
// says why; --update writes the current total (and keeps the reason you give in
// the file's "why").

import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants } from 'node:zlib';

const TOLERANCE = 0.05;
const here = dirname(fileURLToPath(import.meta.url));
const budgetFile = join(here, 'first_load_budget.json');

const [siteRoot, hashFile, flag] = process.argv.slice(2);
if (!siteRoot || !hashFile) {
  console.error('usage: node bench/bundle_size.mjs SITE_ROOT HASH_FILE [--update]');
  process.exit(64);
}
const hashes = Object.fromEntries(
  readFileSync(hashFile, 'utf8')
    .split('\n')
    .map((l) => l.split(':').map((p) => p.trim()))
    .filter(([k, v]) => k && v),
);
const files = [`khaosat.${hashes.js}.js`, `khaosat.${hashes.wasm}.wasm`, `khaosat.${hashes.css}.css`];
if (hashes.split) files.push(`__wasm_split.${hashes.split}.js`);

let total = 0;
for (const name of files) {
  const raw = readFileSync(join(siteRoot, 'pkg', name));
  const br = brotliCompressSync(raw, {
    params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_LGWIN]: 22 },
  }).length;
  total += br;
  console.log(`${name.padEnd(44)} ${String(raw.length).padStart(9)} B raw ${String(br).padStart(8)} B brotli`);
}
const budget = JSON.parse(readFileSync(budgetFile, 'utf8'));
const limit = Math.floor(budget.bytes * (1 + TOLERANCE));
console.log(`first load (brotli): ${total} B; recorded ${budget.bytes} B, limit ${limit} B (+${TOLERANCE * 100} %)`);
if (flag === '--update') {
  writeFileSync(budgetFile, `${JSON.stringify({ ...budget, bytes: total }, null, 2)}\n`);
  console.log(`recorded ${total} B in ${budgetFile}`);
} else if (total > limit) {
  console.error(
    `the phone's first load grew to ${total} B, more than 5 % above the recorded ${budget.bytes} B: ` +
      'find what grew (twiggy), or raise the number in tests/bench/first_load_budget.json with a line in BENCHMARKS.md saying why',
  );
  process.exit(1);
}
