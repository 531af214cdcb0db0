import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../../src/lib/server/app-context';
import { revokeApiKey } from '../../../src/lib/server/auth/api-key';
import { queryRows } from '../../../src/lib/server/db/clickhouse';
import { countLeadsByStage, latestEvents } from '../../../src/lib/server/db/queries/wall';
import { handleIngest } from '../../../src/lib/server/ingest-endpoint';
import { sql } from '../../../src/lib/server/db/sql';
import { buildMessage, buildStageChanged } from '../../fixtures/events';
import { createTestDatabase, type TestDatabase } from '../../helpers/clickhouse';
import { createTestContext, ingestRequest } from '../../helpers/app';
import { seedOrganisation, type SeededOrg } from '../../helpers/seed';

let db: TestDatabase;
let ctx: AppContext;
let org: SeededOrg;

beforeAll(async () => {
  db = await createTestDatabase('ingest_endpoint_test');
  ctx = createTestContext(db, { INGEST_MAX_EVENTS: '10', });
  org = await seedOrganisation(db.client, 'Ingest Org');
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

describe('POST /api/v1/events', () => {
  it('stores a valid batch under the key’s organisation and answers 200', async () => {
    const events = [buildStageChanged({ leadId: 'lead-a' }), buildMessage({ leadId: 'lead-a' })];
    const res = await handleIngest(ctx, ingestRequest(org.apiKey, events));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ accepted: 2, rejected: [] });
    expect(await storedCount(org.orgId, 'lead-a')).toBe(2);
  });

  it('stores the valid events of a mixed batch and reports each invalid one with index, code and field', async () => {
    const events = [
      buildStageChanged({ leadId: 'lead-mixed' }),
      { ...buildStageChanged({ leadId: 'lead-mixed' }), stage: 'teleported' },
      { ...buildMessage(), leadId: undefined },
      { type: 'sent_fax', eventId: 'x', leadId: 'y', occurredAt: new Date().toISOString() },
      { ...buildMessage({ leadId: 'lead-mixed' }), orgId: 'someone-else' },
      'not an object'
    ];
    const res = await handleIngest(ctx, ingestRequest(org.apiKey, events));
    expect(res.status).toBe(400);
    const body = (await res.json()) as { accepted: number; rejected: { index: number; code: string; field: string }[] };
    expect(body.accepted).toBe(1);
    expect(body.rejected.map(({ index, code, field }) => ({ index, code, field }))).toEqual([
      { index: 1, code: 'invalid_field', field: 'stage' },
      { index: 2, code: 'missing_field', field: 'leadId' },
      { index: 3, code: 'unknown_type', field: 'type' },
      { index: 4, code: 'unknown_field', field: 'orgId' },
      { index: 5, code: 'not_an_object', field: '' }
    ]);
    expect(await storedCount(org.orgId, 'lead-mixed')).toBe(1);
  });

  it('answers 400 naming the problem for a body that is not JSON', async () => {
    const res = await handleIngest(ctx, ingestRequest(org.apiKey, '[{"type":'));
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'bad_body', message: expect.stringContaining('not valid JSON') });
  });

  it('accepts NDJSON and gzip bodies', async () => {
    const ndjson = [buildStageChanged({ leadId: 'lead-nd' }), buildMessage({ leadId: 'lead-nd' })]
      .map((e) => JSON.stringify(e))
      .join('\n');
    const gz = Buffer.from(await new Response(new Blob([ndjson]).stream().pipeThrough(new CompressionStream('gzip'))).arrayBuffer());
    const res = await handleIngest(
      ctx,
      new Request('http://pipewall.test/api/v1/events', {
        method: 'POST',
        headers: { authorization: `Bearer ${org.apiKey}`, 'content-type': 'application/x-ndjson', 'content-encoding': 'gzip' },
        body: gz
      })
    );
    expect(await res.json()).toEqual({ accepted: 2, rejected: [] });
    expect(await storedCount(org.orgId, 'lead-nd')).toBe(2);
  });

  it('answers 413 above the configured number of events and stores none of them', async () => {
    const events = Array.from({ length: 11 }, () => buildStageChanged({ leadId: 'lead-big' }));
    const res = await handleIngest(ctx, ingestRequest(org.apiKey, events));
    expect(res.status).toBe(413);
    expect(await storedCount(org.orgId, 'lead-big')).toBe(0);
  });

  it('refuses a missing, forged or revoked key with 401 and stores nothing', async () => {
    const event = [buildStageChanged({ leadId: 'lead-401' })];
    expect((await handleIngest(ctx, ingestRequest(null, event))).status).toBe(401);
    expect((await handleIngest(ctx, ingestRequest('pw_aaaaaaaaaaaaaaaaaaaaaaaa_bbbbbbbbbbbbbbbbbbbbbbbb', event))).status).toBe(401);
    const other = await seedOrganisation(db.client, 'Revoked Org');
    const keyId = other.apiKey.slice(3, 27);
    expect(await revokeApiKey(db.client, other.orgId, keyId)).toBe(true);
    expect((await handleIngest(ctx, ingestRequest(other.apiKey, event))).status).toBe(401);
    expect(await storedCount(other.orgId, 'lead-401')).toBe(0);
    expect(await storedCount(org.orgId, 'lead-401')).toBe(0);
  });

  it('counts a retried event once on the wall, in the same or another request', async () => {
    const first = buildStageChanged({ leadId: 'lead-dup', stage: 'qualified', summary: 'dup test' });
    await handleIngest(ctx, ingestRequest(org.apiKey, [first, first]));
    await handleIngest(ctx, ingestRequest(org.apiKey, [first]));
    const counts = await countLeadsByStage(db.client, org.orgId);
    const ticker = await latestEvents(db.client, org.orgId, 100);
    expect(ticker.filter((t) => t.eventId === first.eventId)).toHaveLength(1);
    expect(counts.qualified).toBe(1);
  });

  it('shows the start of a message in the ticker when the agent sent no summary', async () => {
    const other = await seedOrganisation(db.client, 'Ticker Org');
    const text = 'Hola! ¿Tienen citas el jueves? '.repeat(10);
    const message = buildMessage({ summary: undefined, text });
    await handleIngest(ctx, ingestRequest(other.apiKey, [message]));
    const [item] = await latestEvents(db.client, other.orgId, 5);
    expect(item?.summary).toBe(`${text.replace(/\s+/g, ' ').slice(0, 139)}…`);
    expect(item?.actor).toBe('customer');
  });

  it('takes the current stage from occurred_at, not arrival order', async () => {
    const t0 = Date.parse('2026-11-01T10:00:00Z');
    const at = (min: number) => new Date(t0 + min * 60_000).toISOString();
    const other = await seedOrganisation(db.client, 'Order Org');
    const late = [
      buildStageChanged({ leadId: 'L1', stage: 'booked', occurredAt: at(30) }),
      buildStageChanged({ leadId: 'L1', stage: 'enquired', occurredAt: at(0) }),
      buildStageChanged({ leadId: 'L1', stage: 'qualified', occurredAt: at(10) }),
      buildStageChanged({ leadId: 'L2', stage: 'enquired', occurredAt: at(0) })
    ];
    for (const e of late) await handleIngest(ctx, ingestRequest(other.apiKey, [e]));
    expect(await countLeadsByStage(db.client, other.orgId)).toEqual({
      enquired: 1,
      qualified: 0,
      booked: 1,
      attended: 0,
      won: 0,
      lost: 0
    });
  });
});
