// One demo server for the whole run, unless KHAOSAT_BASE_URL points at a running one.
//
// The URL reaches the workers through process.env (Playwright forwards the runner's
// environment to them); the `baseURL` fixture in fixtures.ts reads it.

import type { FullConfig } from '@playwright/test';
import { startServer } from './server';

export default async function globalSetup(_config: FullConfig): Promise<(() => Promise<void>) | undefined> {
  if (process.env.KHAOSAT_BASE_URL) {
    // Then the second worker's specs use it too (fixtures.ts).
    process.env.KHAOSAT_EXTERNAL_SERVER = '1';
    console.log(`[khaosat] using the server already running at ${process.env.KHAOSAT_BASE_URL}`);
    return undefined;
  }
  const server = await startServer({ name: 'shared' });
  process.env.KHAOSAT_BASE_URL = server.baseURL;
  // Returning a function makes it the global teardown.
  return async () => {
    await server.stop();
  };
}
