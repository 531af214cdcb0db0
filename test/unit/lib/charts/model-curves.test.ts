import { describe, expect, it } from 'vitest';
import { calibrationGeometry, formatLift, gainsGeometry, prGeometry, rocGeometry } from '../../../../src/lib/charts/model-curves';
import { linearPlot, PLOT_MARGIN } from '../../../../src/lib/charts/model-plot';

/** The numbers of an SVG path, in order. */
const numbers = (path: string) => (path.match(/-?\d+(\.\d+)?/g) ?? []).map(Number);

/** A box whose plotting area is exactly 100 × 100 px, so data 0..1 maps to easy pixels. */
const box = { width: PLOT_MARGIN.left + 100 + PLOT_MARGIN.right, height: PLOT_MARGIN.top + 100 + PLOT_MARGIN.bottom };
const L = PLOT_MARGIN.left;
const B = PLOT_MARGIN.top + 100;
/** Pixel of a data point in that box. */
const px = (x: number, y: number) => [L + x * 100, B - y * 100];

describe('linearPlot', () => {
  it('puts 0..1 on the plotting area, y upwards, with percent ticks', () => {
    const { x, y, frame } = linearPlot(box);
    expect([x(0), x(1), y(0), y(1)]).toEqual([L, L + 100, B, PLOT_MARGIN.top]);
    expect(frame.xTicks.map((t) => t.label)).toEqual(['0%', '20%', '40%', '60%', '80%', '100%']);
    expect(frame.yTicks[0]).toEqual({ at: B, label: '0%' });
  });

  it('keeps a valid frame in a box too small to plot in (before the panel is measured)', () => {
    const { frame } = linearPlot({ width: 0, height: 0 });
    expect(frame.right).toBeGreaterThan(frame.left);
    expect(frame.bottom).toBeGreaterThan(frame.top);
    expect(frame.xTicks.every((t) => Number.isFinite(t.at))).toBe(true);
  });
});

describe('rocGeometry', () => {
  it('draws the curve through the points, shades below it and adds the chance diagonal', () => {
    const g = rocGeometry(
      [
        { fpr: 0, tpr: 0 },
        { fpr: 0.2, tpr: 0.6 },
        { fpr: 1, tpr: 1 }
      ],
      box
    );
    expect(numbers(g.curve)).toEqual([...px(0, 0), ...px(0.2, 0.6), ...px(1, 1)]);
    expect(numbers(g.diagonal)).toEqual([...px(0, 0), ...px(1, 1)]);
    expect(g.area.endsWith('Z')).toBe(true);
    expect(numbers(g.area)).toContain(B);
  });

  it('draws nothing for an empty series, but keeps the diagonal', () => {
    const g = rocGeometry([], box);
    expect([g.curve, g.area]).toEqual(['', '']);
    expect(g.diagonal).not.toBe('');
  });
});

describe('prGeometry', () => {
  it('orders points by recall and puts the baseline at the positive rate', () => {
    const g = prGeometry(
      [
        { recall: 1, precision: 0.25 },
        { recall: 0.1, precision: 1 },
        { recall: 0.5, precision: 0.6 }
      ],
      0.25,
      box
    );
    expect(numbers(g.curve)).toEqual([...px(0.1, 1), ...px(0.5, 0.6), ...px(1, 0.25)]);
    expect(numbers(g.baseline)).toEqual([...px(0, 0.25), ...px(1, 0.25)]);
    expect(g.baselineY).toBe(B - 25);
  });
});

describe('calibrationGeometry', () => {
  const bin = (lo: number, count: number, meanPredicted: number, fractionPositive: number) => ({ lo, hi: lo + 0.1, count, meanPredicted, fractionPositive });

  it('places a dot per non-empty bin at (mean predicted, observed), area by count', () => {
    const g = calibrationGeometry([bin(0, 400, 0.05, 0.04), bin(0.1, 0, 0, 0), bin(0.5, 100, 0.55, 0.6)], box);
    expect(g.dots.map((d) => [d.cx, d.cy, d.count])).toEqual([
      [...px(0.05, 0.04), 400],
      [...px(0.55, 0.6), 100]
    ]);
    // Area ∝ count: a quarter of the count is half the radius.
    expect(g.dots[1]!.r / g.dots[0]!.r).toBeCloseTo(0.5, 6);
    expect(numbers(g.line)).toEqual([...px(0.05, 0.04), ...px(0.55, 0.6)]);
    expect(numbers(g.diagonal)).toEqual([...px(0, 0), ...px(1, 1)]);
  });

  it('keeps a tiny bin visible', () => {
    const g = calibrationGeometry([bin(0, 10_000, 0.05, 0.05), bin(0.9, 1, 0.95, 1)], box);
    expect(g.dots[1]!.r).toBe(2);
  });
});

describe('gainsGeometry', () => {
  const gains = [0, 0.1, 0.2, 0.3, 0.5, 1].map((fraction) => ({ fraction, captured: Math.min(1, fraction * 2.5) }));

  it('draws the gains, the random diagonal and the perfect order that bends at the win rate', () => {
    const g = gainsGeometry(gains, 0.25, box);
    expect(numbers(g.curve).slice(0, 4)).toEqual([...px(0, 0), ...px(0.1, 0.25)]);
    expect(numbers(g.random)).toEqual([...px(0, 0), ...px(1, 1)]);
    expect(numbers(g.perfect)).toEqual([...px(0, 0), ...px(0.25, 1), ...px(1, 1)]);
  });

  it('labels the lift at the top 10, 20 and 30 %', () => {
    const g = gainsGeometry(gains, 0.25, box);
    expect(g.lifts.map((l) => [l.fraction, formatLift(l.lift)])).toEqual([
      [0.1, '2.5×'],
      [0.2, '2.5×'],
      [0.3, '2.5×']
    ]);
  });

  it('skips a lift mark the series has no point for', () => {
    expect(gainsGeometry([{ fraction: 0, captured: 0 }, { fraction: 1, captured: 1 }], 0.3, box).lifts).toEqual([]);
  });
});
