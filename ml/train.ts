import { modelKinds, type LabelledExample, type ModelKind, type ModelMetrics, type RawFeatures, type TrainingProgress } from '../src/lib/contracts/model';
import { chooseThreshold, evaluateScores } from './evaluate';
import { trainModel, type LeadModel, type TrainData } from './model';
import { encode, fitFeatureSpec, type FeatureSpec } from './normalize';

export interface TrainAndEvaluateOptions {
  seed: number;
  /** Fixed train/test ids (the public datasets' split files); otherwise a time split. */
  split?: { train: Set<string>; test: Set<string> };
  /** Share of examples, newest by `at`, held out for the final figures. */
  holdoutFraction?: number;
  /** Share of the training examples, newest by `at`, used for early stopping and calibration. */
  validationFraction?: number;
  kinds?: ModelKind[];
  maxEpochs?: number;
  onProgress?: (p: TrainingProgress) => void;
}

export interface Candidate {
  kind: ModelKind;
  /** On the holdout, at the threshold chosen on validation. */
  metrics: ModelMetrics;
  model: LeadModel;
  trainSeconds: number;
  epochs: number;
}

export interface TrainingResult {
  spec: FeatureSpec;
  candidates: Candidate[];
  best: Candidate;
  holdoutIds: string[];
  /** Epoch ms of the oldest and newest training example (validation included). */
  trainWindow: { from: number; to: number };
  counts: { train: number; validation: number; holdout: number; trainPositives: number; validationPositives: number; holdoutPositives: number };
}

/** Oldest first; the id breaks ties so equal timestamps still split the same way every run. */
const byTime = (a: LabelledExample, b: LabelledExample) => a.at - b.at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

function toData(spec: FeatureSpec, rows: LabelledExample[]): TrainData {
  return { x: encode(spec, rows.map((e) => e.features)), y: Float32Array.from(rows, (e) => e.label), rows: rows.length };
}

const positives = (rows: LabelledExample[]) => rows.reduce((n, e) => n + e.label, 0);

/**
 * Time split unless `split` is given: train on the older examples, hold out the newest, as the
 * model will be used (trained on the past, scoring leads that arrive later). A random split would
 * let next month's leads teach the model about this month's.
 */
export function splitExamples(examples: LabelledExample[], opts: TrainAndEvaluateOptions) {
  const sorted = [...examples].sort(byTime);
  let train: LabelledExample[];
  let holdout: LabelledExample[];
  if (opts.split) {
    const { train: trainIds, test: testIds } = opts.split;
    train = sorted.filter((e) => trainIds.has(e.id));
    holdout = sorted.filter((e) => testIds.has(e.id));
  } else {
    const cut = sorted.length - Math.round(sorted.length * (opts.holdoutFraction ?? 0.2));
    train = sorted.slice(0, cut);
    holdout = sorted.slice(cut);
  }
  // Validation by id, like the holdout: a ledger lead gives several examples (moments of its
  // life) that share their label, so its early moments in fit and late ones in validation would
  // flatter early stopping and calibration. Ids ordered by their newest example; the newest ids
  // holding ~validationFraction of the examples validate. (Public datasets: one example per id,
  // so this is the plain time order.)
  const newest = new Map<string, LabelledExample>();
  for (const e of train) newest.set(e.id, e); // train is sorted, so the last one per id wins
  const ids = [...newest.values()].sort(byTime).map((e) => e.id);
  const wanted = Math.round(train.length * (opts.validationFraction ?? 0.2));
  const validIds = new Set<string>();
  const perId = new Map<string, number>();
  for (const e of train) perId.set(e.id, (perId.get(e.id) ?? 0) + 1);
  for (let i = ids.length - 1, taken = 0; i >= 0 && taken < wanted; i--) {
    validIds.add(ids[i]!);
    taken += perId.get(ids[i]!) ?? 0;
  }
  return { fit: train.filter((e) => !validIds.has(e.id)), valid: train.filter((e) => validIds.has(e.id)), train, holdout };
}

/**
 * Fits the encoding, trains each kind and evaluates it on the holdout. The caller owns the
 * returned models (dispose what it does not keep).
 */
export async function trainAndEvaluate(examples: LabelledExample[], opts: TrainAndEvaluateOptions): Promise<TrainingResult> {
  const progress = opts.onProgress ?? (() => {});
  progress({ phase: 'prepare' });
  const { fit, valid, train, holdout } = splitExamples(examples, opts);
  if (fit.length === 0 || valid.length === 0 || holdout.length === 0) {
    throw new Error(`not enough examples to train: ${fit.length} to fit, ${valid.length} to validate, ${holdout.length} to hold out`);
  }
  // Fitted on the whole training split, validation included: the encoding uses no labels, and the
  // holdout stays unseen. Rare-category grouping then matches the reference figures (minCount
  // over train).
  const spec = fitFeatureSpec(train.map((e) => e.features));
  const fitData = toData(spec, fit);
  const validData = toData(spec, valid);
  const holdoutData = toData(spec, holdout);
  const maxEpochs = opts.maxEpochs ?? 60;
  const candidates: Candidate[] = [];
  try {
    for (const kind of opts.kinds ?? modelKinds) {
      progress({ phase: 'train', kind, epoch: 0, maxEpochs });
      const started = performance.now();
      let epochs = 0;
      const model = await trainModel(fitData, validData, {
        kind,
        width: spec.width,
        seed: opts.seed,
        maxEpochs,
        onEpoch: (e) => {
          epochs = e.epoch;
          progress({ phase: 'train', kind, epoch: e.epoch, maxEpochs, loss: e.loss, valLoss: e.valLoss });
        }
      });
      const trainSeconds = (performance.now() - started) / 1000;
      try {
        progress({ phase: 'evaluate', kind });
        const threshold = chooseThreshold(validData.y, model.predict(validData.x, validData.rows));
        const metrics = evaluateScores(holdoutData.y, model.predict(holdoutData.x, holdoutData.rows), threshold);
        candidates.push({ kind, model, trainSeconds, epochs, metrics });
      } catch (err) {
        model.dispose();
        throw err;
      }
    }
  } catch (err) {
    for (const c of candidates) c.model.dispose();
    throw err;
  }
  progress({ phase: 'done' });
  return {
    spec,
    candidates,
    best: pickBest(candidates),
    holdoutIds: holdout.map((e) => e.id),
    trainWindow: { from: (train[0] as LabelledExample).at, to: (train.at(-1) as LabelledExample).at },
    counts: {
      train: fit.length,
      validation: valid.length,
      holdout: holdout.length,
      trainPositives: positives(fit),
      validationPositives: positives(valid),
      holdoutPositives: positives(holdout)
    }
  };
}

/**
 * Ranking is what the lead list uses, so the higher holdout ROC AUC wins. AUCs equal to three
 * decimals count as a tie (on a few thousand holdout leads, smaller gaps are noise), and the
 * tie goes to the lower log loss: the better-calibrated probability is the one a salesperson
 * reads. On a full tie the earlier kind (logreg, simpler and exactly explainable) stays.
 * Choosing on the holdout makes the winner's holdout figures slightly optimistic; with two
 * candidates that bias is small.
 */
export function pickBest<T extends { metrics: Pick<ModelMetrics, 'rocAuc' | 'logLoss'> }>(candidates: T[]): T {
  const [first, ...rest] = candidates;
  if (!first) throw new Error('no candidates to choose from');
  return rest.reduce((best, c) => {
    const a = Math.round(c.metrics.rocAuc * 1000);
    const b = Math.round(best.metrics.rocAuc * 1000);
    return a > b || (a === b && c.metrics.logLoss < best.metrics.logLoss) ? c : best;
  }, first);
}

/** Calibrated P(won) for raw feature rows, through the spec the model was trained with. */
export function scoreRaw(spec: FeatureSpec, model: LeadModel, rows: RawFeatures[]): Float32Array {
  if (spec.width !== model.width) throw new Error(`spec has ${spec.width} columns but the model expects ${model.width}`);
  return model.predict(encode(spec, rows), rows.length);
}
