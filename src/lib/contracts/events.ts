import { z } from 'zod';

/**
 * The events AI agents send to Pipewall. One schema, shared by the ingest endpoint (which
 * validates with it), the app (which reads ledger rows back into these shapes) and ml/.
 * Field names are camelCase on the wire; ClickHouse columns are snake_case inside db/queries.
 */

export const channels = ['whatsapp', 'messenger', 'webchat', 'phone', 'email', 'sms'] as const;
export const channelSchema = z.enum(channels);
/** A channel's name inside a sentence ("came through web chat"), for reasons, chips and prose. */
export const channelWords: Readonly<Record<(typeof channels)[number], string>> = {
  whatsapp: 'WhatsApp',
  messenger: 'Messenger',
  webchat: 'web chat',
  phone: 'phone',
  email: 'email',
  sms: 'SMS'
};
export type Channel = z.infer<typeof channelSchema>;

/** The funnel, in order. `lost` is terminal and sits beside `won`, not after it. */
export const stages = ['enquired', 'qualified', 'booked', 'attended', 'won', 'lost'] as const;
export const stageSchema = z.enum(stages);
export type Stage = z.infer<typeof stageSchema>;

export const eventTypes = [
  'conversation_started',
  'message',
  'lead_qualified',
  'stage_changed',
  'booking_created',
  'booking_cancelled',
  'attendance_recorded',
  'deal_won',
  'deal_lost',
  'contact_enriched'
] as const;
export type EventType = (typeof eventTypes)[number];

// Ids come from agents; keep them printable and bounded so they are safe in logs and keys.
const idSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9._:@-]+$/, 'use letters, digits and . _ : @ - only');

/** The ledger stores epoch milliseconds as UInt64, and the app's dates stay in 1970..2099. */
const EARLIEST_MS = 0;
const LATEST_MS = Date.UTC(2100, 0, 1);

/**
 * ISO-8601 with an explicit zone (Z or ±hh:mm); a zone-less time is ambiguous. Bounded to
 * 1970..2099: before 1970 cannot be stored, and such dates are clock errors, not history.
 */
const instantSchema = z.iso.datetime({ offset: true }).refine((v) => {
  const ms = Date.parse(v);
  return ms >= EARLIEST_MS && ms < LATEST_MS;
}, 'must be between 1970-01-01 and 2099-12-31');

/** ISO 4217 code, upper case. */
const currencySchema = z.string().regex(/^[A-Z]{3}$/, 'use a 3-letter ISO 4217 code such as EUR');

/** Money with at most two decimals, as the ledger stores Decimal(18,2). */
const moneySchema = z
  .number()
  .nonnegative()
  .max(1e15)
  .refine((v) => Math.abs(Math.round(v * 100) - v * 100) < 1e-6, 'at most two decimals');

const base = {
  /** Client-chosen idempotency id: a retry of the same event carries the same id. */
  eventId: idSchema,
  leadId: idSchema,
  contactId: idSchema.optional(),
  /** When it happened, by the agent's clock. Late and out-of-order delivery is expected. */
  occurredAt: instantSchema,
  agentId: idSchema.optional(),
  channel: channelSchema.optional(),
  /** The agent's one-line summary of what happened. */
  summary: z.string().max(500).optional()
};

export const conversationStartedSchema = z.strictObject({
  ...base,
  type: z.literal('conversation_started'),
  channel: channelSchema,
  source: z.string().max(200).optional()
});

export const messageSchema = z.strictObject({
  ...base,
  type: z.literal('message'),
  channel: channelSchema,
  /** inbound: the customer spoke; outbound: the agent (or a human) answered. */
  direction: z.enum(['inbound', 'outbound']),
  text: z.string().max(10_000)
});

export const leadQualifiedSchema = z.strictObject({
  ...base,
  type: z.literal('lead_qualified'),
  intent: z.string().min(1).max(200),
  /** The agent's confidence in the intent, 0..1. */
  confidence: z.number().min(0).max(1)
});

export const stageChangedSchema = z.strictObject({
  ...base,
  type: z.literal('stage_changed'),
  stage: stageSchema
});

export const bookingCreatedSchema = z.strictObject({
  ...base,
  type: z.literal('booking_created'),
  bookingId: idSchema,
  startsAt: instantSchema
});

export const bookingCancelledSchema = z.strictObject({
  ...base,
  type: z.literal('booking_cancelled'),
  bookingId: idSchema,
  reason: z.string().max(500).optional()
});

export const attendanceRecordedSchema = z.strictObject({
  ...base,
  type: z.literal('attendance_recorded'),
  bookingId: idSchema,
  attended: z.boolean()
});

export const dealWonSchema = z.strictObject({
  ...base,
  type: z.literal('deal_won'),
  value: moneySchema,
  currency: currencySchema
});

export const dealLostSchema = z.strictObject({
  ...base,
  type: z.literal('deal_lost'),
  reason: z.string().min(1).max(500),
  value: moneySchema.optional(),
  currency: currencySchema.optional()
});

export const contactEnrichedSchema = z.strictObject({
  ...base,
  type: z.literal('contact_enriched'),
  name: z.string().max(200).optional(),
  email: z.string().max(320).optional(),
  phone: z.string().max(40).optional(),
  company: z.string().max(200).optional(),
  language: z.string().max(16).optional()
});

export const agentEventSchema = z.discriminatedUnion('type', [
  conversationStartedSchema,
  messageSchema,
  leadQualifiedSchema,
  stageChangedSchema,
  bookingCreatedSchema,
  bookingCancelledSchema,
  attendanceRecordedSchema,
  dealWonSchema,
  dealLostSchema,
  contactEnrichedSchema
]);
export type AgentEvent = z.infer<typeof agentEventSchema>;

/** Who caused an event: the AI agent, the customer (inbound message) or a person in the app. */
export type Actor = 'agent' | 'customer' | `human:${string}`;

/** The ledger row as the app reads it back (ticker, timelines). */
export const ledgerEventSchema = z.object({
  eventId: z.string(),
  orgId: z.string(),
  leadId: z.string(),
  contactId: z.string(),
  type: z.string(),
  channel: z.string(),
  stage: z.string(),
  intent: z.string(),
  actor: z.string(),
  agentId: z.string(),
  value: z.number(),
  currency: z.string(),
  summary: z.string(),
  /** epoch milliseconds */
  occurredAt: z.number(),
  /** epoch milliseconds, set by the server when the event was accepted */
  receivedAt: z.number(),
  properties: z.record(z.string(), z.unknown())
});
export type LedgerEvent = z.infer<typeof ledgerEventSchema>;
