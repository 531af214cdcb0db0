import * as tf from '@tensorflow/tfjs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ModelKind } from '../src/lib/contracts/model';
import { tfReady } from './backend';
import { seededRandom } from './random';

/** Rows of a row-major `rows × width` matrix with 0/1 labels. */
export interface TrainData {
  x: Float32Array;
  y: Float32Array;
  rows: number;
}

export interface TrainOptions {
  kind: ModelKind;
  width: number;
  seed: number;
  maxEpochs?: number;
  onEpoch?: (e: { epoch: number; loss: number; valLoss: number }) => void;
}

/** Platt scaling: calibrated P(won) = sigmoid(a · logit + b). */
export interface Calibration {
  a: number;
  b: number;
}

export interface LeadModel {
  kind: ModelKind;
  width: number;
  seed: number;
  calibration: Calibration;
  /** Calibrated logit of the baseline input (the training column means). */
  baselineLogit: number;
  /** Calibrated P(won) per row. Tensors it makes are freed before it returns. */
  predict(x: Float32Array, rows: number): Float32Array;
  /**
   * `rows × width`: each column's share of the calibrated logit relative to the baseline input,
   * so `baselineLogit + Σ row = logit(predict(row))` (exact for logreg; for mlp, integrated
   * gradients over 32 steps, exact up to the step error).
   */
  contributions(x: Float32Array, rows: number): Float32Array;
  /** Writes model.json + weights.bin (tfjs layers format) and meta.json (`extra` under `extra`). */
  save(dir: string, extra?: Record<string, unknown>): Promise<void>;
  dispose(): void;
}

export interface ModelMeta {
  format: 'pipewall-lead-model';
  version: 1;
  kind: ModelKind;
  width: number;
  seed: number;
  calibration: Calibration;
  baseline: number[];
  extra?: Record<string, unknown>;
}

/**
 * Hyper-parameters per kind. Not tuned on the public test splits (that would flatter the
 * reference comparison); picked as usual small-tabular defaults. Early stopping is the main brake.
 */
const HYPER: Record<ModelKind, { hidden: number[]; dropout: number; l2: number; learningRate: number }> = {
  logreg: { hidden: [], dropout: 0, l2: 1e-3, learningRate: 0.01 },
  mlp: { hidden: [32, 16], dropout: 0.2, l2: 1e-4, learningRate: 0.003 }
};
const PATIENCE = 5;
const MIN_IMPROVEMENT = 1e-4;
const IG_STEPS = 32;

/** Larger batches for larger sets: per-step overhead dominates small models on wasm. */
const batchSizeFor = (rows: number) => 2 ** Math.min(10, Math.max(5, Math.round(Math.log2(rows / 64))));

function buildNetwork(kind: ModelKind, width: number, seed: number): tf.Sequential {
  const { hidden } = HYPER[kind];
  const layers = hidden.map((units, i) =>
    tf.layers.dense({
      units,
      activation: 'relu',
      kernelInitializer: tf.initializers.heNormal({ seed: seed + i }),
      ...(i === 0 ? { inputShape: [width] } : {})
    })
  );
  // The output is the logit; the sigmoid and Platt scaling are applied outside the network so
  // contributions can be taken on the logit scale.
  layers.push(
    tf.layers.dense({
      units: 1,
      name: 'logit',
      kernelInitializer: tf.initializers.glorotUniform({ seed: seed + hidden.length }),
      ...(hidden.length === 0 ? { inputShape: [width] } : {})
    })
  );
  return tf.sequential({ layers });
}

/** Mean of w · BCE(sigmoid(z), y), in the numerically stable logit form. */
function weightedLoss(z: tf.Tensor, y: tf.Tensor, w: tf.Tensor): tf.Scalar {
  const perRow = tf.add(tf.sub(tf.relu(z), tf.mul(z, y)), tf.log1p(tf.exp(tf.neg(tf.abs(z)))));
  return tf.mean(tf.mul(perRow, w));
}

/**
 * Class weights n / (2 · n_class): each class carries half the loss, so a 10 % win rate does not
 * teach the model that "not won" is always a safe answer. It skews the raw probabilities;
 * Platt scaling on the (unweighted) validation split puts them back on the real base rate.
 */
function classWeights(y: Float32Array): { pos: number; neg: number } {
  let positives = 0;
  for (const v of y) positives += v;
  const n = y.length;
  if (positives === 0 || positives === n) return { pos: 1, neg: 1 };
  return { pos: n / (2 * positives), neg: n / (2 * (n - positives)) };
}

/**
 * Fits sigmoid(a·z + b) to labels by Newton's method on the log loss, with Platt's smoothed
 * targets ((N₊+1)/(N₊+2), 1/(N₋+2)) so a small or one-class validation split cannot push the
 * parameters to infinity.
 */
export function fitPlatt(z: Float32Array, y: Float32Array): Calibration {
  let positives = 0;
  for (const v of y) positives += v;
  const hi = (positives + 1) / (positives + 2);
  const lo = 1 / (y.length - positives + 2);
  let a = 1;
  let b = 0;
  for (let iter = 0; iter < 100; iter++) {
    let gA = 0, gB = 0, hAA = 1e-9, hAB = 0, hBB = 1e-9;
    for (let i = 0; i < z.length; i++) {
      const zi = z[i] as number;
      const t = (y[i] as number) > 0.5 ? hi : lo;
      const p = 1 / (1 + Math.exp(-(a * zi + b)));
      const d = p - t;
      const s = p * (1 - p);
      gA += d * zi;
      gB += d;
      hAA += s * zi * zi;
      hAB += s * zi;
      hBB += s;
    }
    const det = hAA * hBB - hAB * hAB;
    if (!(Math.abs(det) > 1e-12)) break;
    const dA = (hBB * gA - hAB * gB) / det;
    const dB = (hAA * gB - hAB * gA) / det;
    a -= dA;
    b -= dB;
    if (Math.abs(dA) + Math.abs(dB) < 1e-10) break;
  }
  return Number.isFinite(a) && Number.isFinite(b) ? { a, b } : { a: 1, b: 0 };
}

function columnMeans(x: Float32Array, rows: number, width: number): Float32Array {
  const sums = new Float64Array(width);
  for (let r = 0; r < rows; r++) for (let c = 0; c < width; c++) sums[c] = (sums[c] as number) + (x[r * width + c] as number);
  return Float32Array.from(sums, (s) => (rows > 0 ? s / rows : 0));
}

/** Raw logits in one batch: `model.predict` would slice per batch, which is slow on wasm. */
function logitsOf(net: tf.LayersModel, x: Float32Array, rows: number, width: number): Float32Array {
  if (rows === 0) return new Float32Array(0);
  return tf.tidy(() => (net.apply(tf.tensor2d(x, [rows, width])) as tf.Tensor).dataSync() as Float32Array);
}

/**
 * Trains one model with a seeded, hand-written loop rather than `fit`: `fit`'s shuffle and
 * dropout draw from Math.random, so runs would not repeat. Early stopping watches the weighted
 * validation loss and restores the best epoch's weights; Platt scaling is then fitted on the
 * same validation split.
 */
export async function trainModel(train: TrainData, valid: TrainData, opts: TrainOptions): Promise<LeadModel> {
  await tfReady();
  const { kind, width, seed } = opts;
  if (train.rows === 0 || valid.rows === 0) throw new Error('trainModel needs at least one training and one validation row');
  const hyper = HYPER[kind];
  const maxEpochs = opts.maxEpochs ?? 60;
  const net = buildNetwork(kind, width, seed);
  const variables = net.trainableWeights.map((w) => w.read() as tf.Variable);
  const kernels = net.trainableWeights.filter((w) => w.name.includes('kernel')).map((w) => w.read());
  const optimizer = tf.train.adam(hyper.learningRate);
  const cw = classWeights(train.y);
  const weightsOf = (y: Float32Array) => y.map((v) => (v > 0.5 ? cw.pos : cw.neg));
  const batch = batchSizeFor(train.rows);
  const random = seededRandom(seed);
  const order = Array.from({ length: train.rows }, (_, i) => i);
  const xs = new Float32Array(train.x.length);
  const ys = new Float32Array(train.rows);
  const validW = weightsOf(valid.y);
  let best = { valLoss: Infinity, epoch: -1, weights: [] as tf.Tensor[] };
  let step = 0;
  const forward = (x: tf.Tensor, training: boolean): tf.Tensor => {
    let h = x;
    net.layers.forEach((layer, i) => {
      h = layer.apply(h) as tf.Tensor;
      if (training && hyper.dropout > 0 && i < net.layers.length - 1) h = tf.dropout(h, hyper.dropout, undefined, seed * 100_003 + step * 7 + i);
    });
    return h;
  };
  try {
    for (let epoch = 0; epoch < maxEpochs; epoch++) {
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [order[i], order[j]] = [order[j] as number, order[i] as number];
      }
      order.forEach((src, dst) => {
        xs.set(train.x.subarray(src * width, (src + 1) * width), dst * width);
        ys[dst] = train.y[src] as number;
      });
      const ws = weightsOf(ys);
      let lossSum = 0;
      for (let start = 0; start < train.rows; start += batch) {
        const end = Math.min(train.rows, start + batch);
        const cost = tf.tidy(() => {
          const xb = tf.tensor2d(xs.subarray(start * width, end * width), [end - start, width]);
          const yb = tf.tensor2d(ys.subarray(start, end), [end - start, 1]);
          const wb = tf.tensor2d(ws.subarray(start, end), [end - start, 1]);
          return optimizer.minimize(() => {
            const data = weightedLoss(forward(xb, true), yb, wb);
            const penalty = kernels.reduce((acc: tf.Tensor, k) => tf.add(acc, tf.sum(tf.square(k))), tf.scalar(0));
            return tf.add(data, tf.mul(hyper.l2, penalty));
          }, true, variables) as tf.Scalar;
        });
        lossSum += (cost.dataSync()[0] as number) * (end - start);
        cost.dispose();
        step++;
      }
      const valLoss = tf.tidy(() => {
        const z = forward(tf.tensor2d(valid.x, [valid.rows, width]), false);
        return weightedLoss(z, tf.tensor2d(valid.y, [valid.rows, 1]), tf.tensor2d(validW, [valid.rows, 1])).dataSync()[0] as number;
      });
      opts.onEpoch?.({ epoch: epoch + 1, loss: lossSum / train.rows, valLoss });
      if (valLoss < best.valLoss - MIN_IMPROVEMENT) {
        best.weights.forEach((t) => t.dispose());
        best = { valLoss, epoch, weights: net.getWeights().map((t) => t.clone()) };
      } else if (epoch - best.epoch >= PATIENCE) break;
    }
    if (best.weights.length > 0) net.setWeights(best.weights);
  } finally {
    best.weights.forEach((t) => t.dispose());
    optimizer.dispose();
  }
  const calibration = fitPlatt(logitsOf(net, valid.x, valid.rows, width), valid.y);
  return wrap(net, { kind, width, seed, calibration, baseline: columnMeans(train.x, train.rows, width) });
}

function wrap(net: tf.LayersModel, m: { kind: ModelKind; width: number; seed: number; calibration: Calibration; baseline: Float32Array }): LeadModel {
  const { kind, width, seed, calibration, baseline } = m;
  const { a, b } = calibration;
  const baselineLogit = a * (logitsOf(net, baseline, 1, width)[0] as number) + b;
  // logreg: the kernel read once, so its contributions are exact JS arithmetic.
  const kernel = kind === 'logreg' ? ((net.layers[0]?.getWeights()[0] as tf.Tensor).dataSync() as Float32Array).slice() : undefined;
  const check = (x: Float32Array, rows: number) => {
    if (x.length !== rows * width) throw new Error(`expected ${rows} × ${width} = ${rows * width} values, got ${x.length}`);
  };
  return {
    kind,
    width,
    seed,
    calibration,
    baselineLogit,
    predict(x, rows) {
      check(x, rows);
      return logitsOf(net, x, rows, width).map((z) => 1 / (1 + Math.exp(-(a * z + b))));
    },
    contributions(x, rows) {
      check(x, rows);
      if (kernel) return x.map((v, i) => a * (kernel[i % width] as number) * (v - (baseline[i % width] as number)));
      if (rows === 0) return new Float32Array(0);
      // Integrated gradients (midpoint rule) from the baseline to each row; completeness makes
      // the columns add up to the logit difference, which a plain gradient × input does not.
      return tf.tidy(() => {
        const base = tf.tensor2d(baseline, [1, width]);
        const diff = tf.sub(tf.tensor2d(x, [rows, width]), base);
        const gradOf = tf.grad((inp: tf.Tensor) => tf.sum(net.apply(inp) as tf.Tensor));
        let total: tf.Tensor = tf.zerosLike(diff);
        for (let k = 0; k < IG_STEPS; k++) {
          const g = gradOf(tf.add(base, tf.mul(diff, (k + 0.5) / IG_STEPS)));
          const next = tf.add(total, g);
          tf.dispose([total, g]);
          total = next;
        }
        return tf.mul(total, tf.mul(diff, a / IG_STEPS)).dataSync() as Float32Array;
      });
    },
    async save(dir, extra) {
      await net.save(fileIO(dir));
      const meta: ModelMeta = { format: 'pipewall-lead-model', version: 1, kind, width, seed, calibration, baseline: [...baseline], ...(extra ? { extra } : {}) };
      await writeFile(join(dir, 'meta.json'), JSON.stringify(meta));
    },
    dispose() {
      net.dispose();
    }
  };
}

/**
 * model.json + weights.bin in the standard tfjs layers format (a browser can load them with
 * `tf.loadLayersModel(url)`): `file://` needs tfjs-node, which does not install here.
 */
function fileIO(dir: string): tf.io.IOHandler {
  return {
    async save(artifacts) {
      await mkdir(dir, { recursive: true });
      const weights = artifacts.weightData ? tf.io.CompositeArrayBuffer.join(artifacts.weightData) : new ArrayBuffer(0);
      await writeFile(join(dir, 'weights.bin'), new Uint8Array(weights));
      const json = {
        modelTopology: artifacts.modelTopology,
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy,
        trainingConfig: artifacts.trainingConfig,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs ?? [] }]
      };
      await writeFile(join(dir, 'model.json'), JSON.stringify(json));
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    },
    async load() {
      const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as tf.io.ModelJSON;
      const bin = await readFile(join(dir, 'weights.bin'));
      return {
        modelTopology: json.modelTopology,
        trainingConfig: json.trainingConfig,
        weightSpecs: json.weightsManifest[0]?.weights ?? [],
        weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength)
      };
    }
  };
}

export async function readModelMeta(dir: string): Promise<ModelMeta> {
  const meta = JSON.parse(await readFile(join(dir, 'meta.json'), 'utf8')) as ModelMeta;
  if (meta.format !== 'pipewall-lead-model' || meta.version !== 1) throw new Error(`${dir}/meta.json is not a version 1 Pipewall lead model`);
  return meta;
}

/** Loads what `save` wrote; the predictions are identical to the saved model's. */
export async function loadModel(dir: string): Promise<LeadModel> {
  await tfReady();
  const meta = await readModelMeta(dir);
  const net = await tf.loadLayersModel(fileIO(dir));
  return wrap(net, { ...meta, baseline: Float32Array.from(meta.baseline) });
}
