import { z } from 'zod';
import { channelSchema } from './events';

/**
 * Drafted follow-ups (issue 7, item 5). A draft is made on request (OpenAI-compatible model when
 * configured, a template otherwise) and never leaves Pipewall until a person approves it; the
 * approval is a human event in the ledger, then delivered to the outbound webhook.
 */

/** Below this confidence a draft is flagged: read it closely before approving. */
export const LOW_CONFIDENCE = 0.6;

export const followUpDraftSchema = z.object({
  leadId: z.string(),
  channel: channelSchema,
  /** BCP 47 primary language subtag, e.g. "en", "es". */
  language: z.string().min(2).max(16),
  /** Only for email. */
  subject: z.string().max(200).optional(),
  text: z.string().min(1).max(2_000),
  /** 0..1: how much the draft can be trusted as is. */
  confidence: z.number().min(0).max(1),
  /** Why the confidence is what it is, in words ("no conversation yet to go on"). */
  caveats: z.array(z.string().max(200)).max(5),
  source: z.enum(['openai', 'template'])
});
export type FollowUpDraft = z.infer<typeof followUpDraftSchema>;

/** Ask for drafts for one or many leads (e.g. a query's result). */
export const draftRequestSchema = z.strictObject({
  leadIds: z.array(z.string().min(1).max(128)).min(1).max(50)
});

/** A person approves a draft, as edited. */
export const approveFollowUpSchema = z.strictObject({
  leadId: z.string().min(1).max(128),
  channel: channelSchema,
  language: z.string().min(2).max(16),
  subject: z.string().max(200).optional(),
  text: z.string().trim().min(1).max(2_000),
  /** The draft as proposed, so the ledger shows what the person changed. */
  draftText: z.string().max(2_000),
  confidence: z.number().min(0).max(1),
  source: z.enum(['openai', 'template'])
});
export type ApproveFollowUp = z.infer<typeof approveFollowUpSchema>;

/** What the outbound webhook receives (JSON POST), at least once per approval: dedupe on `approvalId`. */
export interface OutboundFollowUp {
  approvalId: string;
  orgId: string;
  leadId: string;
  channel: string;
  language: string;
  subject?: string;
  text: string;
  approvedBy: { userId: string; name: string };
  /** ISO-8601 */
  approvedAt: string;
}

/** Delivery state of an approval, as the timeline shows it. */
export type DeliveryState = 'sent' | 'pending' | 'not_configured' | 'failed';
