import { scaleBand, scaleLinear } from 'd3';
import { stages, type Stage } from '$lib/contracts/events';
import type { StageCounts } from '$lib/contracts/wall';

export const stageLabels: Readonly<Record<Stage, string>> = {
  enquired: 'Enquired',
  qualified: 'Qualified',
  booked: 'Booked',
  attended: 'Attended',
  won: 'Won',
  lost: 'Lost'
};

export interface StageBar {
  stage: Stage;
  count: number;
  /** Left edge, px from the chart's left. */
  x: number;
  /** Top edge, px from the chart's top; bars stand on the bottom edge. */
  y: number;
  width: number;
  height: number;
  /** Stage name for display. */
  label: string;
}

export interface StageBarsBox {
  width: number;
  height: number;
  /** Space kept above the tallest bar for the number drawn on it, px. */
  headroom?: number;
}

/** Space between `won` and `lost`, in band steps, so lost reads as apart from the funnel. */
const LOST_GAP_STEPS = 0.5;
/** Gap between bars as a share of a step; the outer padding is half of it (see layoutStageBars). */
const PADDING_INNER = 0.2;

/**
 * Bar geometry for every stage in funnel order with `lost` last, in whole pixels. All bars
 * share one linear scale from zero, so `lost` compares honestly with the funnel. Negative
 * counts draw as zero; all-zero counts give zero-height bars on the baseline.
 */
export function layoutStageBars(counts: StageCounts, box: StageBarsBox): StageBar[] {
  const width = Math.max(0, box.width);
  const height = Math.max(0, Math.round(box.height));
  const top = Math.min(Math.max(0, Math.round(box.headroom ?? 0)), height);

  // With outer padding at half the inner padding, a band scale's step is exactly
  // range / domain size, so the step (and the lost gap measured in steps) is known up front.
  const step = width / (stages.length + LOST_GAP_STEPS);
  const x = scaleBand<Stage>()
    .domain(stages)
    .range([0, step * stages.length])
    .paddingInner(PADDING_INNER)
    .paddingOuter(PADDING_INNER / 2);

  const largest = Math.max(1, ...stages.map((stage) => counts[stage]));
  const y = scaleLinear().domain([0, largest]).range([height, top]);

  return stages.map((stage) => {
    const count = counts[stage];
    const barTop = Math.round(y(Math.max(0, count)));
    const left = (x(stage) ?? 0) + (stage === 'lost' ? step * LOST_GAP_STEPS : 0);
    return {
      stage,
      count,
      x: Math.round(left),
      y: barTop,
      width: Math.round(x.bandwidth()),
      height: height - barTop,
      label: stageLabels[stage]
    };
  });
}

export interface FontFit {
  min: number;
  max: number;
  /** Average glyph width as a share of the font size; 0.6 suits bold tabular digits. */
  em?: number;
}

/** The largest whole font size (px) at which `text` fits `boxWidth`, clamped to [min, max]. */
export function fitFontSize(text: string, boxWidth: number, { min, max, em = 0.6 }: FontFit): number {
  const fit = Math.max(0, boxWidth) / (Math.max(1, text.length) * em);
  return Math.floor(Math.min(max, Math.max(min, fit)));
}

// A fixed locale: the server renders the first paint, so both sides must format alike.
const countFormat = new Intl.NumberFormat('en');

/** "1,234": grouped so big numbers read at a distance. */
export function formatCount(count: number): string {
  return countFormat.format(count);
}
