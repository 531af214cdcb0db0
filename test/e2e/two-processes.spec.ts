import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { startLocalRedis, type LocalRedis } from '../../src/bin/local-redis';
import { createClickHouse } from '../../src/lib/server/db/clickhouse';
import { freePort } from '../../src/lib/server/db/local-server';
import { buildMessage, buildStageChanged } from '../fixtures/events';
import { wallAs } from '../helpers/browser';
import { startServer, type ServerProcess } from '../helpers/server-process';
import { seedOrganisation, seedUser } from '../helpers/seed';

/**
 * Issue 8, as deployed: two real server processes (the production entry, `src/bin/start.ts`)
 * on one database, meeting only through a Redis this spec starts. They start together, so the
 * migration lease is exercised too. One manager's browser is on each; events go in through the
 * first process; the second's wall shows them within a second, and a claim made on one wall
 * shows on the other within a second.
 */
const DATABASE = 'pipewall_e2e_cluster_test';
const HOUR = 3_600_000;
const ago = (hours: number) => new Date(Date.now() - hours * HOUR).toISOString();

let dir: string;
let redis: LocalRedis;
let servers: ServerProcess[] = [];
const clickhouse = createClickHouse({ url: process.env.CLICKHOUSE_URL ?? '', database: DATABASE });

const startProcess = async (port: number, roles: string) =>
  startServer({ port, dataDir: join(dir, `p${port}`), env: { CLICKHOUSE_DATABASE: DATABASE, REDIS_URL: redis.url, PIPEWALL_ROLES: roles } });

test.beforeAll(async () => {
  test.setTimeout(120_000);
  dir = mkdtempSync(join(tmpdir(), 'pipewall-e2e-cluster-'));
  redis = await startLocalRedis({ dataDir: join(dir, 'redis') });
  // Together: both reach their migrations at once, and one waits on the other's lease.
  servers = await Promise.all([startProcess(await freePort(), 'app,ingest'), startProcess(await freePort(), 'app')]);
});

test.afterAll(async () => {
  for (const server of servers) await server.stop();
  await redis?.stop();
  await clickhouse.close();
  rmSync(dir, { recursive: true, force: true });
});

test('two app processes through Redis: an event ingested on one shows on a wall served by the other within 1 s, and so does a claim', async ({ browser, request }) => {
  const [first, second] = servers.map((s) => s.url) as [string, string];
  const health = await Promise.all([first, second].map((b) => request.get(`${b}/healthz`).then((r) => r.json() as Promise<{ roles: string; clustered: boolean }>)));
  expect(health.map((h) => [h.roles, h.clustered])).toEqual([
    ['app,ingest', true],
    ['app', true]
  ]);
  // The second process takes no events: agents must be sent to an ingest process.
  const refused = await request.post(`${second}/api/v1/events`, { headers: { authorization: 'Bearer x' }, data: [] });
  expect(refused.status()).toBe(503);

  const org = await seedOrganisation(clickhouse, 'Two Process Org');
  const raj = await seedUser(clickhouse, org.orgId, 'manager');
  const post = async (events: unknown[]) => {
    const res = await request.post(`${first}/api/v1/events`, { headers: { authorization: `Bearer ${org.apiKey}` }, data: events });
    expect(res.status()).toBe(200);
  };
  await post([
    buildStageChanged({ leadId: 'quiet-1', stage: 'enquired', occurredAt: ago(72) }),
    buildStageChanged({ leadId: 'quiet-1', stage: 'qualified', occurredAt: ago(48), summary: 'Qualified: whitening' })
  ]);

  const onFirst = await wallAs(browser, first, org.sessionToken);
  const onSecond = await wallAs(browser, second, raj.sessionToken);
  for (const page of [onFirst, onSecond]) await expect(page.locator('[data-exception][data-lead="quiet-1"]')).toBeVisible();

  // An event in through the first process, on the second's wall within a second. The page
  // watches every animation frame; the clock starts before the post.
  const live = buildMessage({ leadId: 'fresh', direction: 'inbound', text: `Hello across processes ${Date.now()}` });
  const seen = onSecond.waitForFunction((text) => document.querySelector('[data-testid="ticker"]')?.textContent?.includes(text) ?? false, live.text, {
    polling: 'raf',
    timeout: 1_000
  });
  const posted = Date.now();
  await post([live]);
  await seen;
  console.log(`event in through process 1 → process 2's wall in ${Date.now() - posted} ms`);

  // A claim on the second process's wall, on the first's within a second.
  const claimButton = onSecond.locator('[data-exception][data-lead="quiet-1"]').getByRole('button', { name: 'Claim' });
  await claimButton.waitFor();
  const seenOnFirst = onFirst.waitForFunction(
    () => /^Claimed by (?!you)\S/.test(document.querySelector('[data-exception][data-lead="quiet-1"] [data-testid="claimed-by"]')?.textContent ?? ''),
    undefined,
    { polling: 'raf', timeout: 1_000 }
  );
  const clicked = Date.now();
  await claimButton.click();
  await seenOnFirst;
  console.log(`claim on process 2 → process 1's wall in ${Date.now() - clicked} ms`);
  await expect(onSecond.locator('[data-exception][data-lead="quiet-1"] [data-testid="claimed-by"]')).toHaveText('Claimed by you');
  await onSecond.screenshot({ path: test.info().outputPath('wall-on-second-process.png') });
});
