import type { LedgerEvent } from '../src/lib/contracts/events';
import { humanEventTypes, leadEventTypes } from '../src/lib/contracts/leads';
import type { FeatureEvidence, RawFeatures } from '../src/lib/contracts/model';
import { isByPerson, isHumanCorrection, isOutcome, isStageCorrection, uniqueEvents } from './labels';

// The label lives in labels.ts (issue 7 made it a rule of its own); re-exported for existing callers.
export { leadOutcome, type LeadOutcome } from './labels';

/**
 * A lead's features at a moment (issue 6), from its ledger events alone, so the same function
 * serves training (features at sampled past cutoffs) and live scoring (features now).
 *
 * What "as of the cutoff" means: only events with occurredAt < cutoffMs count; receivedAt is
 * ignored. A live scorer would not yet have seen an event that occurred before the cutoff but
 * arrived after it, so this is slightly optimistic for late deliveries; but filtering on
 * receivedAt would make backfilled history useless (a replayed or imported month has receivedAt
 * = import time, so every past cutoff would see an empty lead), and the rest of the app reads the
 * ledger "as of occurred_at" too (exception-sql.ts). Events at exactly the cutoff are excluded,
 * so a cutoff at the outcome's own millisecond never sees the outcome.
 *
 * Outcomes are the label (labels.ts), never a feature: deal_won, deal_lost and stage changes to
 * won/lost, a person's correction to won/lost included, are dropped before anything is computed
 * (a reopened lead is scored as if still open), so `correctedByHuman` never sees the label.
 * People's other corrections (issue 7) count: a stage correction as a stage change (not as the
 * agent qualifying), an intent correction as the intent, any of them in `correctedByHuman`.
 *
 * Copies of one eventId (at-least-once delivery) count once, and arrival order does not matter:
 * events are ordered by (occurredAt, eventId), so ties are broken by id, not by delivery.
 */

const HOUR = 3_600_000;

/** Funnel positions a lead can reach while open; won/lost are outcomes (the label). */
const openStages = ['enquired', 'qualified', 'booked', 'attended'] as const;
const stageOrdinal = (stage: string): number => openStages.indexOf(stage as (typeof openStages)[number]) + 1;

export const numericFeatureNames = [
  'stageReached',
  'hoursInStage',
  'leadAgeHours',
  'hoursSinceLastActivity',
  'hoursSinceLastInbound',
  'hoursSilentAfterQualification',
  'messagesIn',
  'messagesOut',
  'hasAgentReply',
  'responseHoursMedian',
  'responseHoursLast',
  'customerSpokeLast',
  'messagesSinceInbound',
  'confidence',
  'bookingsCreated',
  'bookingsCancelled',
  'noShows',
  'attendedVisits',
  'hasEmail',
  'hasPhone',
  'hasCompany',
  'hasName',
  'dealValue',
  'humanActions',
  'claimedByHuman',
  'correctedByHuman'
] as const;
export const categoricalFeatureNames = [
  'channel',
  'source',
  'intent',
  'currentStage',
  'agentId',
  'firstContactDaypart',
  'firstContactWeekday'
] as const;
export type NumericFeature = (typeof numericFeatureNames)[number];
export type CategoricalFeature = (typeof categoricalFeatureNames)[number];
export type FeatureName = NumericFeature | CategoricalFeature;

/**
 * How each numeric value is stored, so explain.ts can turn it back into words. Durations and
 * counts are log1p'd: the difference between 1 and 10 hours matters, between 100 and 109 not,
 * and a week-long silence should not dominate a linear model.
 */
export type FeatureUnit = 'log1pHours' | 'log1pCount' | 'count' | 'flag' | 'probability' | 'stage' | 'log1pMoney';
export const featureUnits: Record<NumericFeature, FeatureUnit> = {
  stageReached: 'stage',
  hoursInStage: 'log1pHours',
  leadAgeHours: 'log1pHours',
  hoursSinceLastActivity: 'log1pHours',
  hoursSinceLastInbound: 'log1pHours',
  hoursSilentAfterQualification: 'log1pHours',
  messagesIn: 'log1pCount',
  messagesOut: 'log1pCount',
  hasAgentReply: 'flag',
  responseHoursMedian: 'log1pHours',
  responseHoursLast: 'log1pHours',
  customerSpokeLast: 'flag',
  messagesSinceInbound: 'count',
  confidence: 'probability',
  bookingsCreated: 'count',
  bookingsCancelled: 'count',
  noShows: 'count',
  attendedVisits: 'count',
  hasEmail: 'flag',
  hasPhone: 'flag',
  hasCompany: 'flag',
  hasName: 'flag',
  dealValue: 'log1pMoney',
  humanActions: 'log1pCount',
  claimedByHuman: 'flag',
  correctedByHuman: 'flag'
};

/** Names a rep reads (model page, reasons). */
export const featureLabels: Record<FeatureName, string> = {
  stageReached: 'Furthest stage reached',
  hoursInStage: 'Time in current stage',
  leadAgeHours: 'Time since first contact',
  hoursSinceLastActivity: 'Time since last activity',
  hoursSinceLastInbound: 'Time since the customer last wrote',
  hoursSilentAfterQualification: 'Silence after qualification',
  messagesIn: 'Messages from the customer',
  messagesOut: 'Messages from the agent',
  hasAgentReply: 'Agent has answered',
  responseHoursMedian: "Agent's usual response time",
  responseHoursLast: "Agent's last response time",
  customerSpokeLast: 'Customer spoke last',
  messagesSinceInbound: 'Agent messages since the customer last wrote',
  confidence: 'Intent confidence',
  bookingsCreated: 'Bookings made',
  bookingsCancelled: 'Bookings cancelled',
  noShows: 'No-shows',
  attendedVisits: 'Visits attended',
  hasEmail: 'Email known',
  hasPhone: 'Phone known',
  hasCompany: 'Company known',
  hasName: 'Name known',
  dealValue: 'Deal value',
  humanActions: 'Actions by people',
  claimedByHuman: 'Claimed or assigned by a person',
  correctedByHuman: 'Corrected by a person',
  channel: 'Channel',
  source: 'Source',
  intent: 'Intent',
  currentStage: 'Current stage',
  agentId: 'Agent',
  firstContactDaypart: 'Time of day of first contact',
  firstContactWeekday: 'Day of week of first contact'
};

/** Bookkeeping by people; history, but not the customer's or agent's activity. */
const humanTypes: ReadonlySet<string> = new Set(humanEventTypes);
const isHuman = (e: LedgerEvent): boolean => isByPerson(e) || humanTypes.has(e.type);
const isBookkeeping = (e: LedgerEvent): boolean => isHuman(e) || e.type === 'leads_merged' || e.actor === 'system';

/** The events visible at the cutoff: before it, no outcomes, one copy per id, in time order. */
export function visibleEvents(events: readonly LedgerEvent[], cutoffMs: number): LedgerEvent[] {
  return uniqueEvents(events, (e) => e.occurredAt < cutoffMs && !isOutcome(e));
}

const hoursFeature = (ms: number): number => Math.log1p(Math.max(0, ms) / HOUR);
const prop = (e: LedgerEvent, key: string): unknown => e.properties[key];
const nonEmpty = (v: unknown): boolean => typeof v === 'string' && v.trim() !== '';

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const weekdays = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
/** Coarse on purpose: four parts of the day generalise; 24 one-hot hours would mostly fit noise. */
function daypart(hour: number): string {
  if (hour < 6) return 'night';
  if (hour < 12) return 'morning';
  if (hour < 18) return 'afternoon';
  return 'evening';
}

/** Categories for "nothing known yet", so every row carries every feature. */
export const NONE = 'none';

/**
 * Features of one lead as of `cutoffMs` (epoch ms, exclusive) and, per feature, the event that
 * set it. Every name in numericFeatureNames / categoricalFeatureNames is always present.
 * Times are UTC: the organisation's timezone is not known to the server yet.
 */
export function leadFeatures(events: readonly LedgerEvent[], cutoffMs: number): { features: RawFeatures; evidence: FeatureEvidence } {
  const seen = visibleEvents(events, cutoffMs);
  const numeric = Object.fromEntries(numericFeatureNames.map((n) => [n, 0])) as Record<NumericFeature, number>;
  const categorical = Object.fromEntries(categoricalFeatureNames.map((n) => [n, NONE])) as Record<CategoricalFeature, string>;
  const evidence: FeatureEvidence = {};
  const note = (name: FeatureName, e: LedgerEvent | undefined): void => {
    if (e) evidence[name] = e.eventId;
  };

  const activity = seen.filter((e) => !isBookkeeping(e));
  const first = activity[0];
  const last = activity.at(-1);
  if (first) {
    numeric.leadAgeHours = hoursFeature(cutoffMs - first.occurredAt);
    note('leadAgeHours', first);
    const at = new Date(first.occurredAt);
    categorical.firstContactDaypart = daypart(at.getUTCHours());
    categorical.firstContactWeekday = weekdays[at.getUTCDay()]!;
    note('firstContactDaypart', first);
    note('firstContactWeekday', first);
  }
  if (last) {
    numeric.hoursSinceLastActivity = hoursFeature(cutoffMs - last.occurredAt);
    note('hoursSinceLastActivity', last);
  }

  // Channel and source: the conversation start; failing that, the first event with a channel.
  const start = activity.find((e) => e.type === 'conversation_started');
  const channelEvent = start?.channel ? start : activity.find((e) => e.channel !== '');
  if (channelEvent) {
    categorical.channel = channelEvent.channel;
    note('channel', channelEvent);
  }
  if (start && nonEmpty(prop(start, 'source'))) {
    categorical.source = String(prop(start, 'source')).trim().toLowerCase();
    note('source', start);
  }
  const agentEvent = activity.findLast((e) => e.agentId !== '');
  if (agentEvent) {
    categorical.agentId = agentEvent.agentId;
    note('agentId', agentEvent);
  }

  // A person's stage correction moves the stage as any stage change does (the lead page shows it).
  addStageFeatures(seen.filter((e) => !isBookkeeping(e) || isStageCorrection(e)), cutoffMs, numeric, categorical, note);
  addIntentFeatures(seen, numeric, categorical, note);
  addMessageFeatures(activity, cutoffMs, numeric, note);
  addBookingFeatures(activity, numeric, note);

  for (const e of activity) {
    if (e.type !== 'contact_enriched') continue;
    const fields = [
      ['hasEmail', 'email'],
      ['hasPhone', 'phone'],
      ['hasCompany', 'company'],
      ['hasName', 'name']
    ] as const;
    for (const [feature, key] of fields) {
      if (numeric[feature] === 0 && nonEmpty(prop(e, key))) {
        numeric[feature] = 1;
        note(feature, e);
      }
    }
  }

  // No event carries a value before the outcome today (only deal_won/deal_lost set `value`, and
  // they are the label); a future quote or estimate event with a value is picked up here.
  const valued = activity.findLast((e) => e.value > 0);
  if (valued) {
    numeric.dealValue = Math.log1p(valued.value);
    note('dealValue', valued);
  }

  const human = seen.filter(isHuman);
  numeric.humanActions = Math.log1p(human.length);
  note('humanActions', human.at(-1));
  const claim = human.findLast((e) => e.type === 'lead_assigned' || e.type === 'exception_claimed');
  numeric.claimedByHuman = claim ? 1 : 0;
  note('claimedByHuman', claim);
  // Corrections to won/lost are outcomes, so not in `seen`: this never sees the label.
  const correction = seen.findLast(isHumanCorrection);
  numeric.correctedByHuman = correction ? 1 : 0;
  note('correctedByHuman', correction);

  return { features: { numeric, categorical }, evidence };
}

type Note = (name: FeatureName, e: LedgerEvent | undefined) => void;

/**
 * Qualification by the agent, as exception-sql.ts defines it: lead_qualified, or a stage change to
 * qualified. Not a person's correction to qualified: it is written when the person reviews the
 * lead, often long after the agent qualified it, and would restart the silence clock.
 */
const isQualification = (e: LedgerEvent): boolean =>
  !isByPerson(e) && (e.type === 'lead_qualified' || (e.type === 'stage_changed' && e.stage === 'qualified'));

/** Stage features from the agent's activity plus people's stage corrections. */
function addStageFeatures(
  activity: readonly LedgerEvent[],
  cutoffMs: number,
  numeric: Record<NumericFeature, number>,
  categorical: Record<CategoricalFeature, string>,
  note: Note
): void {
  // Furthest stage: stage changes, plus what other events imply when an agent skips them.
  let reachedBy: LedgerEvent | undefined;
  let current: LedgerEvent | undefined;
  let enteredCurrent: LedgerEvent | undefined;
  for (const e of activity) {
    const implied =
      e.type === 'stage_changed'
        ? stageOrdinal(e.stage)
        : e.type === 'lead_qualified'
          ? 2
          : e.type === 'booking_created'
            ? 3
            : e.type === 'attendance_recorded' && prop(e, 'attended') === true
              ? 4
              : 0;
    if (implied > numeric.stageReached) {
      numeric.stageReached = implied;
      reachedBy = e;
    }
    if (e.type === 'stage_changed' && stageOrdinal(e.stage) > 0) {
      // A repeat of the current stage does not restart the stay (as the stalled exception counts).
      if (current?.stage !== e.stage) enteredCurrent = e;
      current = e;
    }
  }
  note('stageReached', reachedBy);
  if (current && enteredCurrent) {
    categorical.currentStage = current.stage;
    numeric.hoursInStage = hoursFeature(cutoffMs - enteredCurrent.occurredAt);
    note('currentStage', enteredCurrent);
    note('hoursInStage', enteredCurrent);
  }

  const q = activity.findLast(isQualification);
  const lastInbound = activity.findLast(isInbound);
  if (q && (!lastInbound || lastInbound.occurredAt <= q.occurredAt) && numeric.stageReached <= 2) {
    numeric.hoursSilentAfterQualification = hoursFeature(cutoffMs - q.occurredAt);
    note('hoursSilentAfterQualification', q);
  }
}

/**
 * Intent and the agent's confidence in it (lead_qualified). A person's intent correction replaces
 * the intent and stands until another person corrects it, as in the label rule (labels.ts), even
 * if the agent qualifies the lead again later. The confidence stays the agent's: it describes how
 * sure the agent was, and `correctedByHuman` says that the agent was wrong.
 */
function addIntentFeatures(seen: readonly LedgerEvent[], numeric: Record<NumericFeature, number>, categorical: Record<CategoricalFeature, string>, note: Note): void {
  const qualified = seen.findLast((e) => e.type === 'lead_qualified' && !isBookkeeping(e));
  if (qualified) {
    const c = Number(prop(qualified, 'confidence'));
    numeric.confidence = Number.isFinite(c) ? Math.min(1, Math.max(0, c)) : 0;
    categorical.intent = qualified.intent || NONE;
    note('confidence', qualified);
    note('intent', qualified);
  }
  const corrected = seen.findLast((e) => e.type === leadEventTypes.intentCorrected && nonEmpty(e.intent));
  if (corrected) {
    categorical.intent = corrected.intent;
    note('intent', corrected);
  }
}

const isMessage = (e: LedgerEvent): boolean => e.type === 'message';
const isInbound = (e: LedgerEvent): boolean => isMessage(e) && (prop(e, 'direction') === 'inbound' || e.actor === 'customer');

function addMessageFeatures(activity: readonly LedgerEvent[], cutoffMs: number, numeric: Record<NumericFeature, number>, note: Note): void {
  const messages = activity.filter(isMessage);
  const inbound = messages.filter(isInbound);
  const outbound = messages.filter((e) => !isInbound(e));
  numeric.messagesIn = Math.log1p(inbound.length);
  numeric.messagesOut = Math.log1p(outbound.length);
  note('messagesIn', inbound.at(-1));
  note('messagesOut', outbound.at(-1));

  // A customer turn starts at its first unanswered inbound and ends at the next outbound.
  const responses: number[] = [];
  let waitingSince: LedgerEvent | undefined;
  let lastReply: LedgerEvent | undefined;
  for (const m of messages) {
    if (isInbound(m)) waitingSince ??= m;
    else if (waitingSince) {
      responses.push(m.occurredAt - waitingSince.occurredAt);
      lastReply = m;
      waitingSince = undefined;
    }
  }
  if (responses.length > 0) {
    numeric.hasAgentReply = 1;
    numeric.responseHoursMedian = hoursFeature(median(responses));
    numeric.responseHoursLast = hoursFeature(responses.at(-1)!);
    note('hasAgentReply', lastReply);
    note('responseHoursMedian', lastReply);
    note('responseHoursLast', lastReply);
  }

  const lastMessage = messages.at(-1);
  numeric.customerSpokeLast = lastMessage && isInbound(lastMessage) ? 1 : 0;
  note('customerSpokeLast', lastMessage);
  // Follow-ups nobody answered: an agent chasing a customer who has gone quiet.
  const lastInboundIndex = messages.findLastIndex(isInbound);
  numeric.messagesSinceInbound = messages.length - 1 - lastInboundIndex;
  note('messagesSinceInbound', lastInboundIndex < messages.length - 1 ? lastMessage : undefined);

  // Never written: measured from the first contact, so "silent from the start" reads as long.
  const lastIn = inbound.at(-1) ?? activity[0];
  if (lastIn) {
    numeric.hoursSinceLastInbound = hoursFeature(cutoffMs - lastIn.occurredAt);
    note('hoursSinceLastInbound', lastIn);
  }
}

function addBookingFeatures(activity: readonly LedgerEvent[], numeric: Record<NumericFeature, number>, note: Note): void {
  const counted = [
    ['bookingsCreated', (e: LedgerEvent) => e.type === 'booking_created'],
    ['bookingsCancelled', (e: LedgerEvent) => e.type === 'booking_cancelled'],
    ['noShows', (e: LedgerEvent) => e.type === 'attendance_recorded' && prop(e, 'attended') === false],
    ['attendedVisits', (e: LedgerEvent) => e.type === 'attendance_recorded' && prop(e, 'attended') === true]
  ] as const;
  for (const [feature, test] of counted) {
    const matching = activity.filter(test);
    numeric[feature] = matching.length;
    note(feature, matching.at(-1));
  }
}
