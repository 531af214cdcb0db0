import type { DeliveryState } from './follow-ups';

/**
 * A lead's history as a reviewer reads it (issue 7, item 2): the ledger rows of a lead folded
 * into sections in time order: conversations per channel with the AI's reading of what the
 * customer wants, stage and intent changes (the AI's, or a person's correction), bookings, the
 * outcome, notes, people's actions, approved follow-ups and merges. Built from `TimelineEntry`
 * rows by src/lib/server/lead-timeline.ts; every time is epoch milliseconds.
 */

/** Who did something, with the name a reviewer reads. */
export interface TimelineAuthor {
  kind: 'agent' | 'customer' | 'person' | 'system';
  /** "AI agent", "Customer", "System", the person's name, or "a former user" for an id no longer known. */
  name: string;
}

export interface TimelineMessage {
  eventId: string;
  at: number;
  /** inbound: the customer wrote; outbound: the agent (or a person) answered. */
  direction: 'inbound' | 'outbound';
  by: TimelineAuthor;
  text: string;
}

interface Section {
  /** The event id of the section's first event: stable across reloads, a key for lists. */
  id: string;
  /** When it happened; a conversation's start. */
  at: number;
}

/** Consecutive messages on one channel, each less than 12 hours after the one before. */
export interface ConversationSection extends Section {
  kind: 'conversation';
  channel: string;
  /** Where the customer came from, as the agent's conversation_started said ('' when unknown). */
  source: string;
  /** The last message's time. */
  endAt: number;
  messages: TimelineMessage[];
  /**
   * What the customer wants in this conversation: the AI's summary (a qualification inside or
   * just after it, else its summary of a customer's message), else the customer's first words
   * shortened; null when none exists.
   */
  gist: { text: string; source: 'ai' | 'customer'; /** the event it was taken from */ eventId: string } | null;
}

export interface StageSection extends Section {
  kind: 'stage';
  /** '' for the first stage. */
  from: string;
  to: string;
  by: TimelineAuthor;
  /** A person corrected the stage the AI had set. */
  corrected: boolean;
}

export interface IntentSection extends Section {
  kind: 'intent';
  intent: string;
  /** The intent it replaced ('' when none or unknown). */
  from: string;
  /** The AI's confidence 0..1; null for a person's correction. */
  confidence: number | null;
  by: TimelineAuthor;
  corrected: boolean;
}

export interface BookingSection extends Section {
  kind: 'booking';
  change: 'created' | 'cancelled' | 'attended' | 'no_show';
  bookingId: string;
  /** The appointment's start, for a created booking; else null. */
  startsAt: number | null;
  /** Why a booking was cancelled ('' otherwise). */
  reason: string;
  by: TimelineAuthor;
}

export interface OutcomeSection extends Section {
  kind: 'outcome';
  outcome: 'won' | 'lost';
  /** 0 when no value was sent. */
  value: number;
  currency: string;
  /** Why it was lost ('' for won). */
  reason: string;
  by: TimelineAuthor;
}

export interface NoteSection extends Section {
  kind: 'note';
  by: TimelineAuthor;
  text: string;
}

export const humanActions = [
  'claimed',
  'released',
  'assigned',
  'snoozed',
  'reviewed',
  'exception_acknowledged',
  'exception_snoozed',
  'exception_claimed',
  'exception_released'
] as const;
export type HumanAction = (typeof humanActions)[number];

/** Something a person did to the lead's record (not to the customer). */
export interface HumanSection extends Section {
  kind: 'human';
  action: HumanAction;
  by: TimelineAuthor;
  /** For 'assigned': the new owner's name ("a former user" when unknown). */
  ownerName: string;
  /** For the snoozes: until when, and whether that is still ahead. */
  until: number | null;
  isActive: boolean;
}

export interface FollowUpSection extends Section {
  kind: 'follow_up';
  approvalId: string;
  /** Who approved it. */
  by: TimelineAuthor;
  channel: string;
  subject: string;
  /** The text as approved. */
  text: string;
  /** The person changed the AI's draft before approving it. */
  edited: boolean;
  delivery: DeliveryState;
  /** When it was sent or failed, if known. */
  deliveredAt: number | null;
  /** Why delivery failed, when the failure said ('' otherwise). */
  deliveryDetail: string;
}

/** Another lead was folded into this one: the same customer, recognised by `signal`. */
export interface MergeSection extends Section {
  kind: 'merge';
  mergedLeadId: string;
  /** What matched ("phone", "email"), '' when not said. */
  signal: string;
  by: TimelineAuthor;
}

/** A person split a wrongly merged lead off again. */
export interface UnmergeSection extends Section {
  kind: 'unmerge';
  mergedLeadId: string;
  by: TimelineAuthor;
}

export interface ContactSection extends Section {
  kind: 'contact';
  name: string;
  email: string;
  phone: string;
  company: string;
  by: TimelineAuthor;
}

/** A ledger row of a type this view does not know: shown with its summary, never dropped. */
export interface OtherSection extends Section {
  kind: 'other';
  type: string;
  summary: string;
  by: TimelineAuthor;
}

export type TimelineSection =
  | ConversationSection
  | StageSection
  | IntentSection
  | BookingSection
  | OutcomeSection
  | NoteSection
  | HumanSection
  | FollowUpSection
  | MergeSection
  | UnmergeSection
  | ContactSection
  | OtherSection;

/** One step of the compact stage strip. */
export interface StageStep {
  stage: string;
  at: number;
  /** The name of who set it ("AI agent", a person's name). */
  by: string;
  corrected: boolean;
}

export interface TimelineView {
  /** Oldest first. */
  sections: TimelineSection[];
  stageHistory: StageStep[];
  /** The contact as agents enriched it (latest value of each field), '' where unknown. */
  contact: { name: string; email: string; phone: string; company: string };
  /** Messages across all conversations. */
  messageCount: number;
}
