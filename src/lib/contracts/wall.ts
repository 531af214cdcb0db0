import { z } from 'zod';
import { stages } from './events';
import { atRiskDealSchema, exceptionSchema } from './exceptions';
import { funnelViewSchema } from './funnel';

export const stageCountsSchema = z.object({
  enquired: z.number(),
  qualified: z.number(),
  booked: z.number(),
  attended: z.number(),
  won: z.number(),
  lost: z.number()
}) satisfies z.ZodType<Record<(typeof stages)[number], number>>;
/** Leads whose current stage is each stage (not cumulative). */
export type StageCounts = z.infer<typeof stageCountsSchema>;

export const tickerItemSchema = z.object({
  eventId: z.string(),
  leadId: z.string(),
  type: z.string(),
  channel: z.string(),
  stage: z.string(),
  /** 'customer' for an inbound message, 'agent' for the AI, 'human:<userId>' for a person. */
  actor: z.string(),
  /** Deal value for deal_won / deal_lost, else 0. */
  value: z.number(),
  currency: z.string(),
  summary: z.string(),
  /** epoch milliseconds */
  occurredAt: z.number(),
  /** epoch milliseconds */
  receivedAt: z.number()
});
export type TickerItem = z.infer<typeof tickerItemSchema>;

export const wallKpisSchema = z.object({
  /** Leads whose first event happened in the last hour. */
  newLeadsLastHour: z.number(),
  /** Leads first seen in the KPI window (the last `windowMs`). */
  leadsInWindow: z.number(),
  /** Of those, the share that reached qualified or beyond (0..1; 0 when there are none). */
  qualificationRate: z.number(),
  /** Of those, the share that reached booked or beyond. */
  bookingRate: z.number(),
  /** Won deal value since 00:00 UTC, per currency, largest first. */
  wonToday: z.array(z.object({ currency: z.string(), value: z.number(), deals: z.number() })),
  windowMs: z.number(),
  /** Arrivals per minute over the last hour, oldest first, for the live-rate sparklines. */
  activity: z.object({
    /** Start of the first bucket, epoch ms. */
    from: z.number(),
    bucketMs: z.number(),
    /** Events received per bucket (each event once). */
    events: z.array(z.number()),
    /** Of those, customer messages (the demand the agents answer). */
    inbound: z.array(z.number()),
    /** Events, and customer messages, received in the 60 s up to now (the tile's figure). */
    lastMinute: z.object({ events: z.number(), inbound: z.number() })
  })
});
export type WallKpis = z.infer<typeof wallKpisSchema>;

export const wallSnapshotSchema = z.object({
  stageCounts: stageCountsSchema,
  /** Newest first. */
  ticker: z.array(tickerItemSchema),
  kpis: wallKpisSchema,
  /** The funnel for the default window (DEFAULT_FUNNEL_PRESET); other windows are fetched. */
  funnel: funnelViewSchema,
  /** Open exceptions (snoozed ones left out), oldest first. */
  exceptions: z.array(exceptionSchema),
  /** Open deals ranked by risk × value. */
  atRisk: z.array(atRiskDealSchema),
  /** epoch milliseconds when the server built it */
  at: z.number()
});
export type WallSnapshot = z.infer<typeof wallSnapshotSchema>;

/** What changed in an organisation's exceptions since the last push (ids are stable). */
export const exceptionsDeltaSchema = z.object({
  raised: z.array(exceptionSchema),
  /** Ids that stopped being true, or were snoozed. */
  cleared: z.array(z.string()),
  changed: z.array(exceptionSchema)
});
export type ExceptionsDelta = z.infer<typeof exceptionsDeltaSchema>;
