import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../../src/lib/server/app-context';
import { queryRows } from '../../../src/lib/server/db/clickhouse';
import { findLead, leadTimeline, listLeads } from '../../../src/lib/server/db/queries/leads';
import { countLeadsByStage, latestEvents } from '../../../src/lib/server/db/queries/wall';
import { sql } from '../../../src/lib/server/db/sql';
import { handleIngest } from '../../../src/lib/server/ingest-endpoint';
import { buildMessage, buildStageChanged } from '../../fixtures/events';
import { createTestContext, ingestRequest } from '../../helpers/app';
import { createTestDatabase, type TestDatabase } from '../../helpers/clickhouse';
import { seedOrganisation, type SeededOrg } from '../../helpers/seed';

// Two app contexts on one database stand for two server processes: separate writers, clients
// and caches, one ledger.
let db: TestDatabase;
let first: AppContext;
let second: AppContext;
let org: SeededOrg;

beforeAll(async () => {
  db = await createTestDatabase('idempotency_test');
  first = createTestContext(db);
  second = createTestContext(db);
  org = await seedOrganisation(db.client, 'Retry Org');
});
afterAll(async () => {
  await first.close();
  await second.close();
  await db.drop();
});

describe('an event sent more than once counts once everywhere', () => {
  it('when retried in the same request, re-batched with other events, and through another process', async () => {
    const booked = buildStageChanged({ leadId: 'lead-retry', stage: 'booked', summary: 'booked once' });
    const message = buildMessage({ leadId: 'lead-retry' });
    const other = buildStageChanged({ leadId: 'lead-other', stage: 'enquired' });
    const sends = [
      [first, [booked, booked]],
      [first, [message, booked]],
      [second, [other, booked, message]],
      [second, [booked]]
    ] as const;
    for (const [ctx, events] of sends) {
      expect((await handleIngest(ctx, ingestRequest(org.apiKey, events))).status).toBe(200);
    }

    const [stored] = await queryRows<{ n: string }>(db.client, sql`SELECT count() AS n FROM events WHERE org_id = ${org.orgId} AND event_id = ${booked.eventId}`);
    expect(Number(stored?.n)).toBeGreaterThan(1); // physically stored several times: reads must fold

    expect(await countLeadsByStage(db.client, org.orgId)).toMatchObject({ booked: 1, enquired: 1 });
    expect((await latestEvents(db.client, org.orgId, 50)).filter((t) => t.eventId === booked.eventId)).toHaveLength(1);
    const timeline = (await leadTimeline(db.client, org.orgId, 'lead-retry')).map((e) => e.eventId);
    expect(timeline.sort()).toEqual([booked.eventId, message.eventId].sort());
    expect((await findLead(db.client, org.orgId, 'lead-retry'))?.events).toBe(2);
    expect((await listLeads(db.client, org.orgId, { count: 10 })).map((l) => [l.leadId, l.events]).sort()).toEqual([
      ['lead-other', 1],
      ['lead-retry', 2]
    ]);
  });
});
