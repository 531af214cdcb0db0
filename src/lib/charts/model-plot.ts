import { scaleLinear, type ScaleLinear } from 'd3';

/**
 * The plotting frame every model chart shares: a box in CSS pixels (the chart component measures
 * its panel), margins for the axis labels, and ticks ready to draw. Pure, so the geometry is
 * tested without a DOM.
 */

export interface Box {
  width: number;
  height: number;
}

export interface Margin {
  top: number;
  right: number;
  bottom: number;
  left: number;
}

/** Room for tick labels and an axis title at the wall's type size (~20 px at 1920 wide). */
export const PLOT_MARGIN: Readonly<Margin> = { top: 12, right: 24, bottom: 44, left: 68 };

export interface Tick {
  /** Position along the axis in pixels. */
  at: number;
  label: string;
}

/** The plotting area in box pixels, with the ticks of both axes. */
export interface Frame {
  width: number;
  height: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
  xTicks: Tick[];
  yTicks: Tick[];
}

/** Shares as whole percents: the wall reads "40%" faster than "0.4". */
export const percentTick = (v: number) => `${Math.round(v * 100)}%`;
export const decimalTick = (v: number) => String(Math.round(v * 100) / 100);

/**
 * Below this the plotting area would be negative; a panel too small to measure yet (the server
 * render, a collapsed panel) still gets a valid, tiny frame instead of NaN paths.
 */
const MIN_SIDE = 10;

export interface LinearPlot {
  x: ScaleLinear<number, number>;
  y: ScaleLinear<number, number>;
  frame: Frame;
}

export interface PlotOptions {
  xDomain?: [number, number];
  yDomain?: [number, number];
  xLabel?: (v: number) => string;
  yLabel?: (v: number) => string;
  /** Approximate tick counts (d3's `ticks(count)`); fewer on a small chart keeps labels apart. */
  xTicks?: number;
  yTicks?: number;
  margin?: Margin;
}

/** Linear x and y scales over the plotting area of `box`; by default both run 0..1 in percent. */
export function linearPlot(box: Box, options: PlotOptions = {}): LinearPlot {
  const m = options.margin ?? PLOT_MARGIN;
  const right = Math.max(m.left + MIN_SIDE, box.width - m.right);
  const bottom = Math.max(m.top + MIN_SIDE, box.height - m.bottom);
  const x = scaleLinear()
    .domain(options.xDomain ?? [0, 1])
    .range([m.left, right]);
  const y = scaleLinear()
    .domain(options.yDomain ?? [0, 1])
    .range([bottom, m.top]);
  const xLabel = options.xLabel ?? percentTick;
  const yLabel = options.yLabel ?? percentTick;
  return {
    x,
    y,
    frame: {
      width: Math.max(box.width, right + m.right),
      height: Math.max(box.height, bottom + m.bottom),
      left: m.left,
      right,
      top: m.top,
      bottom,
      xTicks: x.ticks(options.xTicks ?? 5).map((v) => ({ at: x(v), label: xLabel(v) })),
      yTicks: y.ticks(options.yTicks ?? 5).map((v) => ({ at: y(v), label: yLabel(v) }))
    }
  };
}

/** A straight segment between two data points, as SVG path data. */
export function segment(plot: LinearPlot, from: [number, number], to: [number, number]): string {
  return `M${plot.x(from[0])},${plot.y(from[1])}L${plot.x(to[0])},${plot.y(to[1])}`;
}
