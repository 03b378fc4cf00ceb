// A throw-away PostgreSQL database for specs that run several khaosat processes.
//
// The admin login comes from $KHAOSAT_TEST_POSTGRES_URL, which scripts/postgres.sh
// exports (scripts/test.sh starts the cluster before the end-to-end suite). The
// database is made and dropped with Debian's psql, so no npm driver is needed.

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export const POSTGRES_URL_VARIABLE = 'KHAOSAT_TEST_POSTGRES_URL';

export interface TestDatabase {
  /** `postgres://…/khaosat_e2e_…`, for `--database-url`. */
  readonly url: string;
  readonly name: string;
  /** Drops the database, ending the sessions still connected to it. */
  drop(): void;
}

/** The admin URL, or a sentence saying how to get one. */
export function adminUrl(): { url: string } | { missing: string } {
  const url = process.env[POSTGRES_URL_VARIABLE];
  if (url) return { url };
  return {
    missing:
      `${POSTGRES_URL_VARIABLE} is not set: this spec needs PostgreSQL. Run it through scripts/test.sh, ` +
      `or \`source scripts/postgres.sh && start_postgres\` first.`,
  };
}

function psql(url: string, sql: string): void {
  execFileSync('psql', [url, '-v', 'ON_ERROR_STOP=1', '-qc', sql], { stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Creates an empty database named after `label`; its owner is the admin login. */
export function createTestDatabase(admin: string, label: string): TestDatabase {
  const name = `khaosat_e2e_${label}_${randomBytes(4).toString('hex')}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  psql(admin, `CREATE DATABASE ${name}`);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop() {
      // FORCE (PostgreSQL 13+): a killed process may leave a session behind.
      psql(admin, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}
