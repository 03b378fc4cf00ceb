// Schemathesis, a fuzzer nobody here wrote, drives every /api route from what
// /api/openapi.json says, with all of its checks: no 5xx, only documented
// statuses, content types and headers, bodies that match their schemas, bad
// input refused with a 4xx, valid input not refused, no route that ignores the
// session, undocumented methods answered 405. Once without a session and once
// as the supervisor (who may reach every route), against the release server.
//
// Each run gets its own server: the fuzzer logs in with made-up names and
// sends junk everywhere, which must not disturb the other specs. The example
// count is bounded (interop/schemathesis.toml), so the run is the same size
// every time; --seed keeps it repeatable when KHAOSAT_FUZZ_SEED is set.

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from './support/fixtures';
import { DEMO_PASSWORD, SUPERVISOR } from './support/demo';
import { REPO_ROOT, startServer, type KhaosatServer } from './support/server';

const SCHEMATHESIS = process.env.KHAOSAT_PYTHON
  ? join(process.env.KHAOSAT_PYTHON, '..', 'schemathesis')
  : join(REPO_ROOT, 'tests', '.venv', 'bin', 'schemathesis');

interface Run {
  code: number | null;
  output: string;
}

const CONFIG = join(REPO_ROOT, 'tests', 'interop', 'schemathesis.toml');
const HOOKS = join(REPO_ROOT, 'tests', 'interop', 'schemathesis_hooks.py');

/** Runs Schemathesis; with a session token, as that session (the `session` apiKey scheme). */
function schemathesis(server: KhaosatServer, session: string | null, extra: string[]): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'khaosat-fuzz-'));
  let config = CONFIG;
  if (session) {
    config = join(dir, 'schemathesis.toml');
    writeFileSync(config, `${readFileSync(CONFIG, 'utf8')}\n[auth.openapi.session]\napi_key = "${session}"\n`);
  }
  const args = [
    '--config-file',
    config,
    '--no-color',
    'run',
    `${server.baseURL}/api/openapi.json`,
    '--checks',
    'all',
    // State-changing requests must carry the deployment's Origin (CSRF rule).
    '-H',
    `Origin: ${server.baseURL}`,
    '--report-dir',
    join(dir, 'report'),
    ...(process.env.KHAOSAT_FUZZ_SEED ? ['--seed', process.env.KHAOSAT_FUZZ_SEED] : []),
    ...extra,
  ];
  return new Promise((done, fail) => {
    // The hooks teach Schemathesis to send tus's application/offset+octet-stream bytes.
    const env = { ...process.env, NO_COLOR: '1', SCHEMATHESIS_HOOKS: HOOKS };
    const child = spawn(SCHEMATHESIS, args, { env });
    let output = '';
    child.stdout.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr.on('data', (b: Buffer) => (output += b.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ code, output }));
  });
}

/** The number of test cases Schemathesis says it ran, so a run that tested nothing fails. */
function casesRun(output: string): number {
  const match = /(\d+) generated/.exec(output) ?? /Test cases:\s*\n?\s*(\d+)/.exec(output);
  return match ? Number(match[1]) : 0;
}

test.describe('the API, fuzzed from its OpenAPI document', () => {
  test.describe.configure({ timeout: 600_000 });
  let server: KhaosatServer;
  /** The supervisor's session token, logged in before the fuzzer's made-up logins lock the address. */
  let session: string;

  test.beforeAll(async ({ playwright }) => {
    server = await startServer({ name: 'fuzz' });
    const api = await playwright.request.newContext();
    const login = await api.post(`${server.baseURL}/api/auth/login`, {
      data: { username: SUPERVISOR, password: DEMO_PASSWORD },
      headers: { Origin: server.baseURL },
    });
    expect(login.status(), await login.text()).toBe(200);
    const cookie = login.headersArray().find((h) => h.name.toLowerCase() === 'set-cookie')!.value;
    session = /khaosat_session=([^;]+)/.exec(cookie)![1];
    await api.dispose();
  });
  test.afterAll(async () => {
    await server?.stop();
  });

  test('without a session: every private route refuses, public ones hold', async () => {
    const run = await schemathesis(server, null, []);
    console.log(run.output);
    expect(run.code, 'schemathesis found failures (see the output above)').toBe(0);
    expect(casesRun(run.output)).toBeGreaterThan(100);
  });

  test('as the supervisor: every route, with a live session', async ({ request }) => {
    // Logging out would end the session the rest of the run relies on.
    const run = await schemathesis(server, session, ['--exclude-path', '/api/auth/logout']);
    console.log(run.output);
    expect(run.code, 'schemathesis found failures (see the output above)').toBe(0);
    expect(casesRun(run.output)).toBeGreaterThan(100);
    // The session survived the run: the fuzzer never ended it or became someone else.
    const me = await request.get(`${server.baseURL}/api/auth/me`, {
      headers: { Cookie: `khaosat_session=${session}` },
    });
    expect(me.status()).toBe(200);
    expect((await me.json()).username).toBe(SUPERVISOR);
  });
});
