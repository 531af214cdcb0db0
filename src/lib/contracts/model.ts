import { z } from 'zod';

/**
 * The lead-scoring model's shapes, shared by ml/ (features, training, evaluation), the app
 * (registry, scoring, the model page) and the real-data adapters. Features travel raw (named
 * numbers and categories) and are encoded by the normaliser fitted on the training set, so the
 * ledger features and the public datasets go through the same training and evaluation code.
 */

/** A lead's features at one moment: named numbers and named categories. */
export interface RawFeatures {
  numeric: Record<string, number>;
  categorical: Record<string, string>;
}

/**
 * Why a feature has its value: the event that set it, so a reason can point at it
 * ("no reply for 3 days after qualification" → the qualification event).
 */
export type FeatureEvidence = Record<string, string>;

/** One training or evaluation row. */
export interface LabelledExample {
  /** Lead id (ledger) or row id (public datasets). */
  id: string;
  features: RawFeatures;
  label: 0 | 1;
  /** Epoch ms of the moment the features describe; the time split orders by it. */
  at: number;
}

export const modelKinds = ['logreg', 'mlp'] as const;
export const modelKindSchema = z.enum(modelKinds);
export type ModelKind = z.infer<typeof modelKindSchema>;

const unit = z.number().min(0).max(1);
const count = z.number().int().min(0);

/**
 * One model's figures on one labelled set (the holdout), as ml/evaluate.ts computes them and the
 * model page stores and charts them. Probabilities are calibrated P(won); `threshold` was chosen
 * on the validation split (max F1), and the threshold figures are at P ≥ threshold.
 */
export const modelMetricsSchema = z.object({
  n: count,
  positives: count,
  positiveRate: unit,
  rocAuc: unit,
  /** Average precision (scikit-learn's definition). */
  prAuc: unit,
  /** Mean negative log-likelihood, natural log, probabilities clipped to [1e-15, 1 − 1e-15]. */
  logLoss: z.number().min(0),
  brier: unit,
  /** Expected calibration error over 10 equal-width bins. */
  ece: unit,
  /** Win rate in the top-scored 10 % over the overall win rate (1 = no better than random). */
  liftTopDecile: z.number().min(0),
  threshold: unit,
  accuracy: unit,
  precision: unit,
  recall: unit,
  f1: unit,
  confusion: z.object({ tp: count, fp: count, tn: count, fn: count }),
  /** Chart series, each at most 101 points. */
  curves: z.object({
    roc: z.array(z.object({ fpr: unit, tpr: unit })).max(101),
    pr: z.array(z.object({ recall: unit, precision: unit })).max(101),
    calibration: z.array(z.object({ lo: unit, hi: unit, count, meanPredicted: unit, fractionPositive: unit })).max(101),
    /** Share of all wins among the top `fraction` of leads by score, at 0, 0.1, …, 1. */
    gains: z.array(z.object({ fraction: unit, captured: unit })).max(101)
  })
});
export type ModelMetrics = z.infer<typeof modelMetricsSchema>;

export const trainingPhases = ['prepare', 'train', 'evaluate', 'save', 'done'] as const;

/**
 * A training run's progress, sent from the training child process (ml/train-job.ts) to the app.
 * `kind`, `epoch` and the losses are there while a model trains; `loss` is the epoch's mean
 * class-weighted log loss plus the L2 penalty, `valLoss` the class-weighted log loss on the
 * validation split (early stopping's signal). Both in nats per lead.
 */
export const trainingProgressSchema = z.object({
  phase: z.enum(trainingPhases),
  kind: modelKindSchema.optional(),
  epoch: z.number().int().min(0).optional(),
  maxEpochs: z.number().int().min(1).optional(),
  loss: z.number().optional(),
  valLoss: z.number().optional()
});
export type TrainingProgress = z.infer<typeof trainingProgressSchema>;
