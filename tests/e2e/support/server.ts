// Starts and stops one `khaosat serve --demo` process for the end-to-end tests.
//
// Used by the global setup (one server for the whole run) and by tests that must kill
// their own server (the offline shell has to survive the server's death). Each server
// gets a free loopback port and a fresh data directory, so runs never share state.

import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, accessSync, constants } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: tests/e2e/support/ is three levels below it. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** How long a server may take from spawn to a healthy `/api/health` (2 slow cores). */
const START_TIMEOUT_MS = Number(process.env.KHAOSAT_E2E_START_TIMEOUT_MS ?? 60_000);

export interface KhaosatServer {
  /** e.g. `http://127.0.0.1:41234` (no trailing slash). */
  readonly baseURL: string;
  readonly port: number;
  readonly dataDir: string;
  /** The server's stdout and stderr, kept after `stop()` for post-mortems. */
  readonly logFile: string;
  readonly process: ChildProcess;
  /** Ends the process abruptly (SIGKILL), as a crash or a pulled plug would. Keeps the data. */
  kill(): Promise<void>;
  /** Ends the process (SIGTERM, then SIGKILL after 5 s) and removes the data directory. */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Label used in log lines and the temp directory name. */
  name?: string;
  /** Another built site (default: $LEPTOS_SITE_ROOT or target/site). */
  siteRoot?: string;
  /** A fixed port, e.g. to restart "the same server" on the same origin. */
  port?: number;
  /** An existing data directory to serve (kept on stop); default: a fresh one. */
  dataDir?: string;
  /** Keep the data directory on stop, so another server can take it over. */
  keepData?: boolean;
  /** More `serve` arguments, e.g. `['--database-url', url]` (two_servers_behind_a_tls_proxy). */
  args?: readonly string[];
  /** Another server binary (its directory's `hash.txt` names the bundle), e.g. a release before. */
  binary?: string;
  /** More environment variables for the process, e.g. the `AWS_*` of `--photo-store s3://…`. */
  env?: Readonly<Record<string, string>>;
}

/** The server binary: `$KHAOSAT_BIN` (relative paths from the repo root) or the release build. */
export function serverBinary(): string {
  const configured = process.env.KHAOSAT_BIN;
  return configured ? resolve(REPO_ROOT, configured) : join(REPO_ROOT, 'target', 'release', 'khaosat');
}

/** Asks the kernel for a free loopback port. */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      if (address === null || typeof address === 'string') {
        probe.close();
        reject(new Error('could not read the probe port'));
        return;
      }
      const { port } = address;
      probe.close(() => resolvePort(port));
    });
  });
}

function tail(file: string, lines = 40): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => child.once('exit', () => done()));
}

async function healthy(baseURL: string): Promise<boolean> {
  try {
    const response = await fetch(`${baseURL}/api/health`, { signal: AbortSignal.timeout(2_000) });
    if (!response.ok) return false;
    const body = (await response.json()) as { status?: unknown };
    return body.status === 'ok';
  } catch {
    return false;
  }
}

/** Spawns `khaosat serve --demo` from the repo root and resolves once `/api/health` says ok. */
export async function startServer(options: StartOptions = {}): Promise<KhaosatServer> {
  const name = options.name ?? 'server';
  const binary = options.binary ?? serverBinary();
  try {
    accessSync(binary, constants.X_OK);
  } catch {
    throw new Error(
      `khaosat binary not found or not executable at ${binary}. Build the release first ` +
        '(cargo leptos build --release) or point KHAOSAT_BIN at a binary.',
    );
  }
  const siteRoot = options.siteRoot ?? process.env.LEPTOS_SITE_ROOT ?? 'target/site';
  if (!existsSync(resolve(REPO_ROOT, siteRoot))) {
    console.warn(`[khaosat ${name}] warning: site root ${resolve(REPO_ROOT, siteRoot)} does not exist`);
  }

  const runDir = mkdtempSync(join(tmpdir(), `khaosat-e2e-${name}-`));
  const ownData = options.dataDir === undefined;
  const dataDir = options.dataDir ?? join(runDir, 'data');
  if (ownData) mkdirSync(dataDir);
  const logFile = join(runDir, 'server.log');
  const log = createWriteStream(logFile);
  const port = options.port ?? (await freePort());
  const baseURL = `http://127.0.0.1:${port}`;

  const args = ['serve', '--demo', '--addr', `127.0.0.1:${port}`, '--data-dir', dataDir, ...(options.args ?? [])];
  const child = spawn(binary, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, ...options.env, LEPTOS_SITE_ROOT: siteRoot },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Stream the server's output to the console too when asked (noisy, but handy locally).
  const echo = process.env.KHAOSAT_E2E_SERVER_LOG === 'inherit';
  child.stdout?.on('data', (chunk: Buffer) => {
    log.write(chunk);
    if (echo) process.stdout.write(`[khaosat ${name}] ${chunk}`);
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    log.write(chunk);
    if (echo) process.stderr.write(`[khaosat ${name}] ${chunk}`);
  });
  // Never leave a server behind if the runner itself dies.
  const reap = () => child.kill('SIGKILL');
  process.once('exit', reap);

  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(await healthy(baseURL))) {
    if (child.exitCode !== null || child.signalCode !== null) {
      process.removeListener('exit', reap);
      throw new Error(
        `khaosat ${name} exited (${child.exitCode ?? child.signalCode}) before it was healthy; ` +
          `log ${logFile}:\n${tail(logFile)}`,
      );
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      await exited(child);
      process.removeListener('exit', reap);
      throw new Error(
        `khaosat ${name} was not healthy at ${baseURL}/api/health within ${START_TIMEOUT_MS} ms; ` +
          `log ${logFile}:\n${tail(logFile)}`,
      );
    }
    await new Promise((wait) => setTimeout(wait, 200));
  }
  console.log(`[khaosat ${name}] pid ${child.pid} at ${baseURL}, data ${dataDir}, log ${logFile}`);

  const end = async (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited(child);
  };

  return {
    baseURL,
    port,
    dataDir,
    logFile,
    process: child,
    async kill() {
      await end('SIGKILL');
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited(child);
        clearTimeout(timer);
      }
      process.removeListener('exit', reap);
      log.end();
      const keep = process.env.KHAOSAT_E2E_KEEP_DATA === '1' || options.keepData || !ownData;
      if (!keep) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
