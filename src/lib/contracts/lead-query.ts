import { z } from 'zod';
import { channelSchema, stageSchema } from './events';
import { exceptionKindSchema } from './exceptions';

/**
 * A question about leads as a structured filter (issue 7, item 4). The query bar's local parser
 * and the OpenAI tool call both produce this shape; the server validates it like any other input
 * and turns it into SQL through the `sql` template, so neither a person's words nor a model's
 * output ever becomes SQL text. Every field is optional; an empty filter means "the inbox as is".
 */

/** Score bands over the model's P(won): high ≥ 0.6, medium 0.3–0.6, low < 0.3. */
export const scoreBands = ['high', 'medium', 'low'] as const;
export const scoreBandSchema = z.enum(scoreBands);
export type ScoreBand = z.infer<typeof scoreBandSchema>;
export const SCORE_BAND_EDGES = { low: 0.3, high: 0.6 } as const;

export function scoreBandOf(pWon: number): ScoreBand {
  return pWon >= SCORE_BAND_EDGES.high ? 'high' : pWon >= SCORE_BAND_EDGES.low ? 'medium' : 'low';
}

/** A calendar day, YYYY-MM-DD (UTC). */
const daySchema = z.iso.date();
const money = z.number().nonnegative().max(1e15);
const days = z.int().min(1).max(3650);

/** Whose leads: the asker's, nobody's yet, or a named person of the organisation (matched server-side). */
export const ownerFilterSchema = z.union([
  z.strictObject({ kind: z.literal('me') }),
  z.strictObject({ kind: z.literal('unassigned') }),
  z.strictObject({ kind: z.literal('named'), name: z.string().trim().min(1).max(100) })
]);
export type OwnerFilter = z.infer<typeof ownerFilterSchema>;

export const leadFilterSchema = z
  .strictObject({
    /** Deal value at least / at most, in the organisation's currency (the lead's own value, else the typical value of its intent). */
    minValue: money.optional(),
    maxValue: money.optional(),
    /** No activity by the customer or the agent for at least this many days (people's bookkeeping does not count). */
    inactiveDays: days.optional(),
    /** Some activity within the last this many days. */
    activeWithinDays: days.optional(),
    stages: z.array(stageSchema).min(1).max(6).optional(),
    channels: z.array(channelSchema).min(1).max(6).optional(),
    owner: ownerFilterSchema.optional(),
    scoreBands: z.array(scoreBandSchema).min(1).max(3).optional(),
    exceptionKinds: z.array(exceptionKindSchema).min(1).max(5).optional(),
    /** Intent contains this text (case-insensitive), e.g. "implant". */
    intent: z.string().trim().min(1).max(100).optional(),
    /** First contact on or after / on or before this day. */
    createdFrom: daySchema.optional(),
    createdTo: daySchema.optional()
  })
  .refine((f) => f.minValue === undefined || f.maxValue === undefined || f.minValue <= f.maxValue, {
    message: 'the smallest value is above the largest',
    path: ['maxValue']
  })
  .refine((f) => f.createdFrom === undefined || f.createdTo === undefined || f.createdFrom <= f.createdTo, {
    message: 'the first day is after the last',
    path: ['createdTo']
  });
export type LeadFilter = z.infer<typeof leadFilterSchema>;

/** What the asker wants done with the leads found. */
export const queryActions = ['list', 'draft_follow_ups'] as const;

export const leadQuerySchema = z.strictObject({
  filter: leadFilterSchema,
  action: z.enum(queryActions)
});
export type LeadQuery = z.infer<typeof leadQuerySchema>;

/**
 * A sentence turned into a query, or refused with a message the person can act on. `source` says
 * who understood it: the local parser, or the configured OpenAI-compatible model.
 */
export type ParsedQuery =
  | { ok: true; query: LeadQuery; source: 'local' | 'openai'; /** Words the parser skipped, shown so nothing is silently ignored. */ ignored: string[] }
  | {
      ok: false;
      message: string;
      /** Refused on purpose (a request to change data, SQL): no model is asked to try again. */
      unsafe?: boolean;
    };

/** The ask endpoint's body. */
export const askRequestSchema = z.strictObject({ text: z.string().trim().min(1).max(500) });
