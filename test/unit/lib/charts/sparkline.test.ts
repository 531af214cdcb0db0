import { describe, expect, it } from 'vitest';
import { sparklinePaths } from '../../../../src/lib/charts/sparkline';

/** The numbers of an SVG path, in order. */
const numbers = (path: string) => (path.match(/-?\d+(\.\d+)?/g) ?? []).map(Number);

describe('sparklinePaths', () => {
  it('spreads the values over the width, zero at the bottom and the max at the top', () => {
    const { line } = sparklinePaths([0, 5, 10], { width: 100, height: 20 });
    expect(numbers(line)).toEqual([0, 20, 50, 10, 100, 0]);
  });

  it('uses a shared max when given, so two series on one chart compare', () => {
    const { line } = sparklinePaths([0, 5], { width: 10, height: 20, max: 20 });
    expect(numbers(line)).toEqual([0, 20, 10, 15]);
  });

  it('closes the area along the bottom edge', () => {
    const { area } = sparklinePaths([2, 2], { width: 10, height: 8 });
    expect(area.startsWith('M0,0L10,0L10,8L0,8Z')).toBe(true);
  });

  it('draws a flat zero series along the bottom, and nothing for no data', () => {
    expect(numbers(sparklinePaths([0, 0, 0], { width: 10, height: 5 }).line)).toEqual([0, 5, 5, 5, 10, 5]);
    expect(sparklinePaths([], { width: 10, height: 5 })).toEqual({ line: '', area: '' });
  });
});
