import { describe, expect, it } from 'vitest';
import { groupByPartition, partitionMonth, toEventRow, type EventRow } from '../../../../../src/lib/server/db/queries/events';
import { buildMessage } from '../../../../fixtures/events';

const rowAt = (iso: string, id: string): EventRow => toEventRow(buildMessage({ occurredAt: iso, eventId: id }), 'org-1', Date.now());

describe('partitionMonth', () => {
  it.each([
    [0, 197001],
    [Date.UTC(2026, 0, 31, 23, 59, 59, 999), 202601],
    [Date.UTC(2026, 1, 1), 202602],
    [Date.UTC(2099, 11, 31, 23, 59, 59, 999), 209912]
  ])('puts %d in %d (UTC)', (ms, month) => {
    expect(partitionMonth(ms)).toBe(month);
  });
});

describe('groupByPartition', () => {
  it('keeps a batch within a few months as one insert, rows as given', () => {
    const rows = [rowAt('2026-11-02T10:00:00Z', 'a'), rowAt('2026-10-30T10:00:00Z', 'b'), rowAt('2026-11-03T10:00:00Z', 'c')];
    const groups = groupByPartition(rows, 2);
    expect(groups).toHaveLength(1);
    expect(groups[0]).toBe(rows);
  });

  it('splits a batch over many months into inserts of at most maxMonths months, losing no row', () => {
    // 130 months, two rows each, shuffled.
    const rows = Array.from({ length: 260 }, (_, i) => rowAt(new Date(Date.UTC(2010, i % 130, 15)).toISOString(), `e${i}`)).reverse();
    const groups = groupByPartition(rows, 50);
    expect(groups.map((g) => new Set(g.map((r) => partitionMonth(Number(r.occurred_at)))).size)).toEqual([50, 50, 30]);
    expect(groups.flat().map((r) => r.event_id).sort()).toEqual(rows.map((r) => r.event_id).sort());
  });
});
