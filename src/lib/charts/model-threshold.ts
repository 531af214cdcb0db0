import type { ModelVersion } from '$lib/contracts/model-registry';

/**
 * The confusion matrix at a threshold the viewer picks, recomputed in the browser from the
 * holdout's [label, score] sample. The rules match ml/evaluate.ts `atThreshold` (predicted won
 * when score ≥ threshold; precision 0 when nothing is predicted won), so at the version's own
 * threshold the page agrees with the stored figures whenever the sample is the whole holdout.
 */

export type HoldoutPair = ModelVersion['holdout'][number];

export interface ThresholdFigures {
  threshold: number;
  n: number;
  tp: number;
  fp: number;
  tn: number;
  fn: number;
  /** Leads the score says to call: tp + fp. */
  flagged: number;
  precision: number;
  recall: number;
  f1: number;
  /** NaN for an empty sample: there is no accuracy of nothing. */
  accuracy: number;
}

export function confusionAt(holdout: readonly HoldoutPair[], threshold: number): ThresholdFigures {
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  for (const [label, score] of holdout) {
    const predicted = score >= threshold;
    if (label === 1) {
      if (predicted) tp++;
      else fn++;
    } else if (predicted) fp++;
    else tn++;
  }
  const precision = tp + fp > 0 ? tp / (tp + fp) : 0;
  const recall = tp + fn > 0 ? tp / (tp + fn) : 0;
  const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  const n = holdout.length;
  return { threshold, n, tp, fp, tn, fn, flagged: tp + fp, precision, recall, f1, accuracy: n > 0 ? (tp + tn) / n : NaN };
}

/** The slider moves in whole percent: finer steps change nothing a person can act on. */
export const THRESHOLD_STEP = 0.01;
const STEPS_PER_UNIT = 100;

/** The version's own threshold on the slider's grid, so the first view matches the stored figures' cut-off. */
export function sliderStart(threshold: number): number {
  return Math.min(1, Math.max(0, Math.round(threshold * STEPS_PER_UNIT) / STEPS_PER_UNIT));
}

export interface ConfusionCell {
  key: 'tp' | 'fp' | 'fn' | 'tn';
  /** Row: what happened; column: what the score said. */
  actual: 'won' | 'lost';
  predicted: 'won' | 'lost';
  count: number;
  /** Share of the sample, 0..1 (0 for an empty sample), for the cell's shading. */
  share: number;
  label: string;
}

/** The four cells, row by row (won, then lost), as the matrix shows them. */
export function confusionCells(f: ThresholdFigures): ConfusionCell[] {
  const share = (c: number) => (f.n > 0 ? c / f.n : 0);
  return [
    { key: 'tp', actual: 'won', predicted: 'won', count: f.tp, share: share(f.tp), label: 'Called, won' },
    { key: 'fn', actual: 'won', predicted: 'lost', count: f.fn, share: share(f.fn), label: 'Missed win' },
    { key: 'fp', actual: 'lost', predicted: 'won', count: f.fp, share: share(f.fp), label: 'Called, lost' },
    { key: 'tn', actual: 'lost', predicted: 'lost', count: f.tn, share: share(f.tn), label: 'Skipped, lost' }
  ];
}
