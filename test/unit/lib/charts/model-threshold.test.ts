import { describe, expect, it } from 'vitest';
import { confusionAt, confusionCells, sliderStart } from '../../../../src/lib/charts/model-threshold';
import { atThreshold } from '../../../../ml/evaluate';
import { buildHoldout, buildModelVersion } from '../../../fixtures/model';

describe('confusionAt', () => {
  const holdout: [0 | 1, number][] = [
    [1, 0.9],
    [1, 0.6],
    [1, 0.2],
    [0, 0.7],
    [0, 0.3],
    [0, 0.1]
  ];

  it('counts a score equal to the threshold as called', () => {
    expect(confusionAt(holdout, 0.6)).toEqual({
      threshold: 0.6,
      n: 6,
      tp: 2,
      fp: 1,
      tn: 2,
      fn: 1,
      flagged: 3,
      precision: 2 / 3,
      recall: 2 / 3,
      f1: 2 / 3,
      accuracy: 4 / 6
    });
  });

  it('has precision 0, not NaN, when nothing is called', () => {
    const f = confusionAt(holdout, 0.95);
    expect([f.tp, f.fp, f.precision, f.recall, f.f1]).toEqual([0, 0, 0, 0, 0]);
  });

  it('calls everyone at 0', () => {
    const f = confusionAt(holdout, 0);
    expect([f.flagged, f.recall, f.precision]).toEqual([6, 1, 0.5]);
  });

  it('has no accuracy for an empty sample', () => {
    expect(confusionAt([], 0.5)).toMatchObject({ n: 0, precision: 0, recall: 0, accuracy: NaN });
  });

  it('agrees with the training side (ml/evaluate) at every threshold', () => {
    const sample = buildHoldout({ n: 300, seed: 11 });
    const labels = sample.map(([l]) => l);
    const scores = sample.map(([, s]) => s);
    for (const t of [0, 0.05, 0.2, 0.35, 0.5, 0.8, 1]) {
      const ours = confusionAt(sample, t);
      const theirs = atThreshold(labels, scores, t);
      expect({ tp: ours.tp, fp: ours.fp, tn: ours.tn, fn: ours.fn, precision: ours.precision, recall: ours.recall, f1: ours.f1, accuracy: ours.accuracy }).toEqual({
        ...theirs.confusion,
        precision: theirs.precision,
        recall: theirs.recall,
        f1: theirs.f1,
        accuracy: theirs.accuracy
      });
    }
  });

  it("matches the stored figures at the version's own threshold when the sample is the whole holdout", () => {
    const v = buildModelVersion();
    expect(confusionAt(v.holdout, v.metrics.threshold)).toMatchObject({ ...v.metrics.confusion, f1: v.metrics.f1 });
  });
});

describe('confusionCells', () => {
  it('lays the cells out won-row first with their share of the sample', () => {
    const cells = confusionCells(confusionAt([[1, 0.9], [1, 0.1], [0, 0.8], [0, 0.2]], 0.5));
    expect(cells.map((c) => [c.key, c.actual, c.predicted, c.count, c.share])).toEqual([
      ['tp', 'won', 'won', 1, 0.25],
      ['fn', 'won', 'lost', 1, 0.25],
      ['fp', 'lost', 'won', 1, 0.25],
      ['tn', 'lost', 'lost', 1, 0.25]
    ]);
  });

  it('shades nothing for an empty sample', () => {
    expect(confusionCells(confusionAt([], 0.5)).map((c) => c.share)).toEqual([0, 0, 0, 0]);
  });
});

describe('sliderStart', () => {
  it('rounds the stored threshold to the slider grid, within 0..1', () => {
    expect([sliderStart(0.3371), sliderStart(0.2874), sliderStart(0.996), sliderStart(0)]).toEqual([0.34, 0.29, 1, 0]);
  });
});
