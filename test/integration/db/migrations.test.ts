import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertRows, queryRows } from '../../../src/lib/server/db/clickhouse';
import { migrate, migrations } from '../../../src/lib/server/db/migrations';
import { sql } from '../../../src/lib/server/db/sql';
import { insertEventRows, MAX_MONTHS_PER_INSERT, partitionMonth, toEventRow } from '../../../src/lib/server/db/queries/events';
import { buildMessage } from '../../fixtures/events';
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
    expect(tables.map((t) => t.name)).toEqual([...migratedTables, 'schema_migrations'].sort());
    expect(migratedTables).toContain('events');

    const keyed = tables.filter((t) => t.name !== 'schema_migrations');
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
