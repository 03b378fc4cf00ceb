// Debian's nginx as the TLS-terminating, round-robin reverse proxy in front of
// several khaosat processes (two_servers_behind_a_tls_proxy.spec.ts).
//
// Everything nginx touches lives in one temporary directory: the configuration,
// a self-signed certificate for 127.0.0.1 made with openssl, the pid file, the
// logs and the temp paths, so it never reads /etc/nginx or writes /var. It runs
// in the foreground as a child of the test (`daemon off`), one worker, so the
// round robin is the plain alternation the spec reasons about. The access log
// is one JSON object per request with the upstream that served it and the
// request id nginx passed on (the servers log the same id).

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** How long nginx may take to answer its first proxied health check. */
const START_TIMEOUT_MS = 30_000;

export const NGINX_BINARY = process.env.NGINX_BIN ?? '/usr/sbin/nginx';

/** One line of the access log. */
export interface ProxiedRequest {
  /** nginx's `$request_id`, sent upstream as X-Request-Id and logged by khaosat. */
  id: string;
  method: string;
  /** The path without its query. */
  uri: string;
  status: number;
  /** `$upstream_addr`: `127.0.0.1:PORT`, or several comma-separated when nginx tried the next one. */
  upstream: string;
  upstreamStatus: string;
}

export interface TlsProxy {
  /** `https://127.0.0.1:PORT`: the public origin. */
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  /** The configuration nginx runs with. */
  readonly config: string;
  /** The self-signed certificate (PEM), for clients that should trust it. */
  readonly certificate: string;
  readonly accessLog: string;
  /** Every request logged so far, oldest first. */
  requests(): ProxiedRequest[];
  /** Stops nginx (SIGQUIT, SIGKILL after 5 s) and removes its directory unless KHAOSAT_E2E_KEEP_DATA=1. */
  stop(): Promise<void>;
}

export interface ProxyOptions {
  /** The port nginx listens on (127.0.0.1). */
  port: number;
  /** The khaosat processes, `127.0.0.1:PORT` each. */
  upstreams: readonly string[];
}

/** The last address of `$upstream_addr`: the one that answered. */
export function answeredBy(request: ProxiedRequest): string {
  return request.upstream.split(',').map((s) => s.trim()).pop() ?? '';
}

/**
 * The configuration the README shows, with paths under `dir`. Kept as one
 * template so the spec tests exactly what the documentation says.
 */
export function nginxConfig(dir: string, options: ProxyOptions): string {
  const servers = options.upstreams.map((u) => `    server ${u} max_fails=1 fail_timeout=30s;`).join('\n');
  // Running as root (CI containers), the workers would drop to `nobody`, which
  // cannot write the temp paths inside a private temp directory.
  const user = process.getuid?.() === 0 ? 'user root;\n' : '';
  return `${user}worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log info;

events {
  worker_connections 512;
}

http {
  client_body_temp_path ${dir}/tmp/client_body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;

  log_format upstreams escape=json
    '{"id":"$request_id","method":"$request_method","uri":"$uri","status":$status,'
    '"upstream":"$upstream_addr","upstream_status":"$upstream_status"}';
  access_log ${dir}/access.log upstreams;

  upstream khaosat {
    # Round robin (nginx's default). A process that refuses a connection is
    # left alone for fail_timeout; the request goes to the next one.
${servers}
    keepalive 16;
  }

  server {
    listen 127.0.0.1:${options.port} ssl;
    ssl_certificate ${dir}/cert.pem;
    ssl_certificate_key ${dir}/key.pem;

    # khaosat limits every route's body itself (photos: --max-photo-bytes,
    # 25 MB by default; a phone's backup file: 64 MiB): nginx must not be stricter.
    client_max_body_size 64m;

    location / {
      proxy_pass http://khaosat;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto https;
      proxy_set_header X-Request-Id $request_id;
      # Upload chunks stream through as they arrive (khaosat acknowledges them
      # block by block) and answers stream back (photo files, exports).
      proxy_request_buffering off;
      proxy_buffering off;
      # A dead process: try the other one. Only requests nginx has not begun
      # to send are retried, so a PATCH is never sent twice.
      proxy_connect_timeout 2s;
      proxy_next_upstream error timeout http_502;
      proxy_next_upstream_tries 2;
      proxy_read_timeout 120s;
      proxy_send_timeout 120s;
    }
  }
}
`;
}

function makeCertificate(dir: string): string {
  execFileSync(
    'openssl',
    [
      'req', '-x509', '-nodes', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '2',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return readFileSync(join(dir, 'cert.pem'), 'utf8');
}

/** GET through the proxy, trusting only our certificate; resolves the status (0 when unreachable). */
export function proxiedStatus(url: string, certificate: string): Promise<number> {
  return new Promise((done) => {
    const req = request(url, { ca: certificate, timeout: 2_000 }, (res) => {
      res.resume();
      res.on('end', () => done(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => done(0));
    req.end();
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => child.once('exit', () => done()));
}

/** Starts nginx and resolves once `/api/health` answers 200 through it. */
export async function startTlsProxy(options: ProxyOptions): Promise<TlsProxy> {
  if (!existsSync(NGINX_BINARY)) {
    throw new Error(`no nginx at ${NGINX_BINARY}: apt-get install -y nginx (scripts/test.sh does it)`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'khaosat-e2e-nginx-'));
  mkdirSync(join(dir, 'tmp'));
  const certificate = makeCertificate(dir);
  const config = nginxConfig(dir, options);
  writeFileSync(join(dir, 'nginx.conf'), config);
  const accessLog = join(dir, 'access.log');
  const url = `https://127.0.0.1:${options.port}`;

  // -e: the error log before the configuration is read (else /var/log/nginx).
  const child = spawn(NGINX_BINARY, ['-p', `${dir}/`, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const reap = () => child.kill('SIGKILL');
  process.once('exit', reap);

  const errorLog = () => {
    try {
      return readFileSync(join(dir, 'error.log'), 'utf8').split('\n').slice(-20).join('\n');
    } catch {
      return '(no error log)';
    }
  };
  const deadline = Date.now() + START_TIMEOUT_MS;
  while ((await proxiedStatus(`${url}/api/health`, certificate)) !== 200) {
    if (child.exitCode !== null || child.signalCode !== null) {
      process.removeListener('exit', reap);
      throw new Error(`nginx exited (${child.exitCode ?? child.signalCode}):\n${output}\n${errorLog()}`);
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      await exited(child);
      process.removeListener('exit', reap);
      throw new Error(`nginx did not answer ${url}/api/health with 200 within ${START_TIMEOUT_MS} ms:\n${errorLog()}`);
    }
    await new Promise((wait) => setTimeout(wait, 200));
  }
  console.log(`[nginx] pid ${child.pid} at ${url} for ${options.upstreams.join(', ')}, config ${dir}/nginx.conf`);

  return {
    url,
    port: options.port,
    dir,
    config,
    certificate,
    accessLog,
    requests() {
      let text = '';
      try {
        text = readFileSync(accessLog, 'utf8');
      } catch {
        return [];
      }
      return text
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => {
          const raw = JSON.parse(line) as Record<string, unknown>;
          return {
            id: String(raw.id),
            method: String(raw.method),
            uri: String(raw.uri),
            status: Number(raw.status),
            upstream: String(raw.upstream),
            upstreamStatus: String(raw.upstream_status),
          };
        });
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGQUIT');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited(child);
        clearTimeout(timer);
      }
      process.removeListener('exit', reap);
      if (process.env.KHAOSAT_E2E_KEEP_DATA !== '1') rmSync(dir, { recursive: true, force: true });
    },
  };
}
