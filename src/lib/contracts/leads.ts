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
}

/** Human events: written by people in the app, never accepted from agents' API keys. */
export const humanEventTypes = ['lead_assigned', ...Object.values(exceptionEventTypes)] as const;

/**
 * Ledger events about the record rather than the customer: who owns a lead, who claimed an
 * alert, merges. They are history, but never "the last thing that happened" with a customer.
 */
export const bookkeepingEventTypes: readonly string[] = [...humanEventTypes, 'leads_merged'];

export const assignLeadSchema = z.object({ ownerId: z.string().min(1).max(128) });
