import { scaleLinear, scaleLog } from 'd3';
import type { FunnelStep, FunnelStepFigure } from '$lib/contracts/funnel';
import { formatDuration, formatPercent, stageLabels } from './format';

export interface FunnelRow {
  step: FunnelStep;
  label: string;
  count: number;
  /** Bar length as a share of the widest (the first step), 0..1. */
  share: number;
  /** "52%" of the previous step; '' for the first. */
  conversion: string;
  /** "48%" who stopped here; '' for won or an empty step. */
  dropOff: string;
  dropped: number;
  /** Of those, leads whose window is still open: they may yet move on. */
  stillOpen: number;
  /** "3.2 h" median from the previous step; '' when unknown. */
  median: string;
  /** Time-from-previous quantiles as positions 0..1 on SPREAD_DOMAIN_MS (log), for a box plot. */
  spread: { p10: number; p25: number; p50: number; p75: number; p90: number } | null;
}

/** Times between steps run from seconds (an agent answering) to weeks (a booking): a log axis. */
export const SPREAD_DOMAIN_MS: readonly [number, number] = [1_000, 30 * 86_400_000];
const spreadAxis = scaleLog().domain(SPREAD_DOMAIN_MS).range([0, 1]).clamp(true);

/** The funnel as rows for the wall: lengths on one linear scale from zero, texts ready to show. */
export function funnelRows(steps: readonly FunnelStepFigure[]): FunnelRow[] {
  const largest = Math.max(1, ...steps.map((s) => s.count));
  const x = scaleLinear().domain([0, largest]).range([0, 1]).clamp(true);
  return steps.map((s) => ({
    step: s.step,
    label: stageLabels[s.step],
    count: s.count,
    share: x(s.count),
    conversion: s.conversionPct === null ? '' : formatPercent(s.conversionPct),
    dropOff: s.dropOffPct === null || s.dropped === 0 ? '' : formatPercent(s.dropOffPct),
    dropped: s.dropped,
    stillOpen: s.stillOpen,
    median: s.medianMsFromPrevious === null ? '' : formatDuration(s.medianMsFromPrevious),
    spread: s.spreadMsFromPrevious
      ? {
          p10: spreadAxis(Math.max(1, s.spreadMsFromPrevious.p10)),
          p25: spreadAxis(Math.max(1, s.spreadMsFromPrevious.p25)),
          p50: spreadAxis(Math.max(1, s.spreadMsFromPrevious.p50)),
          p75: spreadAxis(Math.max(1, s.spreadMsFromPrevious.p75)),
          p90: spreadAxis(Math.max(1, s.spreadMsFromPrevious.p90))
        }
      : null
  }));
}
