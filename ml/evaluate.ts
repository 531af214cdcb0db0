import type { ModelMetrics } from '../src/lib/contracts/model';

/**
 * Metrics of a lead score: `labels` are 0/1, `probs` calibrated P(won), same length. Pure
 * functions; a metric with no defined value (an AUC on one class) is NaN, and `evaluateScores`
 * refuses such a set instead of storing NaN.
 */
type Numbers = ArrayLike<number>;

const MAX_POINTS = 101;
const LOG_LOSS_EPS = 1e-15;

function positivesOf(labels: Numbers): number {
  let n = 0;
  for (let i = 0; i < labels.length; i++) n += (labels[i] as number) > 0.5 ? 1 : 0;
  return n;
}

/** Indices sorted by descending score; ties keep input order (stable sort). */
function byScoreDesc(probs: Numbers): number[] {
  return Array.from({ length: probs.length }, (_, i) => i).sort((a, b) => (probs[b] as number) - (probs[a] as number));
}

/**
 * Walks thresholds from the highest score down, one step per distinct score, so tied scores
 * move together (a tie is never split into an arbitrary order). Yields cumulative counts.
 */
function* thresholdSteps(labels: Numbers, probs: Numbers): Generator<{ threshold: number; tp: number; fp: number }> {
  const order = byScoreDesc(probs);
  let tp = 0;
  let fp = 0;
  for (let k = 0; k < order.length; k++) {
    const i = order[k] as number;
    if ((labels[i] as number) > 0.5) tp++;
    else fp++;
    const next = order[k + 1];
    if (next === undefined || probs[next] !== probs[i]) yield { threshold: probs[i] as number, tp, fp };
  }
}

/** ROC AUC as the Mann–Whitney statistic: P(score of a won > score of a lost), ties count ½. */
export function rocAuc(labels: Numbers, probs: Numbers): number {
  const pos = positivesOf(labels);
  const neg = labels.length - pos;
  if (pos === 0 || neg === 0) return NaN;
  let area = 0;
  let prevTp = 0;
  let prevFp = 0;
  for (const { tp, fp } of thresholdSteps(labels, probs)) {
    area += (fp - prevFp) * (tp + prevTp) / 2; // trapezoid: a block of ties is a diagonal
    prevTp = tp;
    prevFp = fp;
  }
  return area / (pos * neg);
}

/**
 * PR AUC as average precision, Σ (Rₙ − Rₙ₋₁) · Pₙ over distinct thresholds (scikit-learn's
 * `average_precision_score`, which the reference figures use); no interpolation, which would
 * flatter a score.
 */
export function averagePrecision(labels: Numbers, probs: Numbers): number {
  const pos = positivesOf(labels);
  if (pos === 0) return NaN;
  let ap = 0;
  let prevTp = 0;
  for (const { tp, fp } of thresholdSteps(labels, probs)) {
    ap += ((tp - prevTp) / pos) * (tp / (tp + fp));
    prevTp = tp;
  }
  return ap;
}

/** Mean negative log-likelihood, probabilities clipped to [1e-15, 1 − 1e-15] so a sure miss is finite. */
export function logLoss(labels: Numbers, probs: Numbers): number {
  let sum = 0;
  for (let i = 0; i < labels.length; i++) {
    const p = Math.min(1 - LOG_LOSS_EPS, Math.max(LOG_LOSS_EPS, probs[i] as number));
    sum -= (labels[i] as number) > 0.5 ? Math.log(p) : Math.log(1 - p);
  }
  return sum / labels.length;
}

export function brier(labels: Numbers, probs: Numbers): number {
  let sum = 0;
  for (let i = 0; i < labels.length; i++) sum += ((probs[i] as number) - (labels[i] as number)) ** 2;
  return sum / labels.length;
}

/** Ten equal-width bins [0, .1), …, [.9, 1]: count, mean predicted and observed win rate. */
export function calibrationBins(labels: Numbers, probs: Numbers, bins = 10): ModelMetrics['curves']['calibration'] {
  const count = new Array<number>(bins).fill(0);
  const sumP = new Array<number>(bins).fill(0);
  const sumY = new Array<number>(bins).fill(0);
  for (let i = 0; i < labels.length; i++) {
    const p = probs[i] as number;
    const b = Math.min(bins - 1, Math.max(0, Math.floor(p * bins)));
    count[b]!++;
    sumP[b]! += p;
    sumY[b]! += (labels[i] as number) > 0.5 ? 1 : 0;
  }
  return count.map((n, b) => ({
    lo: b / bins,
    hi: (b + 1) / bins,
    count: n,
    meanPredicted: n > 0 ? (sumP[b] as number) / n : 0,
    fractionPositive: n > 0 ? (sumY[b] as number) / n : 0
  }));
}

/** Expected calibration error: bin-size-weighted |mean predicted − observed rate| over the bins above. */
export function expectedCalibrationError(labels: Numbers, probs: Numbers): number {
  let ece = 0;
  for (const b of calibrationBins(labels, probs)) ece += (b.count / labels.length) * Math.abs(b.meanPredicted - b.fractionPositive);
  return ece;
}

export interface Confusion {
  tp: number;
  fp: number;
  tn: number;
  fn: number;
}

/** Predicted won when P ≥ threshold. Precision with nothing predicted won is 0 (scikit-learn's zero_division=0). */
export function atThreshold(labels: Numbers, probs: Numbers, threshold: number) {
  const confusion: Confusion = { tp: 0, fp: 0, tn: 0, fn: 0 };
  for (let i = 0; i < labels.length; i++) {
    const won = (labels[i] as number) > 0.5;
    const predicted = (probs[i] as number) >= threshold;
    if (predicted) confusion[won ? 'tp' : 'fp']++;
    else confusion[won ? 'fn' : 'tn']++;
  }
  const { tp, fp, tn, fn } = confusion;
  const precision = tp + fp > 0 ? tp / (tp + fp) : 0;
  const recall = tp + fn > 0 ? tp / (tp + fn) : 0;
  const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  return { confusion, accuracy: labels.length > 0 ? (tp + tn) / labels.length : NaN, precision, recall, f1 };
}

/**
 * Win rate among the top-scored 10 % (⌈n/10⌉ leads, ties broken by input order) over the overall
 * rate: how much better than random the first tenth of the call list is.
 */
export function liftTopDecile(labels: Numbers, probs: Numbers): number {
  const pos = positivesOf(labels);
  if (pos === 0) return NaN;
  const top = byScoreDesc(probs).slice(0, Math.ceil(labels.length / 10));
  const topPos = positivesOf(top.map((i) => labels[i] as number));
  return topPos / top.length / (pos / labels.length);
}

/** Evenly spaced points, always keeping the first and the last. */
export function thin<T>(points: T[], max = MAX_POINTS): T[] {
  if (points.length <= max) return points;
  return Array.from({ length: max }, (_, k) => points[Math.round((k * (points.length - 1)) / (max - 1))] as T);
}

export function rocCurve(labels: Numbers, probs: Numbers): { fpr: number; tpr: number }[] {
  const pos = positivesOf(labels);
  const neg = labels.length - pos;
  const points = [{ fpr: 0, tpr: 0 }];
  for (const { tp, fp } of thresholdSteps(labels, probs)) points.push({ fpr: neg ? fp / neg : 0, tpr: pos ? tp / pos : 0 });
  return thin(points);
}

export function prCurve(labels: Numbers, probs: Numbers): { recall: number; precision: number }[] {
  const pos = positivesOf(labels);
  const points: { recall: number; precision: number }[] = [];
  for (const { tp, fp } of thresholdSteps(labels, probs)) points.push({ recall: pos ? tp / pos : 0, precision: tp / (tp + fp) });
  return thin(points);
}

/** Share of all wins found in the top 0 %, 10 %, …, 100 % of leads by score (11 points). */
export function cumulativeGains(labels: Numbers, probs: Numbers): { fraction: number; captured: number }[] {
  const order = byScoreDesc(probs);
  const pos = positivesOf(labels);
  return Array.from({ length: 11 }, (_, d) => {
    const take = Math.round((d / 10) * labels.length);
    const found = positivesOf(order.slice(0, take).map((i) => labels[i] as number));
    return { fraction: d / 10, captured: pos ? found / pos : 0 };
  });
}

/**
 * The "worth a call" cut-off, picked on the validation split as the score that maximises F1.
 * No cost of a wasted call or value of a missed deal is known yet, and F1 weighs the two sides
 * of that trade (precision: calls that pay off; recall: wins not missed) without being swamped
 * by the many easy "not won" leads, as accuracy is at a 10 % win rate (where "call nobody" is
 * 90 % accurate). Chosen on validation, never the holdout, so the holdout figures stay honest.
 */
export function chooseThreshold(labels: Numbers, probs: Numbers): number {
  const pos = positivesOf(labels);
  let best = { f1: -1, threshold: 0.5 };
  for (const { threshold, tp, fp } of thresholdSteps(labels, probs)) {
    const f1 = pos > 0 ? (2 * tp) / (tp + fp + pos) : 0;
    if (f1 > best.f1) best = { f1, threshold };
  }
  return best.threshold;
}

/** Every metric and chart series for one model on one labelled set, at `threshold`. */
export function evaluateScores(labels: Numbers, probs: Numbers, threshold: number): ModelMetrics {
  if (labels.length !== probs.length) throw new Error(`${labels.length} labels but ${probs.length} scores`);
  const positives = positivesOf(labels);
  if (positives === 0 || positives === labels.length) {
    throw new Error(`cannot evaluate a lead score on ${labels.length} leads of which ${positives} won: both outcomes are needed`);
  }
  return {
    n: labels.length,
    positives,
    positiveRate: positives / labels.length,
    rocAuc: rocAuc(labels, probs),
    prAuc: averagePrecision(labels, probs),
    logLoss: logLoss(labels, probs),
    brier: brier(labels, probs),
    ece: expectedCalibrationError(labels, probs),
    liftTopDecile: liftTopDecile(labels, probs),
    threshold,
    ...atThreshold(labels, probs, threshold),
    curves: {
      roc: rocCurve(labels, probs),
      pr: prCurve(labels, probs),
      calibration: calibrationBins(labels, probs),
      gains: cumulativeGains(labels, probs)
    }
  };
}
