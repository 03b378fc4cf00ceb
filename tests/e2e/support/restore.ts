// What the specs of a restored server share: the `khaosat` command line
// (backup, restore), scratch directories removed after the spec, and the
// inspector's visits as the server holds them.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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

/**
 * Attaches to the running test what the server and the phone on `page` hold
 * of visit `id`: the server's photos, the phone's outbox, its photo records
 * and the visit's photo answers. For a failure that a rerun did not repeat.
 */
export async function attachVisitState(page: import('@playwright/test').Page, id: string): Promise<void> {
  const server = (await serverVisits(page.request)).get(id)?.photos ?? null;
  const phone = await page.evaluate(async (visitId) => {
    const db: IDBDatabase = await new Promise((ok, no) => {
      const open = indexedDB.open('khaosat');
      open.onsuccess = () => ok(open.result);
      open.onerror = () => no(open.error);
    });
    // Records are stored as JSON text or as objects, depending on the store.
    const all = (store: string) =>
      new Promise<Record<string, unknown>[]>((ok, no) => {
        const read = db.transaction(store).objectStore(store).getAll();
        read.onsuccess = () => ok(read.result.map((r: unknown) => (typeof r === 'string' ? JSON.parse(r) : r)));
        read.onerror = () => no(read.error);
      });
    const mine = (r: Record<string, unknown>) => r.visit_id === visitId || r.id === visitId;
    return { outbox: await all('outbox'), photos: (await all('photos')).filter(mine), visits: (await all('visits')).filter(mine) };
  }, id);
  // A file beside the screenshots, and a line in the log CI keeps.
  const state = JSON.stringify({ server, phone });
  // One file per call: a failure may attach both phones.
  const file = test.info().outputPath(`visit-${id}-${test.info().attachments.length}.json`);
  writeFileSync(file, state);
  await test.info().attach(`visit ${id} on the server and the phone`, { path: file, contentType: 'application/json' });
  console.log(`visit ${id} on the server and the phone: ${state}`);
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
