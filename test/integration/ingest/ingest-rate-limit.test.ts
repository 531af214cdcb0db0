import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLimits, type AppContext } from '../../../src/lib/server/app-context';
import { queryRows } from '../../../src/lib/server/db/clickhouse';
import { sql } from '../../../src/lib/server/db/sql';
import { handleIngest } from '../../../src/lib/server/ingest-endpoint';
import { buildStageChanged } from '../../fixtures/events';
import { createTestContext, ingestRequest } from '../../helpers/app';
import { createTestDatabase, type TestDatabase } from '../../helpers/clickhouse';
import { seedOrganisation, type SeededOrg } from '../../helpers/seed';

let db: TestDatabase;
let ctx: AppContext;
let org: SeededOrg;
let other: SeededOrg;

beforeAll(async () => {
  db = await createTestDatabase('ingest_rate_test');
  ctx = createTestContext(db, { INGEST_MAX_REQUESTS_PER_KEY: '3', INGEST_RATE_WINDOW_MS: '3600000' });
  // A stopped clock: no token comes back while the test runs, so Retry-After is exact.
  const t0 = Date.now();
  ctx.limits = createLimits(ctx.config, () => t0);
  org = await seedOrganisation(db.client, 'Busy Org');
  other = await seedOrganisation(db.client, 'Quiet Org');
});
afterAll(async () => {
  await ctx.close();
  await db.drop();
});

async function storedCount(orgId: string, leadId: string): Promise<number> {
  const [row] = await queryRows<{ n: string }>(
    db.client,
    sql`SELECT count() AS n FROM events WHERE org_id = ${orgId} AND lead_id = ${leadId}`
  );
  return Number(row?.n);
}

describe('POST /api/v1/events rate limit per API key', () => {
  it('answers 429 rate_limited with Retry-After once a key is over its limit, storing nothing of it', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await handleIngest(ctx, ingestRequest(org.apiKey, [buildStageChanged({ leadId: 'lead-ok' })]));
      expect(res.status).toBe(200);
    }
    const refused = await handleIngest(ctx, ingestRequest(org.apiKey, [buildStageChanged({ leadId: 'lead-refused' })]));
    expect(refused.status).toBe(429);
    // One of 3 tokens returns every 3600 / 3 = 1200 s.
    expect(refused.headers.get('retry-after')).toBe('1200');
    expect(await refused.json()).toEqual({
      error: 'rate_limited',
      message: 'this key sent more than 3 requests in 3600000 ms; nothing was stored, retry in 1200 s'
    });
    expect(await storedCount(org.orgId, 'lead-ok')).toBe(3);
    expect(await storedCount(org.orgId, 'lead-refused')).toBe(0);
  });

  it('leaves the key of another organisation unaffected', async () => {
    const res = await handleIngest(ctx, ingestRequest(other.apiKey, [buildStageChanged({ leadId: 'lead-other' })]));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ accepted: 1, rejected: [] });
    expect(await storedCount(other.orgId, 'lead-other')).toBe(1);
  });

  it('still answers 401 to a bad key without counting it against anyone', async () => {
    const res = await handleIngest(ctx, ingestRequest('pw_aaaaaaaaaaaaaaaaaaaaaaaa_bbbbbbbbbbbbbbbbbbbbbbbb', [buildStageChanged()]));
    expect(res.status).toBe(401);
    const second = await handleIngest(ctx, ingestRequest(other.apiKey, [buildStageChanged({ leadId: 'lead-other' })]));
    expect(second.status).toBe(200);
    expect(await storedCount(other.orgId, 'lead-other')).toBe(2);
  });
});
