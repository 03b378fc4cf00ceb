// What the specs of a restored server share: the `khaosat` command line
// (backup, restore), scratch directories removed after the spec, and the
// inspector's visits as the server holds them.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from './fixtures';
import { REPO_ROOT, serverBinary, type KhaosatServer } from './server';

export interface PulledVisit {
  id: string;
  review_state: string;
  answers: Record<string, unknown>;
  photos: { id: string; status: string; caption?: string | null }[];
}

/** The inspector's visits as the server holds them, from a pull from 0. */
export async function serverVisits(request: import('@playwright/test').APIRequestContext): Promise<Map<string, PulledVisit>> {
  const out = new Map<string, PulledVisit>();
  let cursor = 0;
  for (;;) {
    const response = await request.get(`/api/sync/pull?cursor=${cursor}`);
    expect(response.status(), await response.text()).toBe(200);
    const page = (await response.json()) as { changes: { entity: string; record: PulledVisit }[]; cursor: number; has_more: boolean };
    for (const change of page.changes) if (change.entity === 'visit') out.set(change.record.id, change.record);
    if (!page.has_more) return out;
    cursor = page.cursor;
  }
}

/** Runs the server binary's command line (`backup`, `restore`). */
export function khaosat(args: string[]): void {
  execFileSync(serverBinary(), args, { cwd: REPO_ROOT, stdio: 'pipe' });
}

/** Scratch directories, each removed by `removeAll`. */
export class Scratch {
  private dirs: string[] = [];

  dir(name: string): string {
    const dir = mkdtempSync(join(tmpdir(), `khaosat-e2e-${name}-`));
    this.dirs.push(dir);
    return dir;
  }

  removeAll(): void {
    for (const dir of this.dirs) rmSync(dir, { recursive: true, force: true });
    this.dirs = [];
  }
}

/** A spec's two servers (the one it kills, the one restored into) and its
 * scratch directories: all stopped and removed after the spec. */
export interface RestoredServers {
  before?: KhaosatServer;
  after?: KhaosatServer;
  scratch: Scratch;
}

export function restoredServers(): RestoredServers {
  const servers: RestoredServers = { scratch: new Scratch() };
  test.afterAll(async () => {
    await servers.before?.stop();
    await servers.after?.stop();
    servers.scratch.removeAll();
    if (servers.before) rmSync(servers.before.dataDir, { recursive: true, force: true });
  });
  return servers;
}
