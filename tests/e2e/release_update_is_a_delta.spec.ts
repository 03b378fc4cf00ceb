// After a release, a phone downloads the new module as a delta from the one it
// holds (Compression Dictionary Transport, `dcz`), through the page and through
// the service worker's precache, and the app still starts.
//
// "The release before" is this build with its main module changed (a custom
// section appended, which engines ignore) under another hash, served by the
// same binary with that hash in the `hash.txt` beside it.

import { copyFileSync, cpSync, linkSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { expect, test } from './support/fixtures';
import { REPO_ROOT, serverBinary, startServer, type KhaosatServer } from './support/server';
import { ensureServiceWorkerControls } from './support/serviceWorker';
import { LoginPage } from './pages/LoginPage';

const PREVIOUS = 'theReleaseBefore0000000';
const siteRoot = resolve(REPO_ROOT, process.env.LEPTOS_SITE_ROOT ?? 'target/site');
let servers: KhaosatServer[] = [];
let scratch = '';
let currentHash = '';

/** A wasm custom section (id 0): engines skip it, so the module still runs. */
function customSection(name: string, payload: string): Buffer {
  const leb = (n: number) => {
    const out: number[] = [];
    do {
      let byte = n & 0x7f;
      n >>>= 7;
      if (n) byte |= 0x80;
      out.push(byte);
    } while (n);
    return Buffer.from(out);
  };
  const content = Buffer.concat([leb(name.length), Buffer.from(name), Buffer.from(payload)]);
  return Buffer.concat([Buffer.from([0]), leb(content.length), content]);
}

/** The server's log without colours, once `pattern` is in it. */
function logMatch(server: KhaosatServer, pattern: RegExp): string {
  // eslint-disable-next-line no-control-regex
  const text = readFileSync(server.logFile, 'utf8').replace(/\x1b\[[0-9;]*m/g, '');
  return pattern.exec(text)?.[1] ?? 'not yet';
}

test.beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'khaosat-previous-release-'));
  const hashes = readFileSync(join(dirname(serverBinary()), 'hash.txt'), 'utf8');
  currentHash = /^wasm:\s*(\S+)/m.exec(hashes)![1];
  const site = join(scratch, 'site');
  // With their times, so its server finds the brotli copies fresh.
  cpSync(siteRoot, site, { recursive: true, preserveTimestamps: true });
  const pkg = join(site, 'pkg');
  const module = readFileSync(join(pkg, `khaosat.${currentHash}.wasm`));
  for (const file of readdirSync(pkg).filter((f) => f.startsWith(`khaosat.${currentHash}.wasm`))) {
    unlinkSync(join(pkg, file));
  }
  writeFileSync(join(pkg, `khaosat.${PREVIOUS}.wasm`), Buffer.concat([module, customSection('khaosat', 'the release before')]));
  // The binary reads hash.txt from its own directory: a link (or a copy) beside another one.
  const bin = join(scratch, 'bin');
  mkdirSync(bin);
  try {
    linkSync(serverBinary(), join(bin, 'khaosat'));
  } catch {
    copyFileSync(serverBinary(), join(bin, 'khaosat'));
  }
  writeFileSync(join(bin, 'hash.txt'), hashes.replace(/^wasm:.*$/m, `wasm: ${PREVIOUS}`));
});

test.afterAll(async () => {
  for (const server of servers) await server.stop();
  if (servers[0]) rmSync(servers[0].dataDir, { recursive: true, force: true });
  rmSync(scratch, { recursive: true, force: true });
});

test('after a release the new module comes as a delta from the old one, and the app starts', async ({ newContext }) => {
  // Two servers start and compress a release each, on two busy cores.
  test.setTimeout(180_000);
  const previous = await startServer({
    name: 'previous',
    binary: join(scratch, 'bin', 'khaosat'),
    siteRoot: join(scratch, 'site'),
    keepData: true,
  });
  servers.push(previous);
  // The page alone (no worker between it and the network), and a phone with its worker.
  const bare = await newContext({ baseURL: previous.baseURL, label: 'no worker', serviceWorkers: 'block' });
  const page = await bare.newPage();
  const login = new LoginPage(page);
  const phone = await newContext({ baseURL: previous.baseURL, label: 'phone' });
  const phonePage = await phone.newPage();
  const phoneLogin = new LoginPage(phonePage);

  await test.step('the release before: each browser keeps its module as a dictionary', async () => {
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith(`/pkg/khaosat.${PREVIOUS}.wasm`)),
      login.goto(),
    ]);
    expect(await response.headerValue('use-as-dictionary')).toBe('match="/pkg/khaosat.*.wasm"');
    await login.expectShown();
    // Chromium stores the dictionary once the body is read: a request that
    // matches its pattern carries its hash from then on.
    await expect
      .poll(async () => {
        const [request] = await Promise.all([
          page.waitForRequest((r) => r.url().endsWith('/pkg/khaosat.probe.wasm')),
          page.evaluate(() => fetch('/pkg/khaosat.probe.wasm').then((r) => r.status)),
        ]);
        return (await request.allHeaders())['available-dictionary'] ?? 'none';
      })
      .toMatch(/^:[A-Za-z0-9+/]{43}=:$/);
    await phoneLogin.goto();
    await phoneLogin.expectShown();
    await ensureServiceWorkerControls(phonePage, () => phoneLogin.waitHydrated());
  });

  let next: KhaosatServer | undefined;
  await test.step('the next release starts on the same address and makes its delta', async () => {
    await previous.stop();
    next = await startServer({ name: 'next', port: previous.port, dataDir: previous.dataDir });
    servers.push(next);
    await expect.poll(() => logMatch(next!, /release deltas ready: (\d+) files/), { timeout: 60_000 }).toBe('1');
  });

  await test.step("the phone's worker precaches the new module as a delta too", async () => {
    await phonePage.evaluate(async () => {
      await (await navigator.serviceWorker.getRegistration())?.update();
    });
    await expect
      .poll(() => phonePage.evaluate(async () => (await navigator.serviceWorker.getRegistration())?.waiting?.state ?? null))
      .toBe('installed');
    // The worker's request is the only one for the new module so far.
    const route = `/pkg/khaosat.${currentHash}.wasm`.replace(/[.]/g, '\\.');
    expect(logMatch(next!, new RegExp(`route=${route} status=200 encoding=(\\S*)`))).toBe('dcz');
  });
  await test.step('a reload downloads the new module as a delta, and the app starts', async () => {
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith(`/pkg/khaosat.${currentHash}.wasm`)),
      page.reload(),
    ]);
    expect(await response.headerValue('content-encoding')).toBe('dcz');
    expect((await response.request().allHeaders())['available-dictionary']).toMatch(/^:.{44}:$/);
    const onTheWire = (await response.request().sizes()).responseBodySize;
    const brotli = statSync(join(siteRoot, 'pkg', `khaosat.${currentHash}.wasm.br`)).size;
    expect(onTheWire, `${onTheWire} B on the wire against ${brotli} B of brotli`).toBeLessThan(brotli / 10);
    await login.expectShown();
  });

});
