// Two khaosat processes behind Debian's nginx, as a deployment runs them (issue 19).
// One file (about 440 lines): one scenario whose steps depend on each other, with the
// nginx, S3 and certificate set-up only it uses.
//
// The set-up:
// one PostgreSQL database, photos in S3-compatible object storage (s3s-fs, one
// bucket, `--photo-store s3://khaosat/e2e-…`) and no disk shared between the
// processes (each its own --data-dir, no --photo-dir), nginx terminating TLS with a
// test certificate and balancing round robin, each process with --trusted-proxy and
// the public https origin. The whole phone path goes through the proxy: login, pull,
// push, a photo upload, the supervisor's review. While the photo uploads, the
// connection is cut (page.route holds the second PATCH and aborts it) and the
// process that acknowledged the bytes so far is killed (SIGKILL) at that moment,
// so the upload can only resume on the other process. Nothing may be lost: every
// answer (the ones pushed before the kill and the ones given after it), the photo
// with exactly the bytes the phone sent, and the review; the survivor ends up running
// the background jobs. The photo's original is an object in the bucket with those
// bytes, no upload block is left there, and neither process's data directory holds
// any photo.
//
// Which process served what comes from nginx's access log ($upstream_addr), checked
// against each process's own request log through the request id nginx passes on.

import type { BrowserContext, Route } from '@playwright/test';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DESKTOP, PHONE, expect, test } from './support/fixtures';
import { SUPERVISOR, proposalsInScope } from './support/demo';
import { makeJpeg } from './support/images';
import { NGINX_BINARY, answeredBy, startTlsProxy, type ProxiedRequest, type TlsProxy } from './support/nginx';
import { adminUrl, createTestDatabase, type TestDatabase } from './support/postgres';
import { s3sFsBinary, startS3Server, type S3Server } from './support/s3';
import { freePort, startServer, type KhaosatServer } from './support/server';
import { ensureServiceWorkerControls } from './support/serviceWorker';
import { HomePage } from './pages/HomePage';
import { LoginPage } from './pages/LoginPage';
import { ReviewPage } from './pages/ReviewPage';
import { VisitPage } from './pages/VisitPage';

const GPS = { latitude: 21.273112, longitude: 106.194611, accuracy: 12 };
/** What a phone and a desktop need to open the proxy's self-signed origin. */
const TRUST_TEST_CERTIFICATE = { ignoreHTTPSErrors: true };

// ignoreHTTPSErrors lets pages load, but Chromium still refuses to fetch a service
// worker script over a certificate it does not trust ("An SSL certificate error
// occurred when fetching the script"): this browser ignores certificate errors
// altogether. It only ever opens 127.0.0.1.
test.use({
  launchOptions: [
    async ({ launchOptions }, use) => {
      await use({ ...launchOptions, args: [...(launchOptions.args ?? []), '--ignore-certificate-errors'] });
    },
    { scope: 'worker' },
  ],
});

/** Answers pushed while both processes run. */
const BEFORE_KILL = {
  visit_date: '15/06/2020',
  phone: '0204 3854 123',
  main_products: 'Máy tuốt lúa, máy cày mini',
  workforce: '25',
};
/** Answers given after one process died. */
const AFTER_KILL = {
  requested_amount: '150.000.000',
  reason: 'Thay máy tiện cũ để tăng năng suất',
  suggested_amount: '120000000',
  team_members: 'Nguyễn Văn An, Trần Thị Bình',
};

/** Outside scripts/test.sh a missing dependency skips the spec; in CI it fails it. */
function requireOrSkip(problem: string | undefined): void {
  if (problem === undefined) return;
  if (process.env.CI) throw new Error(problem);
  test.skip(true, problem);
}

/** Whether this process logged the request (khaosat logs nginx's X-Request-Id as its request_id). */
function logged(server: KhaosatServer, id: string): boolean {
  return readFileSync(server.logFile, 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .some((line) => {
      const entry = JSON.parse(line) as { target?: string; fields?: { request_id?: string } };
      return entry.target === 'khaosat::request' && entry.fields?.request_id === id;
    });
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** Every file under `dir`, with its path relative to `dir`. */
function filesUnder(dir: string, base = dir): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return filesUnder(path, base);
    return entry.isFile() ? [path.slice(base.length + 1)] : [];
  });
}

/** `GET /api/ready` of one process, straight to it (not through nginx). */
async function readiness(server: KhaosatServer): Promise<{ status: string; runs_background_jobs: boolean }> {
  const response = await fetch(`${server.baseURL}/api/ready`);
  return response.json();
}

test('two processes behind a TLS proxy serve the whole phone path, and killing one mid-upload loses nothing', async ({
  newContext,
}) => {
  test.setTimeout(300_000);
  const admin = adminUrl();
  requireOrSkip('missing' in admin ? admin.missing : undefined);
  requireOrSkip(existsSync(NGINX_BINARY) ? undefined : `no nginx at ${NGINX_BINARY} (apt-get install -y nginx)`);
  requireOrSkip(
    s3sFsBinary() ? undefined : 'no s3s-fs (cargo install s3s-fs@0.14.1 --locked --features binary, as scripts/test.sh does)',
  );
  if (!('url' in admin)) return;

  let database: TestDatabase | undefined;
  let proxy: TlsProxy | undefined;
  let s3: S3Server | undefined;
  const servers: KhaosatServer[] = [];
  const contexts: BrowserContext[] = [];
  // The processes' photo store: a prefix of its own in the bucket, as another
  // installation sharing the bucket would have.
  const prefix = `e2e-${randomBytes(4).toString('hex')}`;
  try {
    database = createTestDatabase(admin.url, 'two_servers');
    // Listening (TCP) before the processes start: their start-up checks the store.
    s3 = await startS3Server({ bucket: 'khaosat' });
    const bucket = s3;
    const proxyPort = await freePort();
    const publicOrigin = `https://127.0.0.1:${proxyPort}`;
    const db = database;

    await test.step('two processes start together on one empty database and one bucket, sharing no disk; nginx balances them', async () => {
      const flags = [
        '--database-url', db.url,
        '--photo-store', `s3://${bucket.bucket}/${prefix}`,
        '--trusted-proxy', '127.0.0.1',
        '--public-origin', publicOrigin,
        '--secure-cookies',
        '--log-format', 'json',
      ];
      // Started at once: the start-up lock makes one migrate and load the demo.
      servers.push(
        ...(await Promise.all([
          startServer({ name: 'one', args: flags, env: bucket.env() }),
          startServer({ name: 'two', args: flags, env: bucket.env() }),
        ])),
      );
      expect(servers[0].dataDir).not.toBe(servers[1].dataDir);
      expect(bucket.objects(prefix), 'the first start marked the store').toEqual(['store-id']);
      proxy = await startTlsProxy({ port: proxyPort, upstreams: servers.map((s) => `127.0.0.1:${s.port}`) });
      expect(proxy.url).toBe(publicOrigin);
      await expect
        .poll(async () => (await Promise.all(servers.map(readiness))).map((r) => `${r.status} ${r.runs_background_jobs}`).sort(), {
          message: 'both ready, one of them running the background jobs',
        })
        .toEqual(['ready false', 'ready true']);
    });
    const tls = proxy!;
    const addr = (server: KhaosatServer) => `127.0.0.1:${server.port}`;

    const phone = await newContext({
      ...PHONE,
      ...TRUST_TEST_CERTIFICATE,
      baseURL: tls.url,
      geolocation: GPS,
      permissions: ['geolocation'],
      label: 'phone',
    });
    contexts.push(phone);
    const page = await phone.newPage();
    const login = new LoginPage(page);
    const home = new HomePage(page);
    const visit = new VisitPage(page);

    await test.step('an inspector logs in over https and the first pull lists the proposals in scope', async () => {
      await page.goto('/');
      await login.expectShown();
      await login.loginAs('ksv1');
      await home.expectShown();
      await home.expectSynced();
      await home.expectProposalCount(proposalsInScope('ksv1'));
      const cookies = await phone.cookies();
      expect(cookies.length, 'a session cookie').toBeGreaterThan(0);
      expect(cookies.filter((c) => !c.secure).map((c) => c.name), 'every cookie is Secure behind the TLS proxy').toEqual([]);
    });

    await test.step('the service worker installs under the test certificate', async () => {
      await ensureServiceWorkerControls(page, () => home.waitHydrated());
    });

    let visitId = '';
    await test.step('the first answers are saved and pushed while both processes run', async () => {
      visitId = await home.startVisit(home.proposalItems.first());
      await expect(visit.form).toBeVisible();
      await visit.select('name_confirmed', 'yes');
      await visit.select('owner_confirmed', 'yes');
      await visit.select('address_confirmed', 'yes');
      await visit.fillField('visit_date', BEFORE_KILL.visit_date);
      await visit.click(page.getByTestId('field-location-gps'));
      await expect(page.getByTestId('field-location-accuracy')).toContainText('±12 m');
      await visit.fillField('phone', BEFORE_KILL.phone);
      await visit.fillField('main_products', BEFORE_KILL.main_products);
      await visit.select('industry_group', 'mechanical');
      await visit.fillField('workforce', BEFORE_KILL.workforce);
      await visit.save();
      await visit.expectSyncState('synced', 30_000);
    });

    await test.step('round robin: both processes served the phone, as nginx and their own logs say', async () => {
      // The phone's, not the proxy's start-up check.
      const phoneApi = () => tls.requests().filter((r) => r.uri.startsWith('/api/') && r.uri !== '/api/health');
      // Round robin counts the page's assets too, so login, pull and push may all
      // have gone to one process; each further sync run sends the next API request
      // to the other one.
      await expect
        .poll(
          async () => {
            const upstreams = [...new Set(phoneApi().map(answeredBy))].sort();
            if (upstreams.length < servers.length && (await home.syncStatus.getAttribute('data-state')) !== 'syncing') {
              await home.syncButton.click();
            }
            return upstreams;
          },
          { message: "both processes served some of the phone's API requests", timeout: 30_000, intervals: [500] },
        )
        .toEqual(servers.map(addr).sort());
      await expect(home.syncStatus).toHaveAttribute('data-state', 'ok', { timeout: 30_000 });
      const api = phoneApi();
      for (const server of servers) {
        const served = api.filter((r) => answeredBy(r) === addr(server));
        expect(served.length, `${addr(server)} served some of the phone's API requests`).toBeGreaterThan(0);
        // The log reaches its file through a pipe: wait for it rather than race it.
        await expect
          .poll(() => served.filter((r) => !logged(server, r.id)).map((r) => `${r.method} ${r.uri}`), {
            message: `${addr(server)} logged every request nginx sent it`,
          })
          .toEqual([]);
      }
      const pushes = api.filter((r) => r.method === 'POST' && r.uri === '/api/sync/push');
      expect(pushes.length, 'the answers were pushed through the proxy').toBeGreaterThan(0);
      expect(pushes.every((r) => r.status === 200)).toBe(true);
    });

    // The cut: the second PATCH is held, then aborted the moment the process that
    // acknowledged the first one is killed.
    const patches: { offset: number; body: Buffer; cut: boolean }[] = [];
    let held: Route | undefined;
    let cutting = true;
    await page.route('**/api/uploads/**', async (route) => {
      const request = route.request();
      if (request.method() !== 'PATCH') return route.continue();
      const entry = {
        offset: Number(request.headers()['upload-offset']),
        body: request.postDataBuffer() ?? Buffer.alloc(0),
        cut: false,
      };
      if (cutting && patches.length === 1) {
        entry.cut = true;
        patches.push(entry);
        held = route;
        return;
      }
      patches.push(entry);
      return route.continue();
    });

    const photo = await makeJpeg(page, 2048, 1536, 0.9, { noise: true });
    const item = visit.photoItems('evidence_photos').first();
    let uploadUri = '';
    let victim: KhaosatServer | undefined;
    let survivor: KhaosatServer | undefined;
    let acknowledged: ProxiedRequest | undefined;
    await test.step('a photo uploads; mid-upload the link is cut and the process holding its bytes is killed', async () => {
      await visit.field('evidence_photos').getByTestId('photo-input-gallery').setInputFiles({
        name: 'IMG_XUONG.jpg',
        mimeType: 'image/jpeg',
        buffer: photo,
      });
      await expect(visit.photoItems('evidence_photos')).toHaveCount(1, { timeout: 60_000 });
      await expect.poll(() => held !== undefined, { message: 'the second chunk is on its way', timeout: 60_000 }).toBe(true);
      uploadUri = new URL(held!.request().url()).pathname;
      await expect
        .poll(() => tls.requests().filter((r) => r.method === 'PATCH' && r.uri === uploadUri && r.status === 204).length, {
          message: 'nginx logged the acknowledged first chunk',
        })
        .toBe(1);
      acknowledged = tls.requests().find((r) => r.method === 'PATCH' && r.uri === uploadUri && r.status === 204)!;
      victim = servers.find((s) => addr(s) === answeredBy(acknowledged!));
      survivor = servers.find((s) => s !== victim);
      expect(victim, `the first chunk went to one of the two processes (${acknowledged.upstream})`).toBeDefined();
      await expect.poll(() => logged(victim!, acknowledged!.id), { message: 'and that process logged it' }).toBe(true);
      await victim!.kill();
      expect(victim!.process.signalCode).toBe('SIGKILL');
      cutting = false;
      await held!.abort('connectionreset');
    });
    const dead = victim!;
    const alive = survivor!;

    await test.step('after the kill the inspector answers the rest and submits through the survivor', async () => {
      await visit.select('support_kind', 'machinery');
      await visit.fillField('requested_amount', AFTER_KILL.requested_amount);
      await visit.fillField('reason', AFTER_KILL.reason);
      await visit.select('spillover_effect', 'high');
      await visit.select('feasibility', 'medium');
      await visit.select('scale', 'small');
      await visit.select('team_suggestion', 'provincial');
      await visit.fillField('suggested_amount', AFTER_KILL.suggested_amount);
      await visit.fillField('team_members', AFTER_KILL.team_members);
      await visit.click(visit.finalizeButton);
      await expect(page.getByTestId('visit-submit-queued')).toBeVisible();
      await visit.expectSyncState('synced', 60_000);
      await visit.expectReviewState('submitted', 30_000);
    });

    await test.step('the upload resumed on the other process from the last acknowledged byte and the photo is ok', async () => {
      await expect
        .poll(
          async () => {
            // A sync run retries what a failed run left (the engine's backoff may be long).
            await page.getByTestId('sync-button').click({ timeout: 2_000 }).catch(() => {});
            return item.getAttribute('data-state');
          },
          { message: 'the photo reaches the server and is judged ok', timeout: 120_000, intervals: [2_000] },
        )
        .toBe('ok');
      // The blocks are put together and deleted before the photo is judged.
      expect(
        bucket.objects(prefix).filter((key) => key.startsWith('uploads/')),
        'no upload block is left in the bucket once the photo is ok',
      ).toEqual([]);
      const first = patches[0];
      const resumed = patches.find((p, i) => i > 1 && !p.cut);
      expect(resumed, 'a PATCH after the cut').toBeDefined();
      expect(resumed!.offset, 'resumed from the acknowledged byte, not from 0').toBe(first.offset + first.body.length);
      expect(resumed!.offset).toBeGreaterThan(0);

      const upload = tls.requests().filter((r) => r.uri === uploadUri);
      const afterCut = upload.slice(upload.indexOf(upload.find((r) => r.id === acknowledged!.id)!) + 1);
      expect(afterCut.some((r) => r.method === 'HEAD' && r.status === 200), 'the phone asked for the offset').toBe(true);
      expect(afterCut.some((r) => r.method === 'PATCH' && r.status === 204)).toBe(true);
      for (const request of afterCut) {
        expect(answeredBy(request), `${request.method} ${request.uri} after the cut`).toBe(addr(alive));
        if (request.status < 500) await expect.poll(() => logged(alive, request.id)).toBe(true);
      }
      const servedBy = new Set(upload.filter((r) => r.status < 500).map(answeredBy));
      expect([...servedBy].sort(), "the upload's requests were served by both processes").toEqual([addr(dead), addr(alive)].sort());
    });

    let sent = Buffer.alloc(0);
    let photoSha = '';
    await test.step('the supervisor reviews every answer and the photo, byte for byte, and approves', async () => {
      const office = await newContext({ ...DESKTOP, ...TRUST_TEST_CERTIFICATE, baseURL: tls.url, label: 'desktop' });
      contexts.push(office);
      const officePage = await office.newPage();
      const review = new ReviewPage(officePage);
      await new LoginPage(officePage).goto();
      await new LoginPage(officePage).loginAs(SUPERVISOR);
      await review.ensureShown();
      await review.openVisit(visitId);
      await expect(review.state).toHaveAttribute('data-state', 'submitted');
      await expect(review.answer('visit_date')).toHaveText(BEFORE_KILL.visit_date);
      await expect(review.answer('phone')).toHaveText(BEFORE_KILL.phone);
      await expect(review.answer('main_products')).toHaveText(BEFORE_KILL.main_products);
      await expect(review.answer('workforce')).toHaveText(BEFORE_KILL.workforce);
      await expect(review.answer('requested_amount')).toContainText('150.000.000');
      await expect(review.answer('reason')).toHaveText(AFTER_KILL.reason);
      await expect(review.answer('suggested_amount')).toContainText('120.000.000');
      await expect(review.answer('team_members')).toHaveText(AFTER_KILL.team_members);

      const gallery = officePage.getByTestId('gallery-photo');
      await expect(gallery).toHaveCount(1);
      const photoId = await item.getAttribute('data-photo-id');
      await expect(gallery.first()).toHaveAttribute('data-photo-id', photoId!);
      const record = await (await officePage.request.get(`/api/photos/${photoId}`)).json();
      expect(record.status).toBe('ok');
      // The bytes the phone sent, put together from the chunks that went through.
      sent = Buffer.alloc(record.size);
      let end = 0;
      for (const patch of patches.filter((p) => !p.cut).sort((a, b) => a.offset - b.offset)) {
        expect(patch.offset, 'the chunks follow each other').toBe(end);
        patch.body.copy(sent, patch.offset);
        end = patch.offset + patch.body.length;
      }
      expect(end, 'the chunks cover the whole file').toBe(record.size);
      const original = await officePage.request.get(`/api/photos/${photoId}/original`);
      expect(original.status()).toBe(200);
      const stored = await original.body();
      expect(sha256(stored)).toBe(record.sha256);
      expect(sha256(sent), 'the phone sent the bytes of its record').toBe(record.sha256);
      expect(stored.equals(sent), 'the stored original is exactly what the phone sent').toBe(true);
      photoSha = record.sha256;

      await review.approve();
    });

    await test.step('the photo lives in the bucket, not on either process\'s disk', async () => {
      const objects = bucket.objects(prefix);
      expect(objects, 'the original, by content hash').toContain(`photos/original/${photoSha}.jpg`);
      const original = bucket.read(`${prefix}/photos/original/${photoSha}.jpg`);
      expect(original.equals(sent), 'the object holds exactly the bytes the phone sent').toBe(true);
      expect(objects.filter((key) => key.startsWith('uploads/')), 'no upload block left').toEqual([]);
      expect(objects.filter((key) => key.startsWith('photos/')).length, 'its display copy and thumbnail too').toBeGreaterThan(1);
      for (const server of [dead, alive]) {
        const kept = filesUnder(server.dataDir);
        expect(kept.filter((f) => /(^|\/)(photos|uploads)\//.test(f)), `no photo directory in ${server.dataDir}`).toEqual([]);
        expect(
          kept.filter((f) => sha256(readFileSync(join(server.dataDir, f))) === photoSha),
          `the photo's bytes are nowhere in ${server.dataDir}`,
        ).toEqual([]);
      }
    });

    await test.step('the phone hears of the approval through the survivor', async () => {
      await visit.click(home.syncButton);
      await visit.expectReviewState('approved', 30_000);
      await visit.expectSyncState('synced');
      await expect(home.syncStatus).not.toHaveAttribute('data-state', 'error');
    });

    await test.step('the survivor runs the background jobs (at once, or once the dead one\'s 30 s lease ran out)', async () => {
      await expect
        .poll(() => readiness(alive), {
          message: 'the survivor took over the background-jobs lease',
          timeout: 60_000,
          intervals: [1_000],
        })
        .toEqual(expect.objectContaining({ status: 'ready', runs_background_jobs: true }));
    });
  } finally {
    for (const context of contexts) await context.close().catch(() => undefined);
    await proxy?.stop();
    for (const server of servers) await server.stop();
    await s3?.stop();
    database?.drop();
  }
});
