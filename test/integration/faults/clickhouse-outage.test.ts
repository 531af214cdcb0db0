import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClickHouse, execute, type ClickHouseClient } from '../../../src/lib/server/db/clickhouse';
import { freePort, startLocalClickHouse, type LocalClickHouse, type StartOptions } from '../../../src/lib/server/db/local-server';
import { ensureDatabase, migrate } from '../../../src/lib/server/db/migrations';
import { ident, sql } from '../../../src/lib/server/db/sql';
import { buildStageChanged } from '../../fixtures/events';
import { seedOrganisation, type SeededOrg } from '../../helpers/seed';
import { waitFor } from '../../helpers/wait';
import { ensureBuildOnce, spoolSegments, startLoad, startServer, storedEvents, type Load, type ServerProcess } from '../../helpers/server-process';

/**
 * Issue 4, fault (b): ClickHouse stops for 10 s in the middle of a load and comes back on the
 * same ports and data. No acknowledged event may be lost or doubled, and agents must only ever
 * see 2xx, 429 or 503, each within 15 s. This file runs its own ClickHouse, since it stops it.
 */

const OUTAGE_MS = 10_000;
const REQUEST_BOUND_MS = 15_000;
const DATABASE = 'faults_outage_test';

let dir: string;
let clickhouse: LocalClickHouse | undefined;
let chOptions: StartOptions;
let client: ClickHouseClient;
let server: ServerProcess | undefined;
let load: Load | undefined;

beforeAll(async () => {
  // npm test runs vitest before its build step; start.ts needs build/handler.js.
  await ensureBuildOnce();
  dir = mkdtempSync(join(tmpdir(), 'pipewall-outage-'));
  chOptions = {
    dataDir: join(dir, 'clickhouse'),
    httpPort: await freePort(),
    tcpPort: await freePort(),
    interserverPort: await freePort()
  };
  clickhouse = await startLocalClickHouse(chOptions);
  await ensureDatabase({ url: clickhouse.url, database: DATABASE });
  client = createClickHouse({ url: clickhouse.url, database: DATABASE });
  await migrate(client);
}, 300_000);

afterAll(async () => {
  await load?.stop().catch(() => undefined);
  await server?.stop();
  if (clickhouse) {
    await execute(client, sql`DROP DATABASE IF EXISTS ${ident(DATABASE)}`).catch(() => undefined);
    await client.close();
    await clickhouse.stop();
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** POST one event with a key the server has not seen yet (so not in its key cache). */
async function postWithFreshKey(baseUrl: string, org: SeededOrg): Promise<Response> {
  return fetch(`${baseUrl}/api/v1/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${org.apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify([buildStageChanged()]),
    signal: AbortSignal.timeout(REQUEST_BOUND_MS)
  });
}

describe('ClickHouse stops for 10 s in the middle of a load', () => {
  it('acknowledges through the outage from the spool, loses and doubles nothing, and answers every request in time', async () => {
    const org = await seedOrganisation(client, 'Outage Org');
    const unseen = await seedOrganisation(client, 'Unseen Key Org');
    const spoolDir = join(dir, 'spool');
    server = await startServer({
      port: await freePort(),
      dataDir: join(dir, 'data'),
      env: {
        CLICKHOUSE_URL: clickhouse!.url,
        CLICKHOUSE_DATABASE: DATABASE,
        INGEST_SPOOL_DIR: spoolDir,
        INGEST_MAX_REQUESTS_PER_KEY: '100000',
        // The load's key stays known through the outage, so its requests exercise the writer and
        // the spool; a key not in the cache is checked separately below (503).
        API_KEY_CACHE_MS: '120000'
      }
    });
    load = startLoad({ baseUrl: server.url, apiKey: org.apiKey, agents: 4, batchSize: 100, requestTimeoutMs: REQUEST_BOUND_MS + 5_000 });
    await waitFor(() => load!.acked.size >= 5_000, 30_000, '5,000 acknowledged events');

    await clickhouse!.stop();
    const downFrom = Date.now();
    const ackedAtStop = load.acked.size;
    const refused = await postWithFreshKey(server.url, unseen);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('5');
    // The deliberate outage: the load goes on against a stopped ClickHouse.
    await new Promise((r) => setTimeout(r, OUTAGE_MS - (Date.now() - downFrom)));
    const ackedDuringOutage = load.acked.size - ackedAtStop;
    expect(spoolSegments(spoolDir).length).toBeGreaterThan(0);
    clickhouse = await startLocalClickHouse(chOptions);
    const downUntil = Date.now();

    await waitFor(() => load!.acked.size >= ackedAtStop + ackedDuringOutage + 3_000, 30_000, 'load to go on after ClickHouse is back');
    await load.stop();
    await waitFor(() => spoolSegments(spoolDir).length === 0, 30_000, 'the spool to be replayed');
    await waitFor(async () => (await storedEvents(client, org.orgId)).count >= load!.acked.size, 30_000, 'every acked event in ClickHouse');

    const stored = await storedEvents(client, org.orgId);
    expect([...load.acked].filter((id) => !stored.ids.has(id))).toEqual([]);
    expect(stored.count).toBe(load.acked.size);
    expect(stored.ids.size).toBe(stored.count);

    // The outage was covered by the spool, not by refusals: thousands of events were acked in it.
    expect(ackedDuringOutage).toBeGreaterThan(1_000);
    const answeredInOutage = load.requests.filter((r) => r.outcome === 200 && r.startedAt > downFrom && r.endedAt < downUntil);
    expect(answeredInOutage.length).toBeGreaterThan(10);
    const outcomes = new Set(load.requests.map((r) => r.outcome));
    expect([...outcomes].filter((o) => o !== 200 && o !== 429 && o !== 503)).toEqual([]);
    expect(Math.max(...load.requests.map((r) => r.endedAt - r.startedAt))).toBeLessThan(REQUEST_BOUND_MS);

    expect(server.isRunning()).toBe(true);
    expect((await server.stop()).code).toBe(0);
  }, 120_000);
});
