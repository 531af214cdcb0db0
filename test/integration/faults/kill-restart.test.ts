import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { execute } from '../../../src/lib/server/db/clickhouse';
import { freePort } from '../../../src/lib/server/db/local-server';
import { sql } from '../../../src/lib/server/db/sql';
import { createTestDatabase, type TestDatabase } from '../../helpers/clickhouse';
import { seedOrganisation } from '../../helpers/seed';
import { waitFor } from '../../helpers/wait';
import { ensureBuildOnce, spoolSegments, startLoad, startServer, storedEvents, type Load, type ServerProcess } from '../../helpers/server-process';

/**
 * Issue 4, fault (a): the server is killed with SIGKILL in the middle of a load and started again
 * on the same port and spool. Every event that got a 2xx must then be in ClickHouse exactly once
 * as reads see it (FINAL). The agents resend unanswered batches with the same ids, as the real
 * client does, so the stored set must equal the acknowledged set.
 */

let db: TestDatabase;
let dir: string;
const running: ServerProcess[] = [];
const loads: Load[] = [];

beforeAll(async () => {
  // npm test runs vitest before its build step; start.ts needs build/handler.js.
  await ensureBuildOnce();
  db = await createTestDatabase('faults_kill_test');
  dir = mkdtempSync(join(tmpdir(), 'pipewall-kill-'));
}, 300_000);

afterEach(async () => {
  // A failed assertion must not leave agents posting or a server running.
  await Promise.allSettled(loads.splice(0).map((l) => l.stop()));
  await Promise.allSettled(running.splice(0).map((s) => s.stop()));
});

afterAll(async () => {
  await db?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function serve(port: number, spoolDir: string): Promise<ServerProcess> {
  const server = await startServer({
    port,
    dataDir: join(dir, 'data'),
    env: {
      CLICKHOUSE_URL: db.url,
      CLICKHOUSE_DATABASE: db.database,
      INGEST_SPOOL_DIR: spoolDir,
      // The test is about durability, not the per-key request limit.
      INGEST_MAX_REQUESTS_PER_KEY: '100000'
    }
  });
  running.push(server);
  return server;
}

function expectExactlyOnce(acked: Set<string>, stored: { count: number; ids: Set<string> }): void {
  expect(acked.size).toBeGreaterThan(0);
  expect([...acked].filter((id) => !stored.ids.has(id))).toEqual([]);
  expect(stored.count).toBe(acked.size);
  expect(stored.ids.size).toBe(stored.count);
}

describe('kill -9 in the middle of a load', () => {
  it('keeps every acknowledged event, exactly once, after the server is killed and started again', async () => {
    const org = await seedOrganisation(db.client, 'Kill Org');
    const port = await freePort();
    const spoolDir = join(dir, 'spool-a');
    const first = await serve(port, spoolDir);
    const load = startLoad({ baseUrl: first.url, apiKey: org.apiKey, agents: 4, batchSize: 100, requestTimeoutMs: 15_000 });
    loads.push(load);

    // About a second or two of load, measured in work done rather than time.
    await waitFor(() => load.acked.size >= 8_000, 30_000, '8,000 acknowledged events');
    process.kill(first.pid, 'SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    const ackedAtKill = load.acked.size;

    const second = await serve(port, spoolDir);
    await waitFor(() => load.acked.size >= ackedAtKill + 4_000, 30_000, 'load to go on after the restart');
    await load.stop();

    await waitFor(async () => (await storedEvents(db.client, org.orgId)).count >= load.acked.size, 30_000, 'every acked event in ClickHouse');
    expectExactlyOnce(load.acked, await storedEvents(db.client, org.orgId));
    // Agents saw refused connections while the server was down, and otherwise only these.
    const statuses = new Set(load.requests.map((r) => r.outcome));
    expect([...statuses].filter((s) => s !== 'network-error' && s !== 200 && s !== 429 && s !== 503)).toEqual([]);
    expect((await second.stop()).code).toBe(0);
  }, 120_000);

  it('replays at start the acknowledged events a killed server held only in its spool', async () => {
    const org = await seedOrganisation(db.client, 'Spool Kill Org');
    const port = await freePort();
    const spoolDir = join(dir, 'spool-b');
    const first = await serve(port, spoolDir);
    const load = startLoad({ baseUrl: first.url, apiKey: org.apiKey, agents: 3, batchSize: 100, requestTimeoutMs: 15_000 });
    loads.push(load);
    await waitFor(() => load.acked.size >= 1_000, 30_000, '1,000 acknowledged events');

    // Inserts now fail (unknown table) while everything else works: the writer spools and acks.
    await execute(db.client, sql`RENAME TABLE events TO events_parked`);
    const ackedBefore = load.acked.size;
    await waitFor(() => load.acked.size >= ackedBefore + 2_000 && spoolSegments(spoolDir).length > 0, 30_000, 'acks from the spool');
    process.kill(first.pid, 'SIGKILL');
    await first.exited;
    const acked = new Set(load.acked);
    const inClickHouse = await storedEvents(db.client, org.orgId, 'events_parked');
    // Acknowledged events that only the spool holds: the restart must bring them in.
    expect([...acked].filter((id) => !inClickHouse.ids.has(id)).length).toBeGreaterThanOrEqual(1_000);
    await execute(db.client, sql`RENAME TABLE events_parked TO events`);

    // No request reaches the new server until its spool is replayed: the start alone must do it.
    load.pause();
    const second = await serve(port, spoolDir);
    await waitFor(() => spoolSegments(spoolDir).length === 0, 30_000, 'the spool to be replayed');
    const replayed = await storedEvents(db.client, org.orgId);
    expect([...acked].filter((id) => !replayed.ids.has(id))).toEqual([]);
    load.resume();
    await load.stop();
    await waitFor(async () => (await storedEvents(db.client, org.orgId)).count >= load.acked.size, 30_000, 'every acked event in ClickHouse');
    expectExactlyOnce(load.acked, await storedEvents(db.client, org.orgId));
    expect((await second.stop()).code).toBe(0);
  }, 120_000);
});
