import { describe, expect, it } from 'vitest';
import { formatAgo, formatCount, formatDuration, formatMoney, formatPercent } from '../../../../src/lib/charts/format';
import { funnelRows } from '../../../../src/lib/charts/funnel-rows';
import { buildStepFigure } from '../../../fixtures/wall';

const figure = buildStepFigure;

describe('funnelRows', () => {
  it('scales bars to the first step and words the figures', () => {
    const rows = funnelRows([
      figure('enquired', 200, { dropped: 100, dropOffPct: 50 }),
      figure('qualified', 100, { conversionPct: 50, dropped: 96, dropOffPct: 96, stillOpen: 10, medianMsFromPrevious: 5_400_000 }),
      figure('booked', 4, { conversionPct: 4, medianMsFromPrevious: 90_000 }),
      figure('attended', 0, { conversionPct: 0 }),
      figure('won', 0, { conversionPct: null })
    ]);
    expect(rows.map((r) => [r.label, r.share, r.conversion, r.dropOff, r.median])).toEqual([
      ['Enquired', 1, '', '50%', ''],
      ['Qualified', 0.5, '50%', '96%', '1.5 h'],
      ['Booked', 0.02, '4.0%', '', '2 min'],
      ['Attended', 0, '0%', '', ''],
      ['Won', 0, '', '', '']
    ]);
    expect(rows[1]?.stillOpen).toBe(10);
  });

  it('draws an empty funnel as zero-length bars, not NaN', () => {
    expect(funnelRows([figure('enquired', 0), figure('qualified', 0)]).map((r) => r.share)).toEqual([0, 0]);
  });
});

describe('formatting', () => {
  it.each([
    [40_000, '40 s'],
    [12 * 60_000, '12 min'],
    [3.5 * 3_600_000, '3.5 h'],
    [3 * 3_600_000, '3 h'],
    [14 * 3_600_000, '14 h'],
    [2.1 * 86_400_000, '2.1 d']
  ])('says %d ms as %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('writes money without cents, compact from 10,000', () => {
    expect([formatMoney(3746.4, 'EUR'), formatMoney(18_412, 'EUR'), formatMoney(116_400, 'GBP')]).toEqual(['€3,746', '€18.4k', '£116k']);
  });

  it('says how long ago, never negative', () => {
    expect([formatAgo(1_000, 61_000), formatAgo(5_000, 1_000)]).toEqual(['1 min', '0 s']);
  });

  it('keeps one decimal under 10 %', () => {
    expect([formatPercent(4.46), formatPercent(52.4), formatPercent(0)]).toEqual(['4.5%', '52%', '0%']);
  });
});

describe('the time-between-steps box plot', () => {
  it('places the quantiles on a log scale from 1 s to 30 days, clamped', () => {
    const [, row] = funnelRows([
      figure('enquired', 2),
      figure('qualified', 2, { medianMsFromPrevious: 3_600_000, spreadMsFromPrevious: { p10: 500, p25: 1_000, p50: 3_600_000, p75: 30 * 86_400_000, p90: 90 * 86_400_000 } })
    ]);
    const at = (ms: number) => Math.log(ms / 1_000) / Math.log((30 * 86_400_000) / 1_000);
    expect(row?.spread).toEqual({ p10: 0, p25: 0, p50: at(3_600_000), p75: 1, p90: 1 });
  });

  it('has none for the first step or a step nobody reached', () => {
    expect(funnelRows([figure('enquired', 0)])[0]?.spread).toBeNull();
  });
});

describe('formatCount', () => {
  it('groups thousands with commas', () => {
    expect([0, 42, 1234, 1234567].map(formatCount)).toEqual(['0', '42', '1,234', '1,234,567']);
  });
});
