import { z } from 'zod';
import { stageSchema } from './events';
import { exceptionKindSchema } from './exceptions';
import { leadFilterSchema } from './lead-query';

/**
 * The rep's inbox (issue 7, item 1): leads that need a person, ranked by risk × value, each with
 * what a reviewer needs to decide without opening it. Built by src/lib/server/inbox.ts, read by
 * /inbox and GET /api/v1/inbox.
 */

export const inboxReasonSchema = z.object({ text: z.string(), direction: z.enum(['up', 'down']) });

export const inboxItemSchema = z.object({
  leadId: z.string(),
  /** The contact's name when an agent enriched it, else ''. */
  name: z.string(),
  stage: z.string(),
  /** Channel of the latest conversation. */
  channel: z.string(),
  ownerId: z.string(),
  ownerName: z.string(),
  intent: z.string(),
  /** The AI's one-line summary of what the customer wants (latest qualification's, else the latest agent summary). */
  summary: z.string(),
  /** epoch ms of the latest customer or agent event (people's bookkeeping does not count). */
  lastActivityAt: z.number(),
  lastActivityType: z.string(),
  /** epoch ms of the first event. */
  createdAt: z.number(),
  /** P(won) from the latest score, with the change from the score before it; null when unscored. */
  score: z
    .object({ pWon: z.number(), trend: z.number().nullable(), reasons: z.array(inboxReasonSchema).max(3) })
    .nullable(),
  exceptions: z.array(z.object({ id: z.string(), kind: exceptionKindSchema, words: z.string() })),
  value: z.number(),
  currency: z.string(),
  valueSource: z.enum(['lead', 'intent', 'default']),
  /** 0..1: the model's P(lost), else the exceptions' judgement, else a small base risk. */
  risk: z.number(),
  /** risk × value: the ranking key. */
  exposure: z.number(),
  /** Why it is in the inbox, in one phrase ("Silent 3 days after qualification"). */
  why: z.string(),
  /** epoch ms; set while a snooze lasts (only listed when the filter asks for snoozed items). */
  snoozedUntil: z.number().nullable(),
  /** epoch ms of the last "mark reviewed", if no activity came after it. */
  reviewedAt: z.number().nullable()
});
export type InboxItem = z.infer<typeof inboxItemSchema>;

export const inboxViews = ['queue', 'mine', 'shared', 'all'] as const;

/** What the inbox is asked for: a view and a filter. */
export const inboxRequestSchema = z.strictObject({
  /** queue: mine + unclaimed; mine: owned by the asker; shared: unclaimed; all: managers only. */
  view: z.enum(inboxViews).default('queue'),
  filter: leadFilterSchema.default({}),
  /** Also list snoozed and reviewed items (for a query such as "everything silent"). */
  includeHidden: z.boolean().default(false)
});
export type InboxRequest = z.infer<typeof inboxRequestSchema>;

export interface InboxResponse {
  items: InboxItem[];
  /** Items that matched before the list was cut to its length. */
  matched: number;
  /** epoch ms */
  asOf: number;
  /** Something the asker should know about how the question was read ("No one called Bob"). */
  notice?: string;
}

/** What a person can do to a lead from the inbox. `until` is epoch ms. */
export const leadActionSchema = z.discriminatedUnion('action', [
  z.strictObject({ action: z.literal('claim') }),
  z.strictObject({ action: z.literal('unclaim') }),
  z.strictObject({ action: z.literal('snooze'), until: z.int().min(0).max(Date.UTC(2100, 0, 1)) }),
  z.strictObject({ action: z.literal('review') })
]);
export type LeadAction = z.infer<typeof leadActionSchema>;

/** A reviewer's correction of what the AI wrote. */
export const leadCorrectionSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('stage'), stage: stageSchema }),
  z.strictObject({ kind: z.literal('intent'), intent: z.string().trim().min(1).max(200) }),
  /** Undo a wrong merge: `mergedLeadId` was folded into this lead and should stand on its own. */
  z.strictObject({ kind: z.literal('unmerge'), mergedLeadId: z.string().min(1).max(128) })
]);
export type LeadCorrection = z.infer<typeof leadCorrectionSchema>;

export const leadNoteSchema = z.strictObject({ text: z.string().trim().min(1).max(2_000) });
