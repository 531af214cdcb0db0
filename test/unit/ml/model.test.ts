import * as tf from '@tensorflow/tfjs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tfReady } from '../../../ml/backend';
import { syntheticLeads } from '../../../ml/datasets/synthetic';
import { rocAuc } from '../../../ml/evaluate';
import { fitPlatt, loadModel, trainModel, type LeadModel, type TrainData } from '../../../ml/model';
import { seededRandom } from '../../../ml/random';
import { encode, fitFeatureSpec } from '../../../ml/normalize';

const leads = syntheticLeads(1_500, 11);
const spec = fitFeatureSpec(leads.slice(0, 1_000).map((e) => e.features));
const data = (from: number, to: number): TrainData => {
  const rows = leads.slice(from, to);
  return { x: encode(spec, rows.map((e) => e.features)), y: Float32Array.from(rows, (e) => e.label), rows: rows.length };
};
const train = data(0, 1_000);
const valid = data(1_000, 1_250);
const test = data(1_250, 1_500);
const width = spec.width;
const logit = (p: number) => Math.log(p / (1 - p));

let logreg: LeadModel;
let mlp: LeadModel;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pipewall-model-test-'));
  logreg = await trainModel(train, valid, { kind: 'logreg', width, seed: 1, maxEpochs: 10 });
  mlp = await trainModel(train, valid, { kind: 'mlp', width, seed: 1, maxEpochs: 10 });
}, 60_000);

afterAll(async () => {
  logreg.dispose();
  mlp.dispose();
  await rm(dir, { recursive: true, force: true });
});

describe('tfReady', () => {
  it('selects one backend, the same on every call', async () => {
    const backend = await tfReady();
    expect(['tensorflow', 'wasm', 'cpu']).toContain(backend);
    expect(await tfReady()).toBe(backend);
    expect(tf.getBackend()).toBe(backend);
  });
});

describe('trainModel', () => {
  it.each(['logreg', 'mlp'] as const)('%s finds the planted signal (holdout AUC > 0.8) with probabilities in (0, 1)', (kind) => {
    const model = kind === 'logreg' ? logreg : mlp;
    const p = model.predict(test.x, test.rows);
    expect(p).toHaveLength(test.rows);
    expect(p.every((v) => v > 0 && v < 1)).toBe(true);
    expect(rocAuc(test.y, p)).toBeGreaterThan(0.8);
  });

  it('calibrates: the mean probability on validation is near its win rate despite the class weights', () => {
    const p = logreg.predict(valid.x, valid.rows);
    const meanP = p.reduce((a, b) => a + b, 0) / p.length;
    const rate = valid.y.reduce((a, b) => a + b, 0) / valid.rows;
    expect(Math.abs(meanP - rate)).toBeLessThan(0.02);
  });

  it('repeats a run exactly with the same seed and differs with another', async () => {
    const small = { x: train.x.subarray(0, 300 * width), y: train.y.subarray(0, 300), rows: 300 };
    const run = async (seed: number) => {
      const m = await trainModel(small, valid, { kind: 'mlp', width, seed, maxEpochs: 2 });
      const p = m.predict(test.x, test.rows);
      m.dispose();
      return p;
    };
    const first = await run(5);
    expect(await run(5)).toEqual(first);
    expect(await run(6)).not.toEqual(first);
  });

  it('reports each epoch, stops at maxEpochs and leaves no tensors once disposed', async () => {
    const epochs: { epoch: number; loss: number; valLoss: number }[] = [];
    const before = tf.memory().numTensors;
    const m = await trainModel(train, valid, { kind: 'mlp', width, seed: 2, maxEpochs: 3, onEpoch: (e) => epochs.push(e) });
    m.dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(epochs.map((e) => e.epoch)).toEqual([1, 2, 3]);
    expect(epochs.every((e) => Number.isFinite(e.loss) && Number.isFinite(e.valLoss))).toBe(true);
  });

  it('refuses input of the wrong shape', () => {
    expect(() => logreg.predict(new Float32Array(width + 1), 1)).toThrow(`expected 1 × ${width}`);
  });
});

describe('tensor ownership', () => {
  it.each(['logreg', 'mlp'] as const)('%s predict and contributions leave no tensors behind', (kind) => {
    const model = kind === 'logreg' ? logreg : mlp;
    model.predict(test.x, test.rows); // first call may warm kernels
    const before = tf.memory().numTensors;
    model.predict(test.x, test.rows);
    model.contributions(test.x.subarray(0, 5 * width), 5);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('contributions', () => {
  it('logreg: baseline + Σ contributions is the calibrated logit, row by row', () => {
    const rows = 20;
    const p = logreg.predict(test.x.subarray(0, rows * width), rows);
    const c = logreg.contributions(test.x.subarray(0, rows * width), rows);
    expect(c).toHaveLength(rows * width);
    for (let r = 0; r < rows; r++) {
      const sum = c.subarray(r * width, (r + 1) * width).reduce((a, b) => a + b, logreg.baselineLogit);
      expect(sum).toBeCloseTo(logit(p[r]!), 4);
    }
  });

  it('mlp: integrated gradients add up to the calibrated logit within the step error', () => {
    const rows = 10;
    const p = mlp.predict(test.x.subarray(0, rows * width), rows);
    const c = mlp.contributions(test.x.subarray(0, rows * width), rows);
    for (let r = 0; r < rows; r++) {
      const sum = c.subarray(r * width, (r + 1) * width).reduce((a, b) => a + b, mlp.baselineLogit);
      expect(Math.abs(sum - logit(p[r]!))).toBeLessThan(0.05);
    }
  });

  it('gives a column no share when the row has the baseline value there', () => {
    const c = logreg.contributions(test.x.subarray(0, width), 1);
    const visits = spec.columns.indexOf('num:visits');
    const atMean = Float32Array.from(test.x.subarray(0, width));
    atMean[visits] = train.x.reduce((s, v, i) => (i % width === visits ? s + v : s), 0) / train.rows;
    expect(logreg.contributions(atMean, 1)[visits]).toBeCloseTo(0, 5);
    expect(Math.abs(c[visits]!)).toBeGreaterThan(0);
  });
});

describe('save and load', () => {
  it.each(['logreg', 'mlp'] as const)('%s reloads with identical predictions and contributions', async (kind) => {
    const model = kind === 'logreg' ? logreg : mlp;
    const at = join(dir, kind);
    await model.save(at, { note: 'kept' });
    const loaded = await loadModel(at);
    try {
      expect(loaded).toMatchObject({ kind, width, seed: 1, calibration: model.calibration, baselineLogit: model.baselineLogit });
      expect(loaded.predict(test.x, test.rows)).toEqual(model.predict(test.x, test.rows));
      expect(loaded.contributions(test.x.subarray(0, 3 * width), 3)).toEqual(model.contributions(test.x.subarray(0, 3 * width), 3));
      const meta = JSON.parse(await readFile(join(at, 'meta.json'), 'utf8')) as Record<string, unknown>;
      expect(meta).toMatchObject({ kind, width, seed: 1, calibration: model.calibration, extra: { note: 'kept' } });
      const json = JSON.parse(await readFile(join(at, 'model.json'), 'utf8')) as { weightsManifest: { paths: string[] }[] };
      expect(json.weightsManifest[0]?.paths).toEqual(['weights.bin']);
    } finally {
      loaded.dispose();
    }
  });
});

describe('fitPlatt', () => {
  it('recovers the scaling that generated the labels', () => {
    const random = seededRandom(3);
    const n = 20_000;
    const z = Float32Array.from({ length: n }, () => (random() - 0.5) * 8);
    const y = z.map((v) => (random() < 1 / (1 + Math.exp(-(2 * v - 1))) ? 1 : 0));
    const { a, b } = fitPlatt(z, y);
    expect(a).toBeCloseTo(2, 0);
    expect(b).toBeCloseTo(-1, 0);
  });

  it('stays finite on a one-class validation set', () => {
    const { a, b } = fitPlatt(Float32Array.from([0.1, 0.5, 2]), Float32Array.from([0, 0, 0]));
    expect(Number.isFinite(a) && Number.isFinite(b)).toBe(true);
  });
});
