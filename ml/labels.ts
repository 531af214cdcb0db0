import type { LedgerEvent } from '../src/lib/contracts/events';
import { leadEventTypes } from '../src/lib/contracts/leads';

/**
 * The training label (issue 6, corrected by people since issue 7): how a lead ended, and when.
 *
 * A person's word beats the agent's. Reviewers correct a lead's stage with a `stage_changed` row
 * whose actor is `human:<userId>` (src/lib/contracts/leads.ts), written when they corrected it.
 * The rule, over the lead's events with copies of one id counted once:
 *
 * 1. If the latest stage change by a person is to won or lost, that is the outcome, at the time
 *    of the correction. A later outcome from an agent does not overturn it: a person's correction
 *    stands until another person changes it. Reviewers correct what the agent got wrong; if the
 *    agent could undo that silently (a retried or re-synced deal_won, an agent still acting on
 *    its own mistaken belief), corrections would not stick and the model would learn the label the
 *    reviewer rejected. If the customer really does come back, a person reopens or re-closes it.
 * 2. Otherwise, if a person's latest stage change is to an open stage, any outcome the agent gave
 *    up to then is retracted (the person reopened the lead, or moved it along before it closed):
 *    the label is the first agent outcome strictly after that correction, and the lead is open
 *    (no label) if there is none. At the same millisecond the person's reopening wins.
 * 3. With no stage change by a person, the label is the lead's first outcome, as before issue 7.
 *
 * Among outcomes at the same millisecond a deal event beats a stage change (it is the more
 * specific record), then the event id decides, so arrival order never does.
 *
 * src/lib/server/db/queries/models.ts (leadLabels) computes the same rule in SQL for counting.
 */

/** Outcome rows: deal events and stage changes to won/lost, whoever wrote them. */
export const isOutcome = (e: LedgerEvent): boolean =>
  e.type === 'deal_won' || e.type === 'deal_lost' || (e.type === 'stage_changed' && (e.stage === 'won' || e.stage === 'lost'));

/** Written by a person in the app (agents' rows say 'agent', 'customer' or 'system'). */
export const isByPerson = (e: LedgerEvent): boolean => e.actor.startsWith('human:');

/**
 * A person's stage correction. Any stage change by a person counts, with or without the
 * `correction: 'stage'` property: the app writes stage changes by people only as corrections, and
 * a person's word on the stage is what the label rule needs either way.
 */
export const isStageCorrection = (e: LedgerEvent): boolean => e.type === 'stage_changed' && isByPerson(e);

/** A person corrected what the AI wrote: the stage, the intent, or a merge (issue 7). */
export const isHumanCorrection = (e: LedgerEvent): boolean =>
  isStageCorrection(e) || e.type === leadEventTypes.intentCorrected || e.type === leadEventTypes.unmerged;

/** Ledger order: occurredAt, then event id, so ties never depend on delivery. */
export const compareEvents = (a: LedgerEvent, b: LedgerEvent): number =>
  a.occurredAt - b.occurredAt || (a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0);

/**
 * Which copy of a duplicated id to keep, independent of arrival order. Real copies are identical;
 * if they are not, the earliest wins, then a content comparison so the choice is still stable.
 */
export function preferCopy(a: LedgerEvent, b: LedgerEvent): LedgerEvent {
  if (a.occurredAt !== b.occurredAt) return a.occurredAt < b.occurredAt ? a : b;
  if (a.receivedAt !== b.receivedAt) return a.receivedAt < b.receivedAt ? a : b;
  return JSON.stringify(a) <= JSON.stringify(b) ? a : b;
}

/** The events that pass `keep`, one copy per id (preferCopy), in ledger order. */
export function uniqueEvents(events: readonly LedgerEvent[], keep: (e: LedgerEvent) => boolean): LedgerEvent[] {
  const byId = new Map<string, LedgerEvent>();
  for (const e of events) {
    if (!keep(e)) continue;
    const seen = byId.get(e.eventId);
    byId.set(e.eventId, seen ? preferCopy(seen, e) : e);
  }
  return [...byId.values()].sort(compareEvents);
}

/** A lead's outcome: won (1) or lost (0), when (epoch ms), and the event it comes from. */
export interface LeadOutcome {
  label: 0 | 1;
  at: number;
  eventId: string;
}

const isWon = (e: LedgerEvent): boolean => e.type === 'deal_won' || (e.type === 'stage_changed' && e.stage === 'won');
const outcomeOf = (e: LedgerEvent): LeadOutcome => ({ label: isWon(e) ? 1 : 0, at: e.occurredAt, eventId: e.eventId });

/** The label by the rule above; undefined while the lead is open (or reopened by a person). */
export function leadOutcome(events: readonly LedgerEvent[]): LeadOutcome | undefined {
  const relevant = uniqueEvents(events, (e) => isOutcome(e) || isStageCorrection(e));
  const person = relevant.findLast(isStageCorrection);
  if (person && isOutcome(person)) return outcomeOf(person);

  const rank = (e: LedgerEvent) => (e.type === 'stage_changed' ? 1 : 0);
  let first: LedgerEvent | undefined;
  for (const e of relevant) {
    if (isStageCorrection(e) || (person && e.occurredAt <= person.occurredAt)) continue;
    // In ledger order, so only a later time or a deal event at the same millisecond can beat it.
    if (!first || (e.occurredAt === first.occurredAt && rank(e) < rank(first))) first = e;
  }
  return first && outcomeOf(first);
}
