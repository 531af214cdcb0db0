import { describe, expect, it } from 'vitest';
import { agentEventSchema } from '../../../../../src/lib/contracts/events';
import { renderTsv, tsvField } from '../../../../../src/lib/server/db/clickhouse';
import { EVENT_COLUMNS, toEventRow } from '../../../../../src/lib/server/db/queries/events';
import { buildMessage } from '../../../../fixtures/events';

describe('tsvField', () => {
  it.each([
    ['plain text', 'plain text'],
    ['a\tb', 'a\\tb'],
    ['a\nb', 'a\\nb'],
    ['a\rb', 'a\\rb'],
    ['a\\b', 'a\\\\b'],
    ['\\N', '\\\\N'],
    ['\t\n\r\\', '\\t\\n\\r\\\\'],
    ['', ''],
    ['😀 \0 \x1b', '😀 \0 \x1b']
  ])('escapes %j as %j', (value, expected) => {
    expect(tsvField(value)).toBe(expected);
  });

  it('writes numbers, bigints and booleans as ClickHouse reads them', () => {
    expect([tsvField(0), tsvField(12.5), tsvField(1_790_000_000_000), tsvField(2n ** 64n - 1n), tsvField(true), tsvField(false)]).toEqual([
      '0',
      '12.5',
      '1790000000000',
      '18446744073709551615',
      '1',
      '0'
    ]);
  });

  it('refuses what TSV has no form for', () => {
    for (const v of [Number.NaN, Infinity, -Infinity, null, undefined, {}, []]) expect(() => tsvField(v), String(v)).toThrow(TypeError);
  });
});

describe('renderTsv', () => {
  it('writes one line per row, fields in column order, each line ending in \\n', () => {
    const rows = [
      { b: 'x\ty', a: 1 },
      { a: 2, b: 'line\nbreak' }
    ];
    expect(renderTsv(['a', 'b'], rows)).toBe('1\tx\\ty\n2\tline\\nbreak\n');
    expect(renderTsv(['a', 'b'], [])).toBe('');
  });

  it('refuses a row without one of the columns', () => {
    expect(() => renderTsv(['a', 'b'], [{ a: 1 }])).toThrow(TypeError);
  });

  it('renders an event row with every ledger column', () => {
    const row = toEventRow(buildMessage({ text: 'tab\there' }), 'org-1', 1_790_000_000_000);
    const [line] = renderTsv(EVENT_COLUMNS, [row]).split('\n');
    expect(line?.split('\t')).toHaveLength(EVENT_COLUMNS.length);
  });
});

describe('toEventRow money', () => {
  it('stores whole cents, as Decimal(18,2) takes them, for values the contract accepts', () => {
    const deal = (value: number) =>
      agentEventSchema.parse({ type: 'deal_won', eventId: 'e1', leadId: 'l1', occurredAt: '2026-11-01T10:00:00Z', value, currency: 'EUR' });
    const valueOf = (v: number) => toEventRow(deal(v), 'org-1', 0).value;
    expect(valueOf(0.1 + 0.2)).toBe(0.3);
    expect(valueOf(3.0000000001)).toBe(3);
    expect(valueOf(12.5)).toBe(12.5);
    expect(valueOf(1e15)).toBe(1e15);
    expect(String(valueOf(999_999_999_999_999.9))).toMatch(/^\d+(\.\d{1,2})?$/);
  });
});
