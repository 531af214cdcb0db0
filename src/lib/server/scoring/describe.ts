import type { LabelledExample, ModelMetrics } from '../../contracts/model';
import type { FeatureImportance } from '../../contracts/model-registry';
import { evaluateScores } from '../../../../ml/evaluate';
import { rawFeatureOf } from '../../../../ml/explain';
import { featureLabels } from '../../../../ml/features';
import { encode } from '../../../../ml/normalize';
import type { ScoreReference } from '../db/queries/models';
import type { LoadedModel } from './scorer';

/**
 * What the registry keeps about a model beyond its artifacts, computed on a holdout: the scores
 * for the threshold slider, feature importance, and the score distribution drift is measured
 * against. Pure apart from the model's forward pass.
 */

const HOLDOUT_SAMPLE = 2_000;
const TOP_FEATURES = 15;
export const SCORE_BINS = 10;

export interface HoldoutView {
  metrics: ModelMetrics;
  holdout: [0 | 1, number][];
  features: FeatureImportance[];
  reference: ScoreReference;
}

/** Every k-th pair so the sample spans the whole holdout (it is ordered by time). */
function sample<T>(items: T[], max: number): T[] {
  if (items.length <= max) return items;
  const step = items.length / max;
  return Array.from({ length: max }, (_, i) => items[Math.floor(i * step)]!);
}

/** Shares of scores in ten equal-width bins. */
export function scoreBins(scores: readonly number[]): number[] {
  const counts = new Array<number>(SCORE_BINS).fill(0);
  for (const s of scores) counts[Math.min(SCORE_BINS - 1, Math.max(0, Math.floor(s * SCORE_BINS)))]!++;
  return counts.map((c) => (scores.length ? c / scores.length : 0));
}

/**
 * Population stability index of `actual` against `expected` bin shares. Empty bins get a small
 * floor (1e-4) so a bin that appears or vanishes counts heavily instead of dividing by zero.
 * The usual reading: < 0.1 stable, 0.1–0.2 moderate, > 0.2 a shift worth a look.
 */
export function psi(expected: readonly number[], actual: readonly number[]): number {
  let sum = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = Math.max(expected[i] ?? 0, 1e-4);
    const a = Math.max(actual[i] ?? 0, 1e-4);
    sum += (a - e) * Math.log(a / e);
  }
  return sum;
}

const labelOf = (feature: string): string => (featureLabels as Record<string, string>)[feature] ?? feature;

/** Scores `holdout` with `m` and describes the model on it; `threshold` from its validation split. */
export function describeOnHoldout(m: LoadedModel, holdout: readonly LabelledExample[], threshold: number): HoldoutView {
  const x = encode(m.spec, holdout.map((e) => e.features));
  const p = m.model.predict(x, holdout.length);
  const c = m.model.contributions(x, holdout.length);
  const labels = holdout.map((e) => e.label);
  const metrics = evaluateScores(labels, p, threshold);

  const weight = new Map<string, number>();
  const width = m.spec.width;
  for (let row = 0; row < holdout.length; row++) {
    const sums = new Map<string, number>();
    for (let col = 0; col < width; col++) {
      const f = rawFeatureOf(m.spec.columns[col]!);
      sums.set(f, (sums.get(f) ?? 0) + c[row * width + col]!);
    }
    for (const [f, v] of sums) weight.set(f, (weight.get(f) ?? 0) + Math.abs(v));
  }
  const features = [...weight]
    .map(([feature, total]) => ({ feature, label: labelOf(feature), weight: holdout.length ? total / holdout.length : 0 }))
    .sort((a, b) => b.weight - a.weight)
    .slice(0, TOP_FEATURES);

  const byChannel = new Map<string, number[]>();
  holdout.forEach((e, i) => {
    const channel = e.features.categorical.channel ?? '';
    const scores = byChannel.get(channel) ?? [];
    scores.push(p[i]!);
    byChannel.set(channel, scores);
  });
  return {
    metrics,
    holdout: sample(holdout.map((e, i): [0 | 1, number] => [e.label, Math.min(1, Math.max(0, p[i]!))]), HOLDOUT_SAMPLE),
    features,
    reference: {
      overall: scoreBins([...p]),
      byChannel: Object.fromEntries([...byChannel].map(([ch, scores]) => [ch, scoreBins(scores)]))
    }
  };
}
