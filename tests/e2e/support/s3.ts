// s3s-fs as the S3-compatible object storage of specs whose khaosat processes share
// no disk (two_servers_behind_a_tls_proxy.spec.ts). The same server the Rust
// object-storage tests run (server/tests/api/object_store.rs): scripts/test.sh
// installs it from crates.io (`cargo install s3s-fs --features binary`).
//
// s3s-fs keeps a bucket as a directory of its root and an object as a file under
// it (`ROOT/BUCKET/KEY`), so a spec can list what the processes stored without an
// S3 client. Its own bookkeeping (multipart parts, metadata) lives in dot files
// directly under ROOT, never inside the bucket's directory.

import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { delimiter, join, relative } from 'node:path';
import { freePort } from './server';

/** How long s3s-fs may take from spawn to accepting connections. */
const START_TIMEOUT_MS = 30_000;
const ACCESS_KEY = 'khaosat-e2e-key';
const SECRET_KEY = 'khaosat-e2e-secret-0123456789';
const REGION = 'us-east-1';

/** `$KHAOSAT_TEST_S3FS`, else `s3s-fs` on PATH, else ~/.cargo/bin/s3s-fs; undefined when none exists. */
export function s3sFsBinary(): string | undefined {
  const configured = process.env.KHAOSAT_TEST_S3FS;
  if (configured) return existsSync(configured) ? configured : undefined;
  const candidates = [
    ...(process.env.PATH ?? '').split(delimiter).filter((d) => d !== '').map((d) => join(d, 's3s-fs')),
    join(homedir(), '.cargo', 'bin', 's3s-fs'),
  ];
  return candidates.find((path) => existsSync(path));
}

export interface S3Server {
  /** `http://127.0.0.1:PORT`. */
  readonly endpoint: string;
  readonly port: number;
  /** The bucket the server was started with. */
  readonly bucket: string;
  /** s3s-fs's root directory; the bucket is `root/bucket`. */
  readonly root: string;
  readonly logFile: string;
  /** The `AWS_*` variables a `khaosat serve --photo-store s3://…` needs to reach this server. */
  env(): Record<string, string>;
  /** The objects under `prefix` in the bucket, as keys relative to `prefix/`, sorted (read from disk). */
  objects(prefix: string): string[];
  /** The bytes of the object `key` (its whole key in the bucket; read from disk). */
  read(key: string): Buffer;
  /** Kills s3s-fs and removes its directory unless KHAOSAT_E2E_KEEP_DATA=1. */
  stop(): Promise<void>;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => child.once('exit', () => done()));
}

function accepts(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => {
      socket.destroy();
      done(false);
    });
  });
}

/** Every file under `dir`, as paths relative to `base` with `/` separators. */
function files(dir: string, base: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return files(path, base);
    return entry.isFile() ? [relative(base, path).split('\\').join('/')] : [];
  });
}

/** Starts s3s-fs on a free loopback port with one empty bucket; resolves once it accepts TCP connections. */
export async function startS3Server(options: { bucket?: string } = {}): Promise<S3Server> {
  const binary = s3sFsBinary();
  if (binary === undefined) {
    throw new Error('no s3s-fs (cargo install s3s-fs@0.14.1 --locked --features binary; or set KHAOSAT_TEST_S3FS)');
  }
  const bucket = options.bucket ?? 'khaosat';
  const dir = mkdtempSync(join(tmpdir(), 'khaosat-e2e-s3-'));
  const root = join(dir, 'root');
  // A bucket is a directory directly under the root.
  mkdirSync(join(root, bucket), { recursive: true });
  const logFile = join(dir, 's3s-fs.log');
  const log = createWriteStream(logFile);
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;

  const child = spawn(
    binary,
    ['--host', '127.0.0.1', '--port', String(port), '--access-key', ACCESS_KEY, '--secret-key', SECRET_KEY, root],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout?.on('data', (chunk: Buffer) => log.write(chunk));
  child.stderr?.on('data', (chunk: Buffer) => log.write(chunk));
  const reap = () => child.kill('SIGKILL');
  process.once('exit', reap);

  const tail = () => {
    try {
      return readFileSync(logFile, 'utf8').split('\n').slice(-20).join('\n');
    } catch {
      return '(no log)';
    }
  };
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(await accepts(port))) {
    if (child.exitCode !== null || child.signalCode !== null) {
      process.removeListener('exit', reap);
      throw new Error(`s3s-fs exited (${child.exitCode ?? child.signalCode}) before it listened:\n${tail()}`);
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      await exited(child);
      process.removeListener('exit', reap);
      throw new Error(`s3s-fs did not accept connections on ${endpoint} within ${START_TIMEOUT_MS} ms:\n${tail()}`);
    }
    await new Promise((wait) => setTimeout(wait, 100));
  }
  console.log(`[s3s-fs] pid ${child.pid} at ${endpoint}, bucket ${bucket}, root ${root}`);

  const bucketDir = join(root, bucket);
  return {
    endpoint,
    port,
    bucket,
    root,
    logFile,
    env() {
      return {
        AWS_ENDPOINT_URL: endpoint,
        AWS_ALLOW_HTTP: 'true',
        AWS_REGION: REGION,
        AWS_ACCESS_KEY_ID: ACCESS_KEY,
        AWS_SECRET_ACCESS_KEY: SECRET_KEY,
      };
    },
    objects(prefix: string) {
      const base = join(bucketDir, prefix);
      return files(base, base).sort();
    },
    read(key: string) {
      return readFileSync(join(bucketDir, key));
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited(child);
      process.removeListener('exit', reap);
      log.end();
      if (process.env.KHAOSAT_E2E_KEEP_DATA !== '1') rmSync(dir, { recursive: true, force: true });
    },
  };
}
