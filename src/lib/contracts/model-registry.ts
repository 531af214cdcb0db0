import { z } from 'zod';
import { modelKindSchema, modelMetricsSchema, trainingProgressSchema } from './model';

/**
 * The model registry as the app shows it: versions with their holdout figures, the promotion
 * log, live accuracy and drift, and the state of a training run. Shared by the server (which
 * builds it from ClickHouse and the artifacts) and the model page (which charts it).
 */

/** How much a feature moved scores on the holdout: mean |contribution| in logit units. */
export const featureImportanceSchema = z.object({ feature: z.string(), label: z.string(), weight: z.number() });
export type FeatureImportance = z.infer<typeof featureImportanceSchema>;

export const versionStatuses = ['active', 'candidate', 'rejected', 'retired'] as const;

export const modelVersionSchema = z.object({
  versionId: z.string(),
  kind: modelKindSchema,
  /** epoch ms */
  createdAt: z.number(),
  /** 'org': trained on this organisation's outcomes; 'prior': the generic model used until then. */
  scope: z.enum(['org', 'prior']),
  status: z.enum(versionStatuses),
  backend: z.string(),
  trainWindow: z.object({ from: z.number(), to: z.number() }),
  /**
   * Examples are moments in a lead's life (several per closed lead); the holdout is whole leads,
   * so it is counted both ways.
   */
  counts: z.object({ train: z.number(), holdout: z.number(), positives: z.number(), holdoutLeads: z.number(), holdoutLeadsWon: z.number() }),
  trainingMs: z.number(),
  metrics: modelMetricsSchema,
  /** The model it was compared with, on this version's holdout, when one was active. */
  baseline: z.object({ versionId: z.string(), metrics: modelMetricsSchema }).nullable(),
  features: z.array(featureImportanceSchema),
  /** Holdout labels and scores (at most 2,000, a uniform sample) for the threshold slider. */
  holdout: z.array(z.tuple([z.number().int().min(0).max(1), z.number().min(0).max(1)])).max(2_000)
});
export type ModelVersion = z.infer<typeof modelVersionSchema>;

export const promotionDecisionSchema = z.object({
  /** epoch ms */
  at: z.number(),
  versionId: z.string(),
  decision: z.enum(['promoted', 'rejected', 'rolled_back']),
  reason: z.string(),
  /** 'system' or `human:<userId>` */
  actor: z.string()
});
export type PromotionDecision = z.infer<typeof promotionDecisionSchema>;

/** Outcomes that arrived after a lead was scored, per model version that scored it. */
export const liveAccuracySchema = z.object({
  versionId: z.string(),
  outcomes: z.number(),
  positives: z.number(),
  rocAuc: z.number().nullable(),
  brier: z.number().nullable(),
  ece: z.number().nullable()
});
export type LiveAccuracy = z.infer<typeof liveAccuracySchema>;

/** Population stability of today's scores against the training scores, per channel (> 0.2 flags). */
export const driftSchema = z.object({ channel: z.string(), leads: z.number(), psi: z.number(), flagged: z.boolean() });
export type Drift = z.infer<typeof driftSchema>;

export const trainingRunSchema = z.object({
  runId: z.string(),
  /** epoch ms */
  startedAt: z.number(),
  trigger: z.enum(['schedule', 'outcomes', 'manual', 'start']),
  progress: trainingProgressSchema,
  /** Set when the run ended. */
  result: z
    .object({ versionId: z.string().nullable(), decision: z.enum(['promoted', 'rejected', 'failed', 'skipped']), reason: z.string() })
    .nullable()
});
export type TrainingRun = z.infer<typeof trainingRunSchema>;

export const modelPageSchema = z.object({
  activeVersionId: z.string().nullable(),
  /** Who scores this organisation's leads now. */
  scoredBy: z.enum(['org', 'prior', 'none']),
  outcomes: z.object({ won: z.number(), lost: z.number() }),
  /** Outcomes still missing before the organisation gets its own model (0 when it has enough). */
  needed: z.object({ won: z.number(), lost: z.number() }),
  versions: z.array(modelVersionSchema),
  promotions: z.array(promotionDecisionSchema),
  live: z.array(liveAccuracySchema),
  drift: z.array(driftSchema),
  training: trainingRunSchema.nullable()
});
export type ModelPage = z.infer<typeof modelPageSchema>;

/** A lead's current score with its reasons in words, as the lead page and the at-risk list show it. */
export const leadScoreSchema = z.object({
  leadId: z.string(),
  /** Calibrated P(won), 0..1 */
  score: z.number(),
  /** The previous score, when there was one. */
  previous: z.number().nullable(),
  versionId: z.string(),
  scope: z.enum(['org', 'prior']),
  /** epoch ms */
  scoredAt: z.number(),
  reasons: z.array(
    z.object({ text: z.string(), direction: z.enum(['up', 'down']), weight: z.number(), eventId: z.string().optional() })
  )
});
export type LeadScore = z.infer<typeof leadScoreSchema>;
