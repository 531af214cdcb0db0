import { area, line, scaleLinear } from 'd3';

export interface SparklineBox {
  width: number;
  height: number;
  /** Top of the scale; series drawn together share it. Defaults to the largest value (at least 1). */
  max?: number;
}

/**
 * SVG path data for a sparkline of `values` (oldest first) filling `box`: the line and the area
 * under it. Zero sits on the bottom edge; a flat zero series is a line along it, not NaN.
 */
export function sparklinePaths(values: readonly number[], box: SparklineBox): { line: string; area: string } {
  if (values.length === 0) return { line: '', area: '' };
  const max = Math.max(1, box.max ?? Math.max(...values));
  const x = scaleLinear([0, Math.max(1, values.length - 1)], [0, box.width]);
  const y = scaleLinear([0, max], [box.height, 0]);
  const points = values.map((v, i) => [x(i), y(v)] as [number, number]);
  return {
    line: line()(points) ?? '',
    area: area().y0(box.height)(points) ?? ''
  };
}
