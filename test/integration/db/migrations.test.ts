import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertRows, queryRows } from '../../../src/lib/server/db/clickhouse';
import { migrate, migrations } from '../../../src/lib/server/db/migrations';
import { sql } from '../../../src/lib/server/db/sql';
import { insertEventRows, MAX_MONTHS_PER_INSERT, partitionMonth, toEventRow } from '../../../src/lib/server/db/queries/events';
import { buildMessage, buildStageChanged } from '../../fixtures/events';
import { funnelSteps } from '../../../src/lib/server/db/queries/funnel';
import { createTestDatabase, type TestDatabase } from '../../helpers/clickhouse';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase('migrations_test', { migrate: false });
});

afterAll(async () => {
  await db?.drop();
});

/** Table names the migrations create, read from their own statements. */
const migratedTables = migrations
  .flatMap((m) => m.statements)
  .map((s) => /CREATE TABLE IF NOT EXISTS\s+(\w+)/.exec(s.text)?.[1])
  .filter((name): name is string => name !== undefined)
  .sort();
/** Materialised views: listed as tables, with no sorting key of their own (they write TO a table). */
const migratedViews = migrations
  .flatMap((m) => m.statements)
  .map((s) => /CREATE MATERIALIZED VIEW IF NOT EXISTS\s+(\w+)/.exec(s.text)?.[1])
  .filter((name): name is string => name !== undefined);

describe('migrate', () => {
  it('applies every version on a fresh database, then none on a second run', async () => {
    const allVersions = migrations.map((m) => m.version);
    expect(allVersions.length).toBeGreaterThan(0);

    expect(await migrate(db.client, () => 1_700_000_000_123)).toEqual(allVersions);
    expect(await migrate(db.client, () => 1_800_000_000_000)).toEqual([]);

    const recorded = await queryRows<{ version: number; name: string; applied_at: string }>(
      db.client,
      sql`SELECT version, name, applied_at FROM schema_migrations ORDER BY version`
    );
    expect(recorded).toEqual(
      migrations.map((m) => ({ version: m.version, name: m.name, applied_at: '1700000000123' }))
    );
  });

  it('creates exactly the declared tables, each with org_id first in its sorting key', async () => {
    await migrate(db.client); // a no-op after the first test; keeps this test runnable alone
    const tables = await queryRows<{ name: string; sorting_key: string }>(
      db.client,
      sql`SELECT name, sorting_key FROM system.tables WHERE database = currentDatabase() ORDER BY name`
    );
    expect(tables.map((t) => t.name)).toEqual([...migratedTables, ...migratedViews, 'schema_migrations'].sort());
    expect(migratedTables).toContain('events');
    expect(migratedViews).toContain('lead_funnel_mv');

    const keyed = tables.filter((t) => t.name !== 'schema_migrations' && !migratedViews.includes(t.name));
    expect(keyed.map((t) => ({ name: t.name, first: t.sorting_key.split(',')[0]?.trim() }))).toEqual(
      keyed.map((t) => ({ name: t.name, first: 'org_id' }))
    );
    expect(tables.find((t) => t.name === 'schema_migrations')?.sorting_key).toBe('version');
  });

  it('lets the events table take a row with every column through insertRows and read it back', async () => {
    await migrate(db.client);
    const row = {
      org_id: 'org_test',
      event_id: 'evt_1',
      lead_id: 'lead_1',
      contact_id: 'contact_1',
      type: 'stage_changed',
      channel: 'email',
      stage: 'qualified',
      intent: 'buy',
      actor: 'agent',
      agent_id: 'agent_7',
      value: 1234.56,
      currency: 'EUR',
      summary: "Quote \"sent\" — it's 😀 \\ done\n",
      occurred_at: '1704067200123',
      received_at: '18446744073709551615',
      properties: JSON.stringify({ source: 'web', tags: ['a', 'b'] })
    };
    const columns = await queryRows<{ name: string }>(
      db.client,
      sql`DESCRIBE TABLE events`
    );
    expect(columns.map((c) => c.name)).toEqual(Object.keys(row));

    await insertRows(db.client, 'events', Object.keys(row), [row]);

    const back = await queryRows<Record<string, unknown>>(db.client, sql`SELECT * FROM events`);
    // UInt64 comes back as a string and Decimal as a number (clickhouse-18.16.md §8.3).
    expect(back).toEqual([row]);
  });
});

describe('the events partition key', () => {
  it('is the month partitionMonth computes, so insertEventRows groups rows as ClickHouse partitions them', async () => {
    await migrate(db.client);
    const instants = [0, 999, Date.UTC(1999, 11, 31, 23, 59, 59, 999), Date.UTC(2000, 1, 29, 12), Date.UTC(2026, 2, 29, 1, 30), Date.UTC(2099, 11, 31, 23, 59, 59, 999)];
    const rows = instants.map((ms, i) => toEventRow(buildMessage({ eventId: `p${i}`, occurredAt: new Date(ms).toISOString() }), 'org-p', 1));
    // More months than one insert may span, so this goes as several inserts.
    for (let m = 0; m < MAX_MONTHS_PER_INSERT + 5; m++) {
      rows.push(toEventRow(buildMessage({ eventId: `m${m}`, occurredAt: new Date(Date.UTC(2020, m, 1)).toISOString() }), 'org-p', 1));
    }
    await insertEventRows(db.client, rows);
    const stored = await queryRows<{ event_id: string; occurred_at: string; partition: string }>(
      db.client,
      sql`SELECT event_id, occurred_at, _partition_id AS partition FROM events WHERE org_id = 'org-p'`
    );
    expect(stored).toHaveLength(rows.length);
    for (const r of stored) expect(Number(r.partition)).toBe(partitionMonth(Number(r.occurred_at)));
  });
});

describe('migration 5, the per-lead funnel summary', () => {
  it('backfills leads stored before it and then follows new events, without doubling anything', async () => {
    const old = await createTestDatabase('migrations_backfill_test', { migrate: false });
    try {
      expect(await migrate(old.client, Date.now, 4)).toEqual([1, 2, 3, 4]);
      const at = (h: number) => new Date(Date.UTC(2026, 0, 1, h)).toISOString();
      const before = [
        buildStageChanged({ eventId: 'a1', leadId: 'A', stage: 'enquired', occurredAt: at(1) }),
        buildStageChanged({ eventId: 'a2', leadId: 'A', stage: 'booked', occurredAt: at(3) }),
        buildStageChanged({ eventId: 'b1', leadId: 'B', stage: 'enquired', occurredAt: at(2) })
      ];
      await insertEventRows(old.client, before.map((e) => toEventRow(e, 'org-m', 1)));
      expect(await migrate(old.client, Date.now)).toEqual(migrations.filter((m) => m.version >= 5).map((m) => m.version));
      // After the view exists: a new step for B, and A's rows again (a retried batch).
      const after = [buildStageChanged({ eventId: 'b2', leadId: 'B', stage: 'qualified', occurredAt: at(4) }), ...before];
      await insertEventRows(old.client, after.map((e) => toEventRow(e, 'org-m', 2)));

      const q = { from: Date.UTC(2026, 0, 1), to: Date.UTC(2026, 0, 2), conversionWindowMs: 86_400_000, asOf: Date.UTC(2026, 0, 3) };
      const { steps } = await funnelSteps(old.client, 'org-m', q);
      // A: enquired → booked (passes qualified), B: enquired → qualified.
      expect(steps.map((s) => s.count)).toEqual([2, 2, 1, 0, 0]);
      expect(steps[1]?.medianMsFromPrevious).toBe(2 * 3_600_000); // (A 2 h, B 2 h): duplicates add nothing
    } finally {
      await old.drop();
    }
  });
});
