import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelMetricsSchema, trainingProgressSchema, type LabelledExample, type TrainingProgress } from '../../../src/lib/contracts/model';
import { syntheticLeads } from '../../../ml/datasets/synthetic';
import { seededRandom } from '../../../ml/random';
import { encode } from '../../../ml/normalize';
import { pickBest, scoreRaw, splitExamples, trainAndEvaluate, type TrainingResult } from '../../../ml/train';

/** The leads in a seeded random order: the split must come from `at`, not the array order. */
function shuffled<T>(xs: T[], seed: number): T[] {
  const random = seededRandom(seed);
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const leads = syntheticLeads(1_200, 21);
// A source that appears only among the newest leads: the encoding must not know it.
const lateSource = leads.map((e, i): LabelledExample => (i >= 1_100 ? { ...e, features: { ...e.features, categorical: { ...e.features.categorical, source: 'late_partner' } } } : e));
const progress: TrainingProgress[] = [];
let result: TrainingResult;

beforeAll(async () => {
  result = await trainAndEvaluate(shuffled(lateSource, 4), { seed: 9, maxEpochs: 5, onProgress: (p) => progress.push(p) });
}, 60_000);

afterAll(() => {
  for (const c of result.candidates) c.model.dispose();
});

describe('trainAndEvaluate', () => {
  it('holds out the newest 20 % by time and validates on the newest 20 % of the rest', () => {
    expect(result.counts).toMatchObject({ train: 768, validation: 192, holdout: 240 });
    expect(new Set(result.holdoutIds)).toEqual(new Set(leads.slice(960).map((e) => e.id)));
    expect(result.trainWindow).toEqual({ from: leads[0]!.at, to: leads[959]!.at });
    const positives = (from: number, to: number) => leads.slice(from, to).reduce((n, e) => n + e.label, 0);
    expect(result.counts).toMatchObject({ trainPositives: positives(0, 768), validationPositives: positives(768, 960), holdoutPositives: positives(960, 1_200) });
  });

  it('fits the encoding on the training split only', () => {
    expect(result.spec.columns.some((c) => c.includes('late_partner'))).toBe(false);
    const visits = leads.slice(0, 960).map((e) => e.features.numeric.visits!);
    expect(result.spec.numeric.find((f) => f.name === 'visits')?.mean).toBeCloseTo(visits.reduce((a, b) => a + b, 0) / visits.length, 9);
  });

  it('trains and evaluates every kind, metrics in the contract shape, and finds the signal', () => {
    expect(result.candidates.map((c) => c.kind)).toEqual(['logreg', 'mlp']);
    for (const c of result.candidates) {
      expect(modelMetricsSchema.parse(c.metrics)).toEqual(c.metrics);
      expect(c.metrics.n).toBe(240);
      expect(c.metrics.rocAuc).toBeGreaterThan(0.75);
      expect(c.epochs).toBeGreaterThan(0);
      expect(c.epochs).toBeLessThanOrEqual(5);
    }
    expect(result.candidates).toContain(result.best);
  });

  it('reports progress in order: prepare, each kind training then evaluated, done', () => {
    for (const p of progress) trainingProgressSchema.parse(p);
    const phases = progress.map((p) => `${p.phase}${p.kind ? `:${p.kind}` : ''}`).filter((s, i, all) => s !== all[i - 1]);
    expect(phases).toEqual(['prepare', 'train:logreg', 'evaluate:logreg', 'train:mlp', 'evaluate:mlp', 'done']);
    const epochs = progress.filter((p) => p.kind === 'logreg' && p.phase === 'train').map((p) => p.epoch);
    expect(epochs[0]).toBe(0);
    expect(epochs.slice(1)).toEqual(epochs.slice(1).map((_, i) => i + 1));
  });

  it('scores raw features as the model does encoded ones', () => {
    const rows = leads.slice(0, 5).map((e) => e.features);
    const model = result.best.model;
    expect(scoreRaw(result.spec, model, rows)).toEqual(model.predict(encode(result.spec, rows), 5));
    expect(() => scoreRaw({ ...result.spec, width: result.spec.width + 1 }, model, rows)).toThrow('columns but the model expects');
  });

  it('uses an explicit split when given one', async () => {
    const small = leads.slice(0, 400);
    const test = new Set(small.filter((_, i) => i % 4 === 0).map((e) => e.id));
    const train = new Set(small.filter((e) => !test.has(e.id)).map((e) => e.id));
    const r = await trainAndEvaluate(small, { seed: 1, kinds: ['logreg'], maxEpochs: 2, split: { train, test } });
    r.best.model.dispose();
    expect(new Set(r.holdoutIds)).toEqual(test);
    expect(r.counts).toMatchObject({ train: 240, validation: 60, holdout: 100 });
  });

  it('refuses a set too small to split', async () => {
    await expect(trainAndEvaluate(leads.slice(0, 2), { seed: 1 })).rejects.toThrow('not enough examples to train');
  });
});

describe('pickBest', () => {
  const c = (name: string, rocAuc: number, logLoss: number) => ({ name, metrics: { rocAuc, logLoss } });

  it('prefers the higher ROC AUC', () => {
    expect(pickBest([c('a', 0.7, 0.3), c('b', 0.72, 0.4)]).name).toBe('b');
  });

  it('breaks an AUC tie at three decimals by the lower log loss, and a full tie by order', () => {
    expect(pickBest([c('a', 0.7001, 0.31), c('b', 0.7004, 0.3)]).name).toBe('b');
    expect(pickBest([c('a', 0.7004, 0.3), c('b', 0.7001, 0.3)]).name).toBe('a');
  });
});

describe('splitExamples', () => {
  it('keeps every id (a ledger lead, with several moments) wholly in fit or in validation, the newest ids validating', () => {
    // 100 leads with 3 moments each, lead i's moments at i, i + 0.3, i + 0.6 (interleaving with neighbours is fine).
    const examples = Array.from({ length: 100 }, (_, i) =>
      [0, 0.3, 0.6].map((d): LabelledExample => ({ id: `lead-${i}`, at: i + d, label: (i % 2) as 0 | 1, features: { numeric: {}, categorical: {} } }))
    ).flat();
    const { fit, valid } = splitExamples(shuffled(examples, 3), { seed: 1, split: { train: new Set(examples.map((e) => e.id)), test: new Set() } });
    const fitIds = new Set(fit.map((e) => e.id));
    expect(valid.filter((e) => fitIds.has(e.id))).toEqual([]);
    expect(valid.length).toBe(60); // 20 % of 300 examples: the newest 20 leads
    expect(new Set(valid.map((e) => e.id))).toEqual(new Set(Array.from({ length: 20 }, (_, k) => `lead-${80 + k}`)));
  });
});
