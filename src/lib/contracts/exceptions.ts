import { z } from 'zod';

/**
 * Exceptions the system finds by itself (issue 5, item 2): a lead that needs a person, with the
 * ledger event that makes it true and the human state (acknowledged, snoozed, claimed) folded
 * from human events in the same ledger. Shared by the server (which computes them), the socket
 * layer (which pushes raised/cleared deltas) and the wall UI.
 */

export const exceptionKinds = [
  /** No inbound message within N hours of qualification. */
  'silent_after_qualification',
  /** Time in the current stage beyond the org's historical 75th percentile for that stage. */
  'stalled',
  /** The booking's start plus a grace period has passed with no attendance, or a recorded no-show. */
  'booked_not_attended',
  /** Attended, but no deal won or lost after N days. */
  'attended_no_outcome',
  /** A high-value deal whose score dropped sharply. Declared now; found once scores exist (issue 6). */
  'score_dropped'
] as const;
export const exceptionKindSchema = z.enum(exceptionKinds);
export type ExceptionKind = z.infer<typeof exceptionKindSchema>;

/** Per-organisation thresholds; the defaults are a reasonable start for a clinic's pipeline. */
export const exceptionSettingsSchema = z.object({
  /** Hours after qualification without a customer message before the lead counts as silent. */
  silentAfterHours: z.number().positive().max(24 * 365).default(24),
  /** Completed stays a stage needs before its 75th percentile is trusted (a p75 of two stays is noise). */
  stalledMinSamples: z.int().min(1).max(1_000_000).default(5),
  /** Hours after a booking's start before a missing attendance record counts. */
  attendanceGraceHours: z.number().nonnegative().max(24 * 30).default(2),
  /** Days after attendance without a won/lost outcome before it counts. */
  outcomeAfterDays: z.number().positive().max(365).default(3),
  /** Deal value for a lead with no value of its own and no won deals with its intent to learn from. */
  defaultDealValue: z.number().nonnegative().max(1e15).default(0),
  /** Currency of that default. */
  currency: z
    .string()
    .regex(/^[A-Z]{3}$/)
    .default('EUR')
});
export type ExceptionSettings = z.infer<typeof exceptionSettingsSchema>;
export const defaultExceptionSettings: ExceptionSettings = exceptionSettingsSchema.parse({});

/** The ledger event that makes an exception true. */
export const exceptionEvidenceSchema = z.object({
  eventId: z.string(),
  type: z.string(),
  /** epoch milliseconds */
  occurredAt: z.number(),
  summary: z.string()
});
export type ExceptionEvidence = z.infer<typeof exceptionEvidenceSchema>;

/** Who did something to an exception, and when (epoch ms). */
export const humanMarkSchema = z.object({ userId: z.string(), at: z.number() });
export type HumanMark = z.infer<typeof humanMarkSchema>;

export const exceptionSchema = z.object({
  /** Deterministic from kind, lead and evidence event, so recomputing finds the same id. */
  id: z.string(),
  kind: exceptionKindSchema,
  /** The canonical lead (merged leads fold into the surviving one). */
  leadId: z.string(),
  /** epoch milliseconds when it became true */
  since: z.number(),
  evidence: exceptionEvidenceSchema,
  /** One sentence a rep can act on. */
  words: z.string(),
  acknowledged: humanMarkSchema.nullable(),
  /** Only while the snooze lasts; null once `until` has passed. */
  snoozed: humanMarkSchema.extend({ until: z.number() }).nullable(),
  claimed: humanMarkSchema.nullable()
});
export type LeadException = z.infer<typeof exceptionSchema>;

/** What a person can do to an exception. `until` is epoch milliseconds. */
export const exceptionActionSchema = z.discriminatedUnion('action', [
  z.strictObject({ action: z.literal('acknowledge') }),
  z.strictObject({ action: z.literal('snooze'), until: z.int().min(0).max(Date.UTC(2100, 0, 1)) }),
  z.strictObject({ action: z.literal('claim') }),
  z.strictObject({ action: z.literal('unclaim') })
]);
export type ExceptionAction = z.infer<typeof exceptionActionSchema>;

/** An action as a browser sends it (socket message or form). */
export const exceptionActionRequestSchema = z.object({
  exceptionId: z.string().min(1).max(200),
  leadId: z.string().min(1).max(128),
  action: exceptionActionSchema
});
export type ExceptionActionRequest = z.infer<typeof exceptionActionRequestSchema>;

/** Ledger event types of the human actions, one per action. */
export const exceptionEventTypes = {
  acknowledge: 'exception_acknowledged',
  snooze: 'exception_snoozed',
  claim: 'exception_claimed',
  unclaim: 'exception_unclaimed'
} as const satisfies Record<ExceptionAction['action'], string>;

/** A lead on the at-risk list (issue 5, item 3), ranked by risk × value. */
export const atRiskDealSchema = z.object({
  leadId: z.string(),
  /** 0..1, from the lead's current exceptions (later also its score). */
  risk: z.number(),
  value: z.number(),
  currency: z.string(),
  /** Where the value came from: the lead's own deal, the median won deal of its intent, or the org default. */
  valueSource: z.enum(['lead', 'intent', 'default']),
  /** risk × value, the ranking key. */
  exposure: z.number(),
  reason: z.string(),
  exceptionIds: z.array(z.string())
});
export type AtRiskDeal = z.infer<typeof atRiskDealSchema>;
