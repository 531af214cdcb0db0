import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentEvent } from '../../../src/lib/contracts/events';
import { insertEventRows, mergeEventRow, toEventRow } from '../../../src/lib/server/db/queries/events';
import { findLead, leadTimeline } from '../../../src/lib/server/db/queries/leads';
import { countLeadsByStage } from '../../../src/lib/server/db/queries/wall';
import { createIdentityResolver } from '../../../ingest/pipeline/resolve-identity';
import { buildMessage, buildStageChanged } from '../../fixtures/events';
import { createTestDatabase, type TestDatabase } from '../../helpers/clickhouse';
import { createTestContext, ingestRequest } from '../../helpers/app';
import { seedOrganisation } from '../../helpers/seed';
import { handleIngest } from '../../../src/lib/server/ingest-endpoint';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('identity_test');
});
afterAll(() => db.drop());

let n = 0;
const enriched = (leadId: string, fields: { email?: string; phone?: string; name?: string }): AgentEvent => ({
  type: 'contact_enriched',
  eventId: `enrich-${++n}`,
  leadId,
  occurredAt: new Date(Date.parse('2026-11-01T10:00:00Z') + n * 60_000).toISOString(),
  ...fields
});

/** What the ingest endpoint does with a batch: resolve, then store events plus merge events. */
async function ingest(resolver: ReturnType<typeof createIdentityResolver>, orgId: string, events: AgentEvent[]) {
  const { derived, merges } = await resolver.resolve(orgId, events);
  await insertEventRows(db.client, [
    ...events.map((e, i) => toEventRow(e, orgId, Date.now(), derived[i])),
    ...merges.map((m) => mergeEventRow(orgId, m, Date.now()))
  ]);
  return merges;
}

describe('identity resolution', () => {
  it('makes one lead of a WhatsApp lead and a later email lead that share a phone number, keeping both histories', async () => {
    const org = 'org-identity-1';
    const resolver = createIdentityResolver(db.client);
    await ingest(resolver, org, [
      buildStageChanged({ leadId: 'wa-1', stage: 'qualified', channel: 'whatsapp' }),
      buildMessage({ leadId: 'wa-1', text: 'Hola' }),
      enriched('wa-1', { phone: '+34 612 34 56 78' })
    ]);
    const merges = await ingest(resolver, org, [
      buildStageChanged({ leadId: 'em-1', stage: 'enquired', channel: 'email', occurredAt: '2026-11-01T09:00:00Z' }),
      enriched('em-1', { email: 'Ana@Acme.io', phone: '0034612345678' })
    ]);
    expect(merges).toEqual([]); // '0034…' without a region is not a valid number: a weak signal

    const merged = await ingest(resolver, org, [enriched('em-1', { phone: '+34612345678' })]);
    expect(merged).toEqual([expect.objectContaining({ into: 'wa-1', merged: 'em-1', signal: 'phone' })]);

    expect(await countLeadsByStage(db.client, org)).toMatchObject({ enquired: 0, qualified: 1 });
    expect((await findLead(db.client, org, 'em-1'))?.leadId).toBe('wa-1');
    const timeline = await leadTimeline(db.client, org, 'wa-1');
    expect(timeline.map((e) => e.type)).toEqual(
      expect.arrayContaining(['stage_changed', 'message', 'contact_enriched', 'leads_merged'])
    );
    expect(timeline.filter((e) => e.type === 'stage_changed')).toHaveLength(2);
  });

  it('stores derived enrichment with the event: company domain only for non-free mail', async () => {
    const org = 'org-identity-2';
    const resolver = createIdentityResolver(db.client);
    await ingest(resolver, org, [enriched('l-1', { email: ' Bo@Gmail.com ' }), enriched('l-2', { email: 'cy@clinic.es' })]);
    expect(await leadTimeline(db.client, org, 'l-1')).toHaveLength(1);
    const rows = await db.client.query({
      query: `SELECT lead_id, properties FROM events WHERE org_id = '${org}' ORDER BY lead_id`,
      format: 'JSONEachRow'
    });
    const parsed = (await rows.json<{ lead_id: string; properties: string }>()).map((r) => JSON.parse(r.properties) as Record<string, unknown>);
    expect(parsed[0]).toMatchObject({ emailNormalised: 'bo@gmail.com', freeMail: true });
    expect(parsed[0]).not.toHaveProperty('companyDomain');
    expect(parsed[1]).toMatchObject({ emailDomain: 'clinic.es', freeMail: false, companyDomain: 'clinic.es' });
  });

  it('never merges on a name alone, and merges transitively to one root', async () => {
    const org = 'org-identity-3';
    const resolver = createIdentityResolver(db.client);
    expect(await ingest(resolver, org, [enriched('a', { name: 'Sam Lee' }), enriched('b', { name: 'Sam Lee' })])).toEqual([]);
    await ingest(resolver, org, [enriched('a', { email: 'sam@lee.dev' })]);
    await ingest(resolver, org, [enriched('b', { phone: '+447911123456' })]);
    await ingest(resolver, org, [enriched('c', { phone: '+44 7911 123456' })]); // c → b
    const merges = await ingest(resolver, org, [enriched('b', { email: 'SAM@lee.dev' })]); // b (and c) → a
    expect(merges.map((m) => [m.merged, m.into])).toEqual([['b', 'a']]);
    for (const lead of ['a', 'b', 'c']) expect((await findLead(db.client, org, lead))?.leadId).toBe('a');
  });

  it('is idempotent across retries and across processes', async () => {
    const org = 'org-identity-4';
    const first = createIdentityResolver(db.client);
    await ingest(first, org, [enriched('x', { email: 'x@corp.com' })]);
    const batch = [enriched('y', { email: 'x@corp.com' })];
    expect(await ingest(first, org, batch)).toHaveLength(1);
    expect(await ingest(first, org, batch)).toEqual([]);
    // Another process loads the graph from ClickHouse and agrees.
    const second = createIdentityResolver(db.client);
    expect(await ingest(second, org, batch)).toEqual([]);
    expect(await ingest(second, org, [enriched('z', { email: 'X@corp.com' })])).toEqual([expect.objectContaining({ into: 'x', merged: 'z' })]);
  });

  it('merges through the ingest API: the merge is an event on the surviving lead and the wall counts one lead', async () => {
    const ctx = createTestContext(db);
    try {
      const org = await seedOrganisation(db.client, 'Identity API Org');
      const send = async (events: AgentEvent[]) => (await handleIngest(ctx, ingestRequest(org.apiKey, events))).json();
      await send([buildStageChanged({ leadId: 'wa', stage: 'qualified' }), enriched('wa', { phone: '+34 612 34 56 78' })]);
      expect(await send([buildStageChanged({ leadId: 'mail', stage: 'enquired', channel: 'email' }), enriched('mail', { email: 'p@q.es', phone: '+34612345678' })])).toEqual({
        accepted: 2,
        rejected: []
      });
      // One lead, whose current stage is its latest stage event across both histories.
      expect(await countLeadsByStage(db.client, org.orgId)).toEqual({ enquired: 1, qualified: 0, booked: 0, attended: 0, won: 0, lost: 0 });
      const merge = (await leadTimeline(db.client, org.orgId, 'wa')).find((e) => e.type === 'leads_merged');
      expect(merge).toMatchObject({ actor: 'system', summary: 'Same phone as lead mail: merged into this lead' });
    } finally {
      await ctx.close();
    }
  });
});
