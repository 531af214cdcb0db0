import { line, scaleLinear, scaleUtc, utcFormat } from 'd3';
import type { Drift, FeatureImportance, LiveAccuracy, ModelVersion } from '$lib/contracts/model-registry';
import { decimalTick, linearPlot, PLOT_MARGIN, type Box, type Frame } from './model-plot';

/**
 * Geometry of the charts across versions (AUC over time, live against training accuracy) and of
 * the bar charts of one version (feature importance) and of today (drift).
 */

const DAY_MS = 86_400_000;
/** Pixels between the frame and the first and last dot, room for a dot's label. */
const DOT_INSET = 30;

/** AUC axes start no higher than this: 0.5 is chance, so a chart starting at 0.8 would flatter. */
const AUC_FLOOR = 0.5;

export interface AucDot {
  versionId: string;
  cx: number;
  cy: number;
  auc: number;
  status: ModelVersion['status'];
  scope: ModelVersion['scope'];
  isActive: boolean;
}

export interface AucHistoryGeometry {
  frame: Frame;
  line: string;
  dots: AucDot[];
}

/** Room for a "Wed 12:00" label at the chart's font size, in viewBox units. */
const MIN_TICK_GAP = 140;

/** Holdout AUC of every version by creation time, oldest first; the active one is marked. */
export function aucHistoryGeometry(versions: readonly ModelVersion[], activeVersionId: string | null, box: Box): AucHistoryGeometry {
  const sorted = [...versions].sort((a, b) => a.createdAt - b.createdAt);
  const aucs = sorted.map((v) => v.metrics.rocAuc);
  const yMin = Math.min(AUC_FLOOR, ...aucs);
  const first = sorted[0]?.createdAt ?? 0;
  const last = sorted.at(-1)?.createdAt ?? 0;
  // One version (or several at one instant) has no time span: widen to a day so it sits mid-axis.
  const span = last > first ? [first, last] : [first - 43_200_000, first + 43_200_000];
  const plot = linearPlot(box, { yDomain: [yMin, 1], yLabel: decimalTick });
  // Inset so the end dots and their labels stay inside the frame.
  const x = scaleUtc()
    .domain(span.map((t) => new Date(t)))
    .range([plot.frame.left + DOT_INSET, plot.frame.right - DOT_INSET]);
  const dots = sorted.map((v) => ({
    versionId: v.versionId,
    cx: x(new Date(v.createdAt)),
    cy: plot.y(v.metrics.rocAuc),
    auc: v.metrics.rocAuc,
    status: v.status,
    scope: v.scope,
    isActive: v.versionId === activeVersionId
  }));
  // Dates for spans of days, weekday and time for shorter ones; in UTC so the server's first
  // render and the browser agree.
  const format = utcFormat(span[1]! - span[0]! >= 2 * DAY_MS ? '%d %b' : '%a %H:%M');
  // d3 treats the count as a hint and may return ticks closer than that: drop any that would
  // sit nearer than MIN_TICK_GAP to the one kept before it.
  const xTicks: { at: number; label: string }[] = [];
  for (const d of x.ticks(Math.max(1, Math.floor((plot.frame.right - plot.frame.left) / MIN_TICK_GAP)))) {
    const at = x(d);
    if (xTicks.length === 0 || at - xTicks[xTicks.length - 1]!.at >= MIN_TICK_GAP) xTicks.push({ at, label: format(d) });
  }
  return {
    frame: { ...plot.frame, xTicks },
    line: dots.length > 1 ? (line()(dots.map((d) => [d.cx, d.cy])) ?? '') : '',
    dots
  };
}

export interface LiveRow {
  versionId: string;
  isActive: boolean;
  /** Holdout AUC when the version was trained. */
  trainingAuc: number;
  /** AUC on outcomes that arrived after it scored; null until both outcomes are present. */
  liveAuc: number | null;
  outcomes: number;
  trainingX: number;
  liveX: number | null;
}

export interface LiveGeometry {
  /** Only the x axis is used; rows are laid out by the component, their texts right of `right`. */
  frame: Frame;
  rows: LiveRow[];
}

/**
 * Training against live AUC per version that has scored leads with known outcomes, newest first:
 * a dumbbell per row, so a model that was better on paper than in the field stands out.
 * Versions with no live outcomes are left out (they have nothing to compare).
 */
export function liveGeometry(
  versions: readonly ModelVersion[],
  live: readonly LiveAccuracy[],
  activeVersionId: string | null,
  width: number,
  margin: { left: number; right: number } = PLOT_MARGIN
): LiveGeometry {
  const byId = new Map(versions.map((v) => [v.versionId, v]));
  const joined = live
    .flatMap((l) => {
      const v = byId.get(l.versionId);
      return v && l.outcomes > 0 ? [{ l, v }] : [];
    })
    .sort((a, b) => b.v.createdAt - a.v.createdAt);
  const values = joined.flatMap(({ l, v }) => [v.metrics.rocAuc, ...(l.rocAuc === null ? [] : [l.rocAuc])]);
  const x = scaleLinear()
    .domain([Math.min(AUC_FLOOR, ...values), 1])
    .range([margin.left, Math.max(margin.left + 10, width - margin.right)]);
  return {
    frame: {
      width,
      height: 0,
      left: margin.left,
      right: x.range()[1]!,
      top: 0,
      bottom: 0,
      xTicks: x.ticks(5).map((v) => ({ at: x(v), label: decimalTick(v) })),
      yTicks: []
    },
    rows: joined.map(({ l, v }) => ({
      versionId: v.versionId,
      isActive: v.versionId === activeVersionId,
      trainingAuc: v.metrics.rocAuc,
      liveAuc: l.rocAuc,
      outcomes: l.outcomes,
      trainingX: x(v.metrics.rocAuc),
      liveX: l.rocAuc === null ? null : x(l.rocAuc)
    }))
  };
}

export interface FeatureBar {
  feature: string;
  label: string;
  weight: number;
  /** Bar length as a share of the strongest feature, 0..1. */
  share: number;
}

/** Features strongest first, at most `limit` (what fits a panel), lengths relative to the strongest. */
export function featureBars(features: readonly FeatureImportance[], limit = 10): FeatureBar[] {
  const sorted = [...features].sort((a, b) => Math.abs(b.weight) - Math.abs(a.weight)).slice(0, limit);
  const strongest = Math.max(0, ...sorted.map((f) => Math.abs(f.weight)));
  return sorted.map((f) => ({
    feature: f.feature,
    label: f.label,
    weight: f.weight,
    share: strongest > 0 ? Math.abs(f.weight) / strongest : 0
  }));
}

/** PSI above this is a shift worth retraining for (the usual rule of thumb; the server flags the same). */
export const PSI_FLAG = 0.2;

export interface DriftBar extends Drift {
  /** Bar length, 0..1 of the axis. */
  share: number;
}

export interface DriftBars {
  bars: DriftBar[];
  /** Where the 0.2 flag line sits, 0..1 of the axis. */
  flagAt: number;
  /** The axis end: at least 0.3 so the flag line never sits at the edge. */
  max: number;
}

/** PSI per channel, most shifted first, on one axis from zero with the flag line marked. */
export function driftBars(drift: readonly Drift[]): DriftBars {
  const max = Math.max(PSI_FLAG * 1.5, ...drift.map((d) => d.psi));
  const share = scaleLinear().domain([0, max]).range([0, 1]).clamp(true);
  return {
    bars: [...drift].sort((a, b) => b.psi - a.psi || a.channel.localeCompare(b.channel)).map((d) => ({ ...d, share: share(d.psi) })),
    flagAt: share(PSI_FLAG),
    max
  };
}
