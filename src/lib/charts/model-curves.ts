import { area, line, scaleSqrt } from 'd3';
import type { ModelMetrics } from '$lib/contracts/model';
import { linearPlot, segment, type Box, type Frame } from './model-plot';

/**
 * Geometry of the holdout curves that ml/evaluate.ts stores with each version (ROC, PR,
 * calibration, cumulative gains). Each returns the frame and SVG path data; the components
 * only draw them.
 */

type Curves = ModelMetrics['curves'];

const toPath = (points: [number, number][]) => (points.length === 0 ? '' : (line()(points) ?? ''));

export interface RocGeometry {
  frame: Frame;
  curve: string;
  /** Under the curve, shaded: its area is the AUC. */
  area: string;
  /** A score no better than chance (AUC 0.5). */
  diagonal: string;
}

/** ROC: true-positive rate (wins found) against false-positive rate (losses called), both 0..1. */
export function rocGeometry(roc: Curves['roc'], box: Box): RocGeometry {
  const plot = linearPlot(box);
  const points = roc.map((p) => [plot.x(p.fpr), plot.y(p.tpr)] as [number, number]);
  return {
    frame: plot.frame,
    curve: toPath(points),
    area: points.length === 0 ? '' : (area().y0(plot.y(0))(points) ?? ''),
    diagonal: segment(plot, [0, 0], [1, 1])
  };
}

export interface PrGeometry {
  frame: Frame;
  curve: string;
  /** Precision of calling everyone: the win rate. A useful score stays above it. */
  baseline: string;
  /** Pixel height of the baseline, for its label. */
  baselineY: number;
}

/** Precision against recall; the baseline is the holdout's positive rate. */
export function prGeometry(pr: Curves['pr'], positiveRate: number, box: Box): PrGeometry {
  const plot = linearPlot(box);
  // ml/evaluate walks thresholds from the top down, so recall already rises; sort anyway so a
  // differently ordered series never draws a zig-zag.
  const sorted = [...pr].sort((a, b) => a.recall - b.recall);
  return {
    frame: plot.frame,
    curve: toPath(sorted.map((p) => [plot.x(p.recall), plot.y(p.precision)])),
    baseline: segment(plot, [0, positiveRate], [1, positiveRate]),
    baselineY: plot.y(positiveRate)
  };
}

export interface CalibrationDot {
  cx: number;
  cy: number;
  /** Radius in pixels, area proportional to the bin's count. */
  r: number;
  count: number;
  meanPredicted: number;
  fractionPositive: number;
}

export interface CalibrationGeometry {
  frame: Frame;
  /** Perfect calibration: observed win rate equals the predicted probability. */
  diagonal: string;
  /** Through the non-empty bins, lowest prediction first. */
  line: string;
  dots: CalibrationDot[];
}

/** Largest dot radius as a share of the plot's shorter side: big enough to compare, small enough not to hide neighbours. */
const MAX_DOT_SHARE = 0.06;

/**
 * Observed win rate against mean predicted probability per bin. Empty bins are left out (their
 * zeros are not an observation); the dot area grows with the bin's count, so a bin of three
 * leads cannot look as convincing as one of three hundred.
 */
export function calibrationGeometry(bins: Curves['calibration'], box: Box): CalibrationGeometry {
  const plot = linearPlot(box);
  const filled = bins.filter((b) => b.count > 0).sort((a, b) => a.meanPredicted - b.meanPredicted);
  const side = Math.min(plot.frame.right - plot.frame.left, plot.frame.bottom - plot.frame.top);
  const largest = Math.max(1, ...filled.map((b) => b.count));
  const radius = scaleSqrt()
    .domain([0, largest])
    .range([0, Math.max(3, side * MAX_DOT_SHARE)]);
  const dots = filled.map((b) => ({
    cx: plot.x(b.meanPredicted),
    cy: plot.y(b.fractionPositive),
    // At least 2 px: a bin that exists must stay visible.
    r: Math.max(2, radius(b.count)),
    count: b.count,
    meanPredicted: b.meanPredicted,
    fractionPositive: b.fractionPositive
  }));
  return {
    frame: plot.frame,
    diagonal: segment(plot, [0, 0], [1, 1]),
    line: toPath(dots.map((d) => [d.cx, d.cy])),
    dots
  };
}

export interface LiftMark {
  fraction: number;
  /** captured / fraction: how many times more wins than a random list of that length. */
  lift: number;
  x: number;
  y: number;
}

export interface GainsGeometry {
  frame: Frame;
  curve: string;
  /** A random order finds wins in proportion to the leads called. */
  random: string;
  /** A perfect order finds every win within the first `positiveRate` of the list. */
  perfect: string;
  /** Lift at the first three deciles, where a call list is actually worked. */
  lifts: LiftMark[];
}

/** Fractions at which the lift is labelled (the top 10 %, 20 %, 30 % of leads). */
export const LIFT_AT: readonly number[] = [0.1, 0.2, 0.3];

/** Cumulative gains: the share of all wins found in the top `fraction` of leads by score. */
export function gainsGeometry(gains: Curves['gains'], positiveRate: number, box: Box): GainsGeometry {
  const plot = linearPlot(box);
  const sorted = [...gains].sort((a, b) => a.fraction - b.fraction);
  const lifts = LIFT_AT.flatMap((f) => {
    const p = sorted.find((g) => Math.abs(g.fraction - f) < 1e-9);
    return p ? [{ fraction: f, lift: p.captured / f, x: plot.x(f), y: plot.y(p.captured) }] : [];
  });
  const knee = positiveRate > 0 ? Math.min(1, positiveRate) : 1;
  return {
    frame: plot.frame,
    curve: toPath(sorted.map((g) => [plot.x(g.fraction), plot.y(g.captured)])),
    random: segment(plot, [0, 0], [1, 1]),
    perfect: `${segment(plot, [0, 0], [knee, 1])}L${plot.x(1)},${plot.y(1)}`,
    lifts
  };
}

/** "2.4×": one decimal, the way a lift is said. */
export function formatLift(lift: number): string {
  return `${lift.toFixed(1)}×`;
}
