import { z } from 'zod';

/**
 * The drop-off funnel (issue 5 item 1). Read model only: the queries live in
 * src/lib/server/db/queries/funnel.ts, which documents how a lead's journey is folded.
 * Times are epoch milliseconds; rates are percentages 0..100.
 */

/** The funnel's steps in order. `lost` is not a step: it sits beside `won` (contracts/events.ts). */
export const funnelSteps = ['enquired', 'qualified', 'booked', 'attended', 'won'] as const;
export const funnelStepSchema = z.enum(funnelSteps);
export type FunnelStep = z.infer<typeof funnelStepSchema>;

export const funnelSplits = ['channel', 'agent'] as const;
export const funnelSplitSchema = z.enum(funnelSplits);
export type FunnelSplit = z.infer<typeof funnelSplitSchema>;

const LATEST_MS = Date.UTC(2100, 0, 1);
const epochMs = z.number().int().min(0).max(LATEST_MS);
/** A conversion window beyond a year is a typo, and keeps `to + window` far inside UInt64. */
const MAX_WINDOW_MS = 366 * 86_400_000;

export const funnelQuerySchema = z
  .object({
    /** Leads whose first funnel step happened in [from, to) form the cohort. */
    from: epochMs,
    to: epochMs,
    /** A later step counts only if it happened within this long after the lead entered. */
    conversionWindowMs: z.number().int().positive().max(MAX_WINDOW_MS),
    split: funnelSplitSchema.optional(),
    /** With `split`: only the leads with this channel or agent id (drop-off lists, stop reasons). */
    splitValue: z.string().max(128).optional(),
    /** "Now" for deciding whether a lead may still move on; the server's clock when absent. */
    asOf: epochMs.optional()
  })
  .refine((q) => q.from < q.to, { message: 'from must be before to', path: ['to'] })
  .refine((q) => q.splitValue === undefined || q.split !== undefined, { message: 'splitValue needs split', path: ['splitValue'] });
export type FunnelQuery = z.infer<typeof funnelQuerySchema>;

export const funnelStepFigureSchema = z.object({
  step: funnelStepSchema,
  /** Leads that reached this step or a later one (a reached step implies every earlier one). */
  count: z.number().int(),
  /** count / previous step's count × 100; null for the first step or when the previous is 0. */
  conversionPct: z.number().nullable(),
  /** Leads that reached this step and no later one within the conversion window. */
  dropped: z.number().int(),
  /** dropped / count × 100; null for `won` (nothing follows) or when count is 0. */
  dropOffPct: z.number().nullable(),
  /** Of `dropped`: window still open at `asOf` and not lost, so they may still move on. */
  stillOpen: z.number().int(),
  /**
   * Median ms from the previous step to this one over the leads that reached this one; exact,
   * the upper middle value for an even count. Null for the first step or with no leads.
   */
  medianMsFromPrevious: z.number().nullable(),
  /** The distribution of that time (exact p10, p25, p50, p75, p90); null where the median is. */
  spreadMsFromPrevious: z.object({ p10: z.number(), p25: z.number(), p50: z.number(), p75: z.number(), p90: z.number() }).nullable()
});
export type FunnelStepFigure = z.infer<typeof funnelStepFigureSchema>;

export const funnelResultSchema = z.object({
  steps: z.array(funnelStepFigureSchema),
  /** Present with `split`: the same figures per channel or agent id ('' when none was recorded). */
  splits: z.array(z.object({ value: z.string(), steps: z.array(funnelStepFigureSchema) })).optional()
});
export type FunnelResult = z.infer<typeof funnelResultSchema>;

/** Which side wrote the lead's last message. */
export const lastSpeakers = ['customer', 'agent', 'human', 'none'] as const;
/** How long the agent side took to answer the customer's last message. */
export const responseBuckets = ['no_inbound', 'unanswered', 'under_1m', '1m_5m', '5m_1h', '1h_24h', 'over_24h'] as const;

export const reasonBucketSchema = z.object({ key: z.string(), leads: z.number().int() });
export type ReasonBucket = z.infer<typeof reasonBucketSchema>;

/** Why the leads that dropped at one step stopped: the last thing that happened before they went quiet. */
export const stopReasonsSchema = z.object({
  step: funnelStepSchema,
  dropped: z.number().int(),
  /** Type of the last event (by occurred_at) within the lead's conversion window. */
  lastEventType: z.array(reasonBucketSchema),
  /** The last intent an agent recorded ('' when none was). */
  lastIntent: z.array(reasonBucketSchema),
  /** Keys from `lastSpeakers`. */
  lastSpeaker: z.array(reasonBucketSchema),
  /** Keys from `responseBuckets`. */
  agentResponse: z.array(reasonBucketSchema)
});
export type StopReasons = z.infer<typeof stopReasonsSchema>;

export const dropOffLeadSchema = z.object({
  leadId: z.string(),
  /** When the lead entered the funnel. */
  enteredAt: z.number(),
  lastEventType: z.string(),
  /** The agent's summary of the last event, else the start of its message text. */
  lastSummary: z.string(),
  lastEventAt: z.number(),
  channel: z.string(),
  agentId: z.string()
});
export type DropOffLead = z.infer<typeof dropOffLeadSchema>;

/** The wall's window choices; `custom` takes explicit from/to days. */
export const funnelPresets = ['today', '7d', '30d', 'custom'] as const;
export const funnelPresetSchema = z.enum(funnelPresets);
export type FunnelPreset = z.infer<typeof funnelPresetSchema>;
/** The wall's default view, the one pushed over the socket. */
export const DEFAULT_FUNNEL_PRESET: FunnelPreset = '7d';
/** A booking a month after the first message still counts as that enquiry converting. */
export const DEFAULT_CONVERSION_WINDOW_MS = 30 * 86_400_000;

const DAY_MS = 86_400_000;

/**
 * The query for a preset at `now`: today (since 00:00 UTC), the last 7 or 30 days, or `custom`
 * from the start of day `from` to the end of day `to` (UTC, "YYYY-MM-DD"). Undefined when a
 * custom range is missing or backwards.
 */
export function funnelQueryFor(
  preset: FunnelPreset,
  now: number,
  custom: { from?: string; to?: string } = {}
): FunnelQuery | undefined {
  const to = now + 1; // [from, to): include events at `now`
  const conversionWindowMs = DEFAULT_CONVERSION_WINDOW_MS;
  if (preset === 'today') return { from: Math.floor(now / DAY_MS) * DAY_MS, to, conversionWindowMs, asOf: now };
  if (preset === '7d') return { from: now - 7 * DAY_MS, to, conversionWindowMs, asOf: now };
  if (preset === '30d') return { from: now - 30 * DAY_MS, to, conversionWindowMs, asOf: now };
  const from = Date.parse(`${custom.from ?? ''}T00:00:00Z`);
  const end = Date.parse(`${custom.to ?? ''}T00:00:00Z`) + DAY_MS;
  const parsed = funnelQuerySchema.safeParse({ from, to: end, conversionWindowMs, asOf: now });
  return parsed.success ? parsed.data : undefined;
}

/** What the wall's funnel panel shows: the result and the window it was computed for. */
export const funnelViewSchema = z.object({
  preset: funnelPresetSchema,
  from: z.number(),
  to: z.number(),
  result: funnelResultSchema
});
export type FunnelView = z.infer<typeof funnelViewSchema>;
