import { describe, expect, it } from 'vitest';
import { fitFontSize, formatCount, layoutStageBars } from '$lib/charts/stage-bars';
import type { StageCounts } from '$lib/contracts/wall';

const zeroCounts: StageCounts = { enquired: 0, qualified: 0, booked: 0, attended: 0, won: 0, lost: 0 };

describe('layoutStageBars', () => {
  it('lays the funnel out in order with lost after a half-step gap, heights on one scale', () => {
    // 1300px = 6.5 steps of 200px: 160px bars, 40px between, 20px outer margin, 100px gap.
    const counts: StageCounts = { enquired: 40, qualified: 30, booked: 20, attended: 10, won: 5, lost: 8 };

    expect(layoutStageBars(counts, { width: 1300, height: 500, headroom: 100 })).toEqual([
      { stage: 'enquired', count: 40, x: 20, y: 100, width: 160, height: 400, label: 'Enquired' },
      { stage: 'qualified', count: 30, x: 220, y: 200, width: 160, height: 300, label: 'Qualified' },
      { stage: 'booked', count: 20, x: 420, y: 300, width: 160, height: 200, label: 'Booked' },
      { stage: 'attended', count: 10, x: 620, y: 400, width: 160, height: 100, label: 'Attended' },
      { stage: 'won', count: 5, x: 820, y: 450, width: 160, height: 50, label: 'Won' },
      { stage: 'lost', count: 8, x: 1120, y: 420, width: 160, height: 80, label: 'Lost' }
    ]);
  });

  it('sizes bars against lost when lost is the largest count', () => {
    const counts: StageCounts = { ...zeroCounts, enquired: 10, lost: 20 };

    const heights = layoutStageBars(counts, { width: 1300, height: 200 }).map((bar) => bar.height);

    expect(heights).toEqual([100, 0, 0, 0, 0, 200]);
  });

  it('puts every bar on the baseline with zero height when all counts are zero', () => {
    const bars = layoutStageBars(zeroCounts, { width: 1300, height: 300, headroom: 50 });

    expect(bars.map(({ stage, y, height }) => ({ stage, y, height }))).toEqual([
      { stage: 'enquired', y: 300, height: 0 },
      { stage: 'qualified', y: 300, height: 0 },
      { stage: 'booked', y: 300, height: 0 },
      { stage: 'attended', y: 300, height: 0 },
      { stage: 'won', y: 300, height: 0 },
      { stage: 'lost', y: 300, height: 0 }
    ]);
  });

  it('draws a negative count as zero but reports the count as given', () => {
    const bars = layoutStageBars({ ...zeroCounts, enquired: 4, won: -2 }, { width: 1300, height: 100 });

    expect(bars[4]).toEqual({ stage: 'won', count: -2, x: 820, y: 100, width: 160, height: 0, label: 'Won' });
  });

  it('keeps every edge on a whole pixel when the box is fractional', () => {
    const bars = layoutStageBars({ ...zeroCounts, enquired: 3, qualified: 1 }, { width: 1000.4, height: 300.6, headroom: 20.3 });

    expect(bars.slice(0, 2)).toEqual([
      { stage: 'enquired', count: 3, x: 15, y: 20, width: 123, height: 281, label: 'Enquired' },
      { stage: 'qualified', count: 1, x: 169, y: 207, width: 123, height: 94, label: 'Qualified' }
    ]);
  });

  it('returns finite zero geometry for an unmeasured (0 x 0) box', () => {
    const bars = layoutStageBars({ ...zeroCounts, enquired: 3 }, { width: 0, height: 0, headroom: 40 });

    expect(bars.map(({ x, y, width, height }) => ({ x, y, width, height }))).toEqual(
      Array.from({ length: 6 }, () => ({ x: 0, y: 0, width: 0, height: 0 }))
    );
  });
});

describe('fitFontSize', () => {
  it('uses the largest size at which the text fits', () => {
    // 4 glyphs at 0.6em in 120px: 120 / 2.4 = 50px.
    expect(fitFontSize('1234', 120, { min: 10, max: 100 })).toBe(50);
  });

  it('clamps to the maximum for short text in a wide box', () => {
    expect(fitFontSize('7', 400, { min: 10, max: 96 })).toBe(96);
  });

  it('clamps to the minimum when nothing fits', () => {
    expect(fitFontSize('123,456,789', 20, { min: 24, max: 96 })).toBe(24);
  });
});

describe('formatCount', () => {
  it('groups thousands with commas', () => {
    expect([0, 42, 1234, 1234567].map(formatCount)).toEqual(['0', '42', '1,234', '1,234,567']);
  });
});
