import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { modelMetricsSchema } from '../../../src/lib/contracts/model';
import {
  atThreshold,
  averagePrecision,
  brier,
  calibrationBins,
  chooseThreshold,
  cumulativeGains,
  evaluateScores,
  expectedCalibrationError,
  liftTopDecile,
  logLoss,
  prCurve,
  rocAuc,
  rocCurve,
  thin
} from '../../../ml/evaluate';

// Six leads scored in descending order: won, won, lost, won, lost, lost.
const labels = [1, 1, 0, 1, 0, 0];
const probs = [0.9, 0.8, 0.7, 0.6, 0.4, 0.1];

/** O(n²) definition: P(won scores above lost), ties ½. */
function pairwiseAuc(y: number[], p: number[]): number {
  let wins = 0;
  let pairs = 0;
  for (let i = 0; i < y.length; i++)
    for (let j = 0; j < y.length; j++)
      if (y[i] === 1 && y[j] === 0) {
        pairs++;
        wins += p[i]! > p[j]! ? 1 : p[i] === p[j] ? 0.5 : 0;
      }
  return wins / pairs;
}

describe('ranking metrics', () => {
  it('computes ROC AUC as the share of won–lost pairs ranked right', () => {
    expect(rocAuc(labels, probs)).toBeCloseTo(8 / 9, 12);
  });

  it('counts a tied won–lost pair as half right', () => {
    expect(rocAuc([1, 0, 1, 0], [0.5, 0.5, 0.8, 0.2])).toBeCloseTo(3.5 / 4, 12);
  });

  it('computes average precision over distinct thresholds, ties moving together', () => {
    expect(averagePrecision(labels, probs)).toBeCloseTo(1 / 3 + 1 / 3 + (1 / 3) * (3 / 4), 12);
    expect(averagePrecision([1, 0, 1, 0], [0.5, 0.5, 0.8, 0.2])).toBeCloseTo(0.5 + 0.5 * (2 / 3), 12);
  });

  it('is undefined (NaN) on one class', () => {
    expect(rocAuc([1, 1], [0.2, 0.3])).toBeNaN();
    expect(averagePrecision([0, 0], [0.2, 0.3])).toBeNaN();
  });

  it('agrees with the pairwise definition on any scores, ties included', () => {
    const arb = fc.array(fc.tuple(fc.constantFrom(0, 1), fc.integer({ min: 0, max: 20 })), { minLength: 2, maxLength: 60 })
      .filter((xs) => xs.some(([y]) => y === 1) && xs.some(([y]) => y === 0));
    fc.assert(
      fc.property(arb, (xs) => {
        const y = xs.map(([l]) => l);
        const p = xs.map(([, s]) => s / 20);
        expect(rocAuc(y, p)).toBeCloseTo(pairwiseAuc(y, p), 10);
      })
    );
  });

  it('keeps ROC AUC and average precision under any strictly increasing transform, and flips AUC when scores are reversed', () => {
    // Scores on a 1/1000 grid: a transform of two doubles a hair apart can round them equal,
    // which is floating point, not the metric.
    const arb = fc.array(fc.tuple(fc.constantFrom(0, 1), fc.integer({ min: 0, max: 1000 })), { minLength: 2, maxLength: 60 })
      .filter((xs) => xs.some(([y]) => y === 1) && xs.some(([y]) => y === 0));
    fc.assert(
      fc.property(arb, (xs) => {
        const y = xs.map(([l]) => l);
        const p = xs.map(([, s]) => s / 1000);
        const squashed = p.map((s) => 1 / (1 + Math.exp(-10 * (s - 0.3))) ** 0.5);
        expect(rocAuc(y, squashed)).toBeCloseTo(rocAuc(y, p), 10);
        expect(averagePrecision(y, p.map((s) => s ** 3))).toBeCloseTo(averagePrecision(y, p), 10);
        expect(rocAuc(y, p.map((s) => -s))).toBeCloseTo(1 - rocAuc(y, p), 10);
      })
    );
  });
});

describe('probability metrics', () => {
  it('computes log loss and clips a certain miss to a finite value', () => {
    expect(logLoss([1, 0], [0.8, 0.4])).toBeCloseTo(-(Math.log(0.8) + Math.log(0.6)) / 2, 12);
    expect(logLoss([1], [0])).toBeCloseTo(-Math.log(1e-15), 6);
  });

  it('computes the Brier score', () => {
    expect(brier([1, 0], [0.8, 0.4])).toBeCloseTo(0.1, 12);
  });

  it('bins probabilities into ten equal-width bins with 1.0 in the last', () => {
    const bins = calibrationBins([0, 0, 1, 1, 1], [0.05, 0.15, 0.15, 0.95, 1]);
    expect(bins).toHaveLength(10);
    expect(bins[0]).toEqual({ lo: 0, hi: 0.1, count: 1, meanPredicted: 0.05, fractionPositive: 0 });
    expect(bins[1]).toMatchObject({ count: 2, fractionPositive: 0.5 });
    expect(bins[1]!.meanPredicted).toBeCloseTo(0.15, 12);
    expect(bins[9]).toMatchObject({ count: 2, fractionPositive: 1 });
    expect(bins.slice(2, 9).every((b) => b.count === 0)).toBe(true);
  });

  it('computes ECE as the bin-weighted calibration gap', () => {
    expect(expectedCalibrationError([0, 0, 1, 1], [0.05, 0.15, 0.15, 0.95])).toBeCloseTo(0.25 * 0.05 + 0.5 * 0.35 + 0.25 * 0.05, 12);
  });
});

describe('threshold metrics', () => {
  it('counts predicted won at P ≥ threshold', () => {
    expect(atThreshold(labels, probs, 0.7)).toEqual({
      confusion: { tp: 2, fp: 1, tn: 2, fn: 1 },
      accuracy: 4 / 6,
      precision: 2 / 3,
      recall: 2 / 3,
      f1: 2 / 3
    });
  });

  it('gives precision 0, not NaN, when nothing is predicted won', () => {
    expect(atThreshold([1, 0], [0.2, 0.1], 0.5)).toMatchObject({ precision: 0, recall: 0, f1: 0, accuracy: 0.5 });
  });

  it('chooses the threshold with the highest F1', () => {
    // F1 by threshold: .9 → .5, .8 → .8, .7 → .67, .6 → .857, .4 → .75, .1 → .67
    expect(chooseThreshold(labels, probs)).toBe(0.6);
  });

  it('computes the lift of the top decile', () => {
    // 20 leads, 4 won (20 %); the top 2 by score are both won (100 %).
    const y = [1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    const p = y.map((_, i) => 1 - i / 20);
    expect(liftTopDecile(y, p)).toBeCloseTo(5, 12);
  });
});

describe('curves', () => {
  it('lists ROC points from (0, 0) to (1, 1) at each distinct score', () => {
    expect(rocCurve(labels, probs)).toEqual([
      { fpr: 0, tpr: 0 },
      { fpr: 0, tpr: 1 / 3 },
      { fpr: 0, tpr: 2 / 3 },
      { fpr: 1 / 3, tpr: 2 / 3 },
      { fpr: 1 / 3, tpr: 1 },
      { fpr: 2 / 3, tpr: 1 },
      { fpr: 1, tpr: 1 }
    ]);
  });

  it('lists PR points and cumulative gains by decile', () => {
    expect(prCurve([1, 0, 1, 0], [0.5, 0.5, 0.8, 0.2])).toEqual([
      { recall: 0.5, precision: 1 },
      { recall: 1, precision: 2 / 3 },
      { recall: 1, precision: 0.5 }
    ]);
    const gains = cumulativeGains(labels, probs);
    expect(gains).toHaveLength(11);
    expect(gains[0]).toEqual({ fraction: 0, captured: 0 });
    expect(gains[5]).toEqual({ fraction: 0.5, captured: 2 / 3 });
    expect(gains[10]).toEqual({ fraction: 1, captured: 1 });
  });

  it('thins a long curve to 101 points, keeping both ends', () => {
    const points = Array.from({ length: 1000 }, (_, i) => i);
    const thinned = thin(points);
    expect(thinned).toHaveLength(101);
    expect(thinned[0]).toBe(0);
    expect(thinned[100]).toBe(999);
    expect(thin([1, 2, 3])).toEqual([1, 2, 3]);
  });
});

describe('evaluateScores', () => {
  it('returns every metric in the contract shape', () => {
    const m = evaluateScores(labels, probs, 0.6);
    expect(modelMetricsSchema.parse(m)).toEqual(m);
    expect(m).toMatchObject({ n: 6, positives: 3, positiveRate: 0.5, threshold: 0.6, confusion: { tp: 3, fp: 1, tn: 2, fn: 0 } });
    expect(m.rocAuc).toBeCloseTo(8 / 9, 12);
  });

  it('refuses a set with only one outcome', () => {
    expect(() => evaluateScores([0, 0], [0.1, 0.2], 0.5)).toThrow('both outcomes are needed');
  });
});
