// The size check of the test command, on a made-up site: what it counts for
// /login and for the inspector's home, and when it fails.
//   node --test tests/bench/bundle_size.test.mjs

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants } from 'node:zlib';

const script = join(dirname(fileURLToPath(import.meta.url)), 'bundle_size.mjs');

function brotli(bytes) {
  return brotliCompressSync(bytes, {
    params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_LGWIN]: 22 },
  }).length;
}

/** A site with random (incompressible) files: sizes in bytes per file. */
function site({ split = true, entries } = {}) {
  const root = mkdtempSync(join(tmpdir(), 'bundle-size-'));
  mkdirSync(join(root, 'pkg'));
  const sizes = {};
  const put = (name, n) => {
    const bytes = randomBytes(n);
    writeFileSync(join(root, 'pkg', name), bytes);
    sizes[name] = brotli(bytes);
  };
  put('khaosat.J.js', 3000);
  put('khaosat.W.wasm', 20000);
  put('khaosat.C.css', 1000);
  let hashes = 'js: J\nwasm: W\ncss: C\n';
  if (split) {
    put('__wasm_split.S.js', 500);
    for (const [chunk, n] of [['chunk_1.a', 4000], ['chunk_2.b', 6000], ['chunk_3.c', 9000],
      ['split_field_pages_11.d', 8000], ['split_field_sync_run_22.e', 5000],
      ['split_office_pages_33.f', 50000], ['split_field_backup_export_44.g', 7000]]) {
      put(`${chunk}.wasm`, n);
    }
    const manifest = entries ?? {
      field_pages_11: ['chunk_1.a', 'chunk_2.b', 'split_field_pages_11.d'],
      field_sync_run_22: ['chunk_2.b', 'split_field_sync_run_22.e'],
      office_pages_33: ['chunk_2.b', 'chunk_3.c', 'split_office_pages_33.f'],
      field_backup_export_44: ['chunk_1.a', 'split_field_backup_export_44.g'],
    };
    writeFileSync(join(root, 'pkg', '__wasm_split_manifest.M.json'), JSON.stringify(manifest));
    hashes += 'manifest: M\nsplit: S\n';
  }
  writeFileSync(join(root, 'hash.txt'), hashes);
  return { root, sizes };
}

function run(root, budget, ...flags) {
  const budgetFile = join(root, 'budget.json');
  writeFileSync(budgetFile, JSON.stringify(budget));
  const out = spawnSync(process.execPath, [script, join(root), join(root, 'hash.txt'), '--budget', budgetFile, ...flags], {
    encoding: 'utf8',
  });
  const number = (label) => Number(new RegExp(`${label} \\(brotli\\): (\\d+) B`).exec(out.stdout)?.[1]);
  return {
    status: out.status,
    stderr: out.stderr,
    login: number('first load, /login'),
    home: number("inspector's home on a cold profile"),
    budget: JSON.parse(readFileSync(budgetFile, 'utf8')),
  };
}

const sum = (sizes, names) => names.reduce((t, n) => t + sizes[n], 0);
const LOGIN = ['khaosat.J.js', 'khaosat.W.wasm', 'khaosat.C.css', '__wasm_split.S.js'];

test('the home counts the field pages and the sync run with each shared chunk once, and no office code', () => {
  const { root, sizes } = site();
  try {
    const r = run(root, { bytes: 1e9, home_bytes: 1e9 });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.login, sum(sizes, LOGIN));
    const home = [...LOGIN, 'chunk_1.a.wasm', 'chunk_2.b.wasm', 'split_field_pages_11.d.wasm', 'split_field_sync_run_22.e.wasm'];
    assert.equal(r.home, sum(sizes, home));
  } finally {
    rmSync(root, { recursive: true });
  }
});

test('fails when the home grows more than 5 % above its recorded number, passes at 5 %', () => {
  const { root, sizes } = site();
  try {
    const home = run(root, { bytes: 1e9, home_bytes: 1e9 }).home;
    const atLimit = Math.ceil(home / 1.05);
    assert.equal(run(root, { bytes: 1e9, home_bytes: atLimit }).status, 0);
    const over = run(root, { bytes: 1e9, home_bytes: Math.floor(home / 1.06) });
    assert.equal(over.status, 1);
    assert.match(over.stderr, /home on a cold profile grew to \d+ B/);
    const loginOver = run(root, { bytes: Math.floor(sum(sizes, LOGIN) / 1.06), home_bytes: 1e9 });
    assert.equal(loginOver.status, 1);
    assert.match(loginOver.stderr, /first load, \/login grew/);
  } finally {
    rmSync(root, { recursive: true });
  }
});

test('a manifest without the field pages fails instead of counting less', () => {
  const { root } = site({ entries: { field_sync_run_22: ['split_field_sync_run_22.e'] } });
  try {
    const r = run(root, { bytes: 1e9, home_bytes: 1e9 });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /no field_pages_… entry/);
  } finally {
    rmSync(root, { recursive: true });
  }
});

test('a budget without a home number fails; --update records both and keeps the why', () => {
  const { root } = site();
  try {
    assert.equal(run(root, { bytes: 1e9 }).status, 1);
    const r = run(root, { bytes: 1, why: 'because' }, '--update');
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.budget, { bytes: r.login, home_bytes: r.home, why: 'because' });
  } finally {
    rmSync(root, { recursive: true });
  }
});

test('an unsplit build counts the same files for the home as for /login', () => {
  const { root, sizes } = site({ split: false });
  try {
    const r = run(root, { bytes: 1e9, home_bytes: 1e9 });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.login, sum(sizes, ['khaosat.J.js', 'khaosat.W.wasm', 'khaosat.C.css']));
    assert.equal(r.home, r.login);
  } finally {
    rmSync(root, { recursive: true });
  }
});
