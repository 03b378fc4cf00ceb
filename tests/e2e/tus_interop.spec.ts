// Two standard tus 1.0 clients, neither of them ours, upload a photo to
// /api/uploads/: tus-js-client from Node (several PATCHes of 64 KiB, the first
// bytes in the creating POST) and tuspy from a Python child process (PATCHes
// with a sha1 Upload-Checksum). The photo's record syncs first, as a phone's
// does; afterwards the server says the photo is ok, with its size in pixels, and
// serves back the very bytes sent.
//
// tus-js-client is pinned in package.json; tuspy in interop/requirements.txt,
// installed by run-e2e.sh into tests/.venv, whose python it names in
// KHAOSAT_PYTHON.

import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { APIRequestContext, Page } from '@playwright/test';
import { Upload, type HttpRequest, type HttpResponse } from 'tus-js-client';
import { expect, test } from './support/fixtures';
import { DEMO_PASSWORD, isUuidV7 } from './support/demo';
import { REPO_ROOT } from './support/server';

/** An inspector with proposals in scope; each test logs in as a new device of theirs. */
const INSPECTOR = 'ksv1';
const SCHEMA_VERSION = 3;
const CHUNK = 64 * 1024;

/** A UUIDv7, as every id made on a phone is. */
function uuidv7(): string {
  const bytes = randomBytes(16);
  bytes.writeUIntBE(Date.now(), 0, 6);
  bytes[6] = (bytes[6] & 0x0f) | 0x70;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** A logged-in device that pushes mutations the way the field app does. */
class Device {
  private seq = 0;
  private counter = 0;

  private constructor(
    private readonly api: APIRequestContext,
    readonly deviceId: string,
    /** `name=value`, for a Cookie header. */
    readonly cookie: string,
  ) {}

  static async login(api: APIRequestContext, username: string): Promise<Device> {
    const deviceId = uuidv7();
    const response = await api.post('/api/auth/login', {
      data: { username, password: DEMO_PASSWORD, device_id: deviceId },
    });
    expect(response.status(), await response.text()).toBe(200);
    expect((await response.json()).device_id).toBe(deviceId);
    const setCookie = response.headersArray().find((h) => h.name.toLowerCase() === 'set-cookie');
    expect(setCookie, 'the login sets a session cookie').toBeTruthy();
    return new Device(api, deviceId, setCookie!.value.split(';')[0].trim());
  }

  private hlc(): string {
    this.counter += 1;
    return `${String(Date.now()).padStart(15, '0')}-${String(this.counter).padStart(6, '0')}`;
  }

  mutation(entity: 'visit' | 'photo', recordId: string, fields: Record<string, unknown>) {
    this.seq += 1;
    return {
      seq: this.seq,
      mutation_id: uuidv7(),
      kind: 'upsert',
      entity,
      record_id: recordId,
      fields,
      hlc: this.hlc(),
      base_version: 0,
    };
  }

  /** Pushes the mutations and expects every one applied. */
  async push(mutations: ReturnType<Device['mutation']>[]): Promise<void> {
    const response = await this.api.post('/api/sync/push', {
      headers: { cookie: this.cookie },
      data: { device_id: this.deviceId, schema_version: SCHEMA_VERSION, mutations },
    });
    const text = await response.text();
    expect(response.status(), text).toBe(200);
    const results = (JSON.parse(text) as { results: Array<{ status: string }> }).results;
    expect(results.map((r) => r.status), text).toEqual(mutations.map(() => 'applied'));
  }

  async get(path: string) {
    return this.api.get(path, { headers: { cookie: this.cookie } });
  }

  /** The first proposal the inspector's pull brings. */
  async proposalInScope(): Promise<string> {
    let cursor = 0;
    for (;;) {
      const response = await this.get(`/api/sync/pull?cursor=${cursor}`);
      expect(response.status()).toBe(200);
      const page = (await response.json()) as {
        changes: Array<{ entity: string; record: { id: string } }>;
        cursor: number;
        has_more: boolean;
      };
      const proposal = page.changes.find((c) => c.entity === 'proposal');
      if (proposal) return proposal.record.id;
      if (!page.has_more) throw new Error(`${INSPECTOR}'s pull holds no proposal`);
      cursor = page.cursor;
    }
  }
}

/** A photo record synced inside a new visit, waiting for its bytes. */
interface Waiting {
  device: Device;
  photoId: string;
  bytes: Buffer;
  width: number;
  height: number;
}

/** A noisy JPEG made by the browser's encoder: a few hundred KB, different every time. */
async function makeJpeg(page: Page, width: number, height: number): Promise<Buffer> {
  const bytes = await page.evaluate(
    async ({ width, height, seed }) => {
      // xorshift32: noise from a seed, so no two runs send the same file.
      let state = seed || 1;
      const next = () => {
        state ^= state << 13;
        state ^= state >>> 17;
        state ^= state << 5;
        return state >>> 0;
      };
      const canvas = new OffscreenCanvas(width, height);
      const context = canvas.getContext('2d')!;
      const image = context.createImageData(width, height);
      for (let i = 0; i < image.data.length; i += 4) {
        // Smooth gradients plus some noise: compresses like a photo, not like static.
        const x = (i / 4) % width;
        const y = Math.floor(i / 4 / width);
        const noise = next();
        image.data[i] = (x * 192) / width + (noise & 63);
        image.data[i + 1] = (y * 192) / height + ((noise >>> 8) & 63);
        image.data[i + 2] = 96 + ((noise >>> 16) & 63);
        image.data[i + 3] = 255;
      }
      context.putImageData(image, 0, 0);
      const blob = await canvas.convertToBlob({ type: 'image/jpeg', quality: 0.9 });
      return Array.from(new Uint8Array(await blob.arrayBuffer()));
    },
    { width, height, seed: randomBytes(4).readUInt32LE(0) },
  );
  return Buffer.from(bytes);
}

/** Logs in a new device, syncs a visit and a photo record for a fresh JPEG. */
async function photoWaitingForBytes(page: Page, api: APIRequestContext, client: string): Promise<Waiting> {
  const device = await Device.login(api, INSPECTOR);
  const [width, height] = [960, 720];
  const bytes = await makeJpeg(page, width, height);
  expect(bytes.subarray(0, 3).toString('hex'), 'a JPEG').toBe('ffd8ff');
  expect(bytes.length, 'big enough for several chunks').toBeGreaterThan(3 * CHUNK);
  const visitId = uuidv7();
  const photoId = uuidv7();
  expect(isUuidV7(photoId)).toBe(true);
  const proposalId = await device.proposalInScope();
  await device.push([
    device.mutation('visit', visitId, {
      form_id: 'khuyen-cong',
      form_version: 1,
      proposal_id: proposalId,
      workforce: 25,
    }),
    device.mutation('photo', photoId, {
      visit_id: visitId,
      field: 'evidence_photos',
      sha256: sha256(bytes),
      size: bytes.length,
      content_type: 'image/jpeg',
      caption: `Ảnh gửi bằng ${client}`,
    }),
  ]);
  const before = await device.get(`/api/photos/${photoId}`);
  expect(before.status()).toBe(200);
  expect((await before.json()).status).toBe('waiting');
  return { device, photoId, bytes, width, height };
}

/** The server's verdict is ok, with the right size, and the original is the bytes sent. */
async function expectReceived({ device, photoId, bytes, width, height }: Waiting, client: string): Promise<void> {
  const record = await device.get(`/api/photos/${photoId}`);
  expect(record.status()).toBe(200);
  const photo = await record.json();
  expect(photo, `the photo uploaded by ${client}`).toMatchObject({
    id: photoId,
    status: 'ok',
    width,
    height,
    sha256: sha256(bytes),
    caption: `Ảnh gửi bằng ${client}`,
  });
  const original = await device.get(`/api/photos/${photoId}/original`);
  expect(original.status()).toBe(200);
  expect(original.headers()['content-type']).toBe('image/jpeg');
  const body = await original.body();
  expect(body.length).toBe(bytes.length);
  expect(sha256(body), 'the original is the very file sent').toBe(sha256(bytes));
  const thumb = await device.get(`/api/photos/${photoId}/thumb`);
  expect(thumb.status()).toBe(200);
}

test.describe('tus 1.0 interoperability', () => {
  test('tus-js-client uploads a photo in 64 KiB chunks', async ({ page, request, baseURL }) => {
    const waiting = await photoWaitingForBytes(page, request, 'tus-js-client');
    const exchanges: Array<{ method: string; url: string; status: number; tusResumable: string | undefined; offset: string | undefined }> = [];
    await new Promise<void>((done, fail) => {
      const upload = new Upload(waiting.bytes, {
        endpoint: `${baseURL}/api/uploads/`,
        chunkSize: CHUNK,
        // creation-with-upload: the first chunk rides in the POST.
        uploadDataDuringCreation: true,
        metadata: { photo_id: waiting.photoId, filename: 'ảnh-tus-js.jpg', filetype: 'image/jpeg' },
        headers: { Cookie: waiting.device.cookie },
        // A refusal must fail the test, not be retried away.
        retryDelays: null,
        storeFingerprintForResuming: false,
        onAfterResponse: (request: HttpRequest, response: HttpResponse) => {
          exchanges.push({
            method: request.getMethod(),
            url: request.getURL(),
            status: response.getStatus(),
            tusResumable: response.getHeader('Tus-Resumable') ?? undefined,
            offset: response.getHeader('Upload-Offset') ?? undefined,
          });
        },
        onError: (error) => fail(error),
        onSuccess: () => done(),
      });
      upload.start();
    }).catch((error: Error) => {
      throw new Error(`tus-js-client failed after ${JSON.stringify(exchanges, null, 1)}:\n${error.message}`);
    });

    const size = waiting.bytes.length;
    const [create, ...patches] = exchanges;
    expect(create.method).toBe('POST');
    expect(create.status).toBe(201);
    expect(Number(create.offset), 'the POST carried the first chunk').toBe(CHUNK);
    expect(patches.length).toBe(Math.ceil(size / CHUNK) - 1);
    const uploadUrl = patches[0].url;
    expect(uploadUrl.startsWith(`${baseURL}/api/uploads/`), uploadUrl).toBe(true);
    patches.forEach((patch, i) => {
      expect(patch.method).toBe('PATCH');
      expect(patch.url).toBe(uploadUrl);
      expect(patch.status).toBe(204);
      expect(Number(patch.offset)).toBe(Math.min(size, (i + 2) * CHUNK));
    });
    for (const exchange of exchanges) expect(exchange.tusResumable, `${exchange.method} answer`).toBe('1.0.0');
    console.log(
      `[tus-js-client] ${size} bytes: ` + exchanges.map((e) => `${e.method} ${e.status} @${e.offset}`).join(', '),
    );

    // A finished upload still answers HEAD with its full offset.
    const head = await request.head(uploadUrl, { headers: { cookie: waiting.device.cookie, 'tus-resumable': '1.0.0' } });
    expect(head.status()).toBe(200);
    expect(head.headers()['upload-offset']).toBe(String(size));
    expect(head.headers()['upload-length']).toBe(String(size));

    await expectReceived(waiting, 'tus-js-client');
  });

  test('tuspy uploads a photo in 64 KiB chunks with checksums', async ({ page, request, baseURL }, testInfo) => {
    const python =
      process.env.KHAOSAT_PYTHON ?? [join(REPO_ROOT, 'tests', '.venv', 'bin', 'python')].find(existsSync) ?? 'python3';
    const waiting = await photoWaitingForBytes(page, request, 'tuspy');
    const file = testInfo.outputPath('anh-tuspy.jpg');
    await writeFile(file, waiting.bytes);

    const script = join(REPO_ROOT, 'tests', 'interop', 'tuspy_upload.py');
    const args = [script, baseURL!, waiting.device.cookie, waiting.photoId, file, '--chunk-size', String(CHUNK)];
    const run = await new Promise<{ code: number | null; stdout: string; stderr: string }>((done, fail) => {
      const child = spawn(python, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 45_000 });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
      child.on('error', (error) =>
        fail(new Error(`cannot run ${python} (run through tests/run-e2e.sh, which makes tests/.venv): ${error.message}`)),
      );
      child.on('close', (code) => done({ code, stdout, stderr }));
    });
    if (run.stderr) console.log(`[tuspy] ${run.stderr.trim()}`);
    expect(run.code, `tuspy_upload.py failed:\n${run.stderr}${run.stdout}`).toBe(0);

    const size = waiting.bytes.length;
    const result = JSON.parse(run.stdout.trim().split('\n').pop()!) as {
      url: string;
      offset: number;
      head_offset: number;
      size: number;
      patches: number;
    };
    console.log(`[tuspy] ${size} bytes: ${run.stdout.trim()}`);
    expect(result.url.startsWith(`${baseURL}/api/uploads/`), result.url).toBe(true);
    expect(result).toMatchObject({ offset: size, head_offset: size, size, patches: Math.ceil(size / CHUNK) });

    await expectReceived(waiting, 'tuspy');
  });
});
