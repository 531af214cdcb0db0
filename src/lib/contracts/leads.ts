import { z } from 'zod';
import { exceptionEventTypes } from './exceptions';

/** A lead folded from its events, as lists and detail pages show it. */
export interface LeadSummary {
  leadId: string;
  /** Current stage ('' until the first stage_changed). */
  stage: string;
  /** Channel of the latest event that had one. */
  channel: string;
  /** User id of the current owner, '' when unassigned. */
  ownerId: string;
  intent: string;
  /** epoch milliseconds */
  lastActivityAt: number;
  lastType: string;
  events: number;
}

/** One event on a lead's timeline. */
export interface TimelineEntry {
  eventId: string;
  type: string;
  channel: string;
  stage: string;
  intent: string;
  actor: string;
  summary: string;
  text: string;
  value: number;
  currency: string;
  /** epoch milliseconds */
  occurredAt: number;
  /**
   * The row's flat `properties` (message direction, booking start, who a lead was assigned to,
   * what a correction replaced …): strings, numbers and booleans only; nested values and an
   * unreadable JSON give nothing rather than an error, since a timeline must still render.
   */
  properties: Record<string, string | number | boolean>;
}

/**
 * Human events about a lead (issue 7): inbox actions, notes, corrections of what the AI wrote and
 * approved follow-ups. A stage correction is not among them: it is a `stage_changed` row whose
 * actor is `human:<userId>` with `properties.correction = 'stage'`, so every read that folds
 * stages (current stage, funnel, exceptions, features) takes it without a special case.
 */
export const leadEventTypes = {
  assigned: 'lead_assigned',
  snoozed: 'lead_snoozed',
  reviewed: 'lead_reviewed',
  noteAdded: 'note_added',
  intentCorrected: 'intent_corrected',
  unmerged: 'leads_unmerged',
  followUpApproved: 'follow_up_approved',
  followUpSent: 'follow_up_sent',
  followUpFailed: 'follow_up_failed'
} as const;

/** `properties.correction` on a human row that corrects the AI: 'stage' | 'intent' | 'unmerge'. */
export const CORRECTION_PROPERTY = 'correction';

/** Human events: written by people in the app, never accepted from agents' API keys. */
export const humanEventTypes = [...Object.values(leadEventTypes), ...Object.values(exceptionEventTypes)] as const;

/**
 * Ledger events about the record rather than the customer: who owns a lead, who claimed an
 * alert, merges. They are history, but never "the last thing that happened" with a customer.
 */
export const bookkeepingEventTypes: readonly string[] = [...humanEventTypes, 'leads_merged'];

export const assignLeadSchema = z.object({ ownerId: z.string().min(1).max(128) });
