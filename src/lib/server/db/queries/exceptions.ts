import { createHash, randomUUID } from 'node:crypto';
import { stages } from '../../../contracts/events';
import {
  defaultExceptionSettings,
  exceptionEventTypes,
  type AtRiskDeal,
  type ExceptionAction,
  type ExceptionKind,
  type ExceptionSettings,
  type HumanMark,
  type LeadException
} from '../../../contracts/exceptions';
import { queryRows, type ClickHouseClient } from '../clickhouse';
import { humanMarksQuery, leadFactsQuery, leadValuesQuery, scoreDropsQuery, stalledQuery } from './exception-sql';
import { formatDuration, formatMoney, kindLabels, noOutcomeWords, notAttendedWords, silentWords, stalledWords } from './exception-words';
import { humanEventRow, insertEventRows, type EventRow } from './events';
import { latestScores } from './models';

/**
 * Exceptions (issue 5, item 2) and the at-risk list (item 3). Each exception is computed from the
 * ledger as of `now` (see exception-sql.ts), then the human state is folded in from human events
 * (`exception_acknowledged` …, actor `human:<userId>`), which live in the same ledger so the lead's
 * history shows who did what.
 */

type Found = Omit<LeadException, 'acknowledged' | 'snoozed' | 'claimed'>;

/** Stable id: the same kind, lead and evidence event give the same id on every recomputation. */
export function exceptionId(kind: ExceptionKind, leadId: string, evidenceEventId: string): string {
  return `exc-${createHash('sha256').update(`${kind}\n${leadId}\n${evidenceEventId}`).digest('hex').slice(0, 24)}`;
}

const found = (kind: ExceptionKind, leadId: string, since: number, evidence: Found['evidence'], words: string): Found => ({
  id: exceptionId(kind, leadId, evidence.eventId),
  kind,
  leadId,
  since,
  evidence,
  words
});

interface FactsRow {
  lead: string;
  intent: string;
  q_at: string;
  q_event: string;
  q_type: string;
  q_summary: string;
  silent: number;
  b_at: string;
  b_event: string;
  b_summary: string;
  b_starts: string;
  att_at: string;
  no_show: number;
  not_attended: number;
  v_at: string;
  v_event: string;
  v_type: string;
  v_summary: string;
  no_outcome: number;
}

function fromFacts(r: FactsRow, now: number, s: ExceptionSettings): Found[] {
  const out: Found[] = [];
  const HOUR = 3_600_000;
  if (r.silent) {
    const at = Number(r.q_at);
    const evidence = { eventId: r.q_event, type: r.q_type, occurredAt: at, summary: r.q_summary };
    out.push(found('silent_after_qualification', r.lead, at + Math.round(s.silentAfterHours * HOUR), evidence, silentWords(now - at, r.intent)));
  }
  if (r.not_attended) {
    const starts = Number(r.b_starts);
    const dueAt = starts + Math.round(s.attendanceGraceHours * HOUR);
    // A no-show recorded before the grace period ends makes it true from that record.
    const since = r.no_show ? Math.min(dueAt, Number(r.att_at)) : dueAt;
    // The booking is the evidence even after a no-show is recorded, so the id stays the same.
    const evidence = { eventId: r.b_event, type: 'booking_created', occurredAt: Number(r.b_at), summary: r.b_summary };
    out.push(found('booked_not_attended', r.lead, since, evidence, notAttendedWords(now - starts, r.no_show === 1)));
  }
  if (r.no_outcome) {
    const at = Number(r.v_at);
    const evidence = { eventId: r.v_event, type: r.v_type, occurredAt: at, summary: r.v_summary };
    out.push(found('attended_no_outcome', r.lead, at + Math.round(s.outcomeAfterDays * 24 * HOUR), evidence, noOutcomeWords(now - at)));
  }
  return out;
}

interface StalledRow {
  lead: string;
  stage_pos: string;
  entered_at: string;
  event_id: string;
  summary: string;
  samples: string;
  p75: string;
}

function fromStalled(r: StalledRow, now: number): Found {
  const entered = Number(r.entered_at);
  const p75 = Number(r.p75);
  const stage = stages[Number(r.stage_pos) - 1] ?? '';
  const evidence = { eventId: r.event_id, type: 'stage_changed', occurredAt: entered, summary: r.summary };
  return found('stalled', r.lead, entered + p75, evidence, stalledWords(stage, now - entered, p75, Number(r.samples)));
}

interface ScoreDropRow {
  lead_id: string;
  at: string;
  score: number;
  reasons: string;
  peak: number;
  peak_at: string;
}

/**
 * A deal whose score fell sharply (issue 6). The id is keyed on the peak it fell from, so the
 * same fall stays one exception while the lead is rescored; the evidence is the event behind the
 * strongest downward reason, when the model tied one.
 */
function fromScoreDrop(r: ScoreDropRow): Found {
  let reasons: { text?: string; direction?: string; eventId?: string }[] = [];
  try {
    reasons = JSON.parse(r.reasons) as typeof reasons;
  } catch {
    // an unreadable reason list only costs the words
  }
  const down = reasons.find((x) => x.direction === 'down');
  const at = Number(r.at);
  const pct = (p: number) => `${Math.round(p * 100)}%`;
  const evidence = { eventId: down?.eventId ?? '', type: 'lead_scored', occurredAt: at, summary: down?.text ?? '' };
  const words = `Score fell from ${pct(Number(r.peak))} to ${pct(Number(r.score))} in ${formatDuration(Math.max(0, at - Number(r.peak_at)))}${down?.text ? `: ${down.text}` : ''}`;
  return { ...found('score_dropped', r.lead_id, at, evidence, words), id: exceptionId('score_dropped', r.lead_id, `peak@${r.peak_at}`) };
}

interface MarksRow {
  exception_id: string;
  ack_actor: string;
  ack_at: string;
  snooze_actor: string;
  snooze_at: string;
  snooze_until: string;
  claim_actor: string;
  claim_at: string;
  claim_type: string;
}

const userOf = (actor: string) => (actor.startsWith('human:') ? actor.slice('human:'.length) : actor);
const mark = (actor: string, at: string): HumanMark | null => (actor ? { userId: userOf(actor), at: Number(at) } : null);

function withMarks(f: Found, m: MarksRow | undefined, now: number): LeadException {
  if (!m) return { ...f, acknowledged: null, snoozed: null, claimed: null };
  const until = Number(m.snooze_until);
  const snooze = mark(m.snooze_actor, m.snooze_at);
  const claim = m.claim_type === exceptionEventTypes.claim ? mark(m.claim_actor, m.claim_at) : null;
  return {
    ...f,
    acknowledged: mark(m.ack_actor, m.ack_at),
    snoozed: snooze && until > now ? { ...snooze, until } : null,
    claimed: claim
  };
}

/**
 * Every exception true at `now` for the organisation, oldest first. Snoozed ones are left out
 * until their snooze ends (then they reappear with the same id) unless `includeSnoozed`.
 */
export async function findExceptions(
  client: ClickHouseClient,
  orgId: string,
  now: number,
  settings: ExceptionSettings = defaultExceptionSettings,
  options: { includeSnoozed?: boolean } = {}
): Promise<LeadException[]> {
  const [facts, stalled, marks, drops] = await Promise.all([
    queryRows<FactsRow>(client, leadFactsQuery(orgId, now, settings)),
    queryRows<StalledRow>(client, stalledQuery(orgId, now, settings)),
    queryRows<MarksRow>(client, humanMarksQuery(orgId, now)),
    queryRows<ScoreDropRow>(client, scoreDropsQuery(orgId, now))
  ]);
  const byId = new Map(marks.map((m) => [m.exception_id, m]));
  const all = [...facts.flatMap((r) => fromFacts(r, now, settings)), ...stalled.map((r) => fromStalled(r, now)), ...drops.map((r) => fromScoreDrop(r))]
    .map((f) => withMarks(f, byId.get(f.id), now))
    .filter((e) => options.includeSnoozed || !e.snoozed);
  return all.sort((a, b) => a.since - b.since || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

const actionSummary = (action: ExceptionAction): string => {
  switch (action.action) {
    case 'acknowledge':
      return 'Acknowledged an exception';
    case 'snooze':
      return `Snoozed an exception until ${new Date(action.until).toISOString()}`;
    case 'claim':
      return 'Claimed an exception';
    case 'unclaim':
      return 'Released a claimed exception';
  }
};

/**
 * Store a person's action on an exception as a human event on the lead, committed before this
 * returns. Returns the row, so the caller can push it to watchers at once.
 */
export async function recordExceptionAction(
  client: ClickHouseClient,
  orgId: string,
  userId: string,
  exceptionId: string,
  leadId: string,
  action: ExceptionAction,
  now: number
): Promise<EventRow> {
  const row = humanEventRow({
    orgId,
    eventId: `exc-action-${randomUUID()}`,
    leadId,
    type: exceptionEventTypes[action.action],
    userId,
    summary: actionSummary(action),
    properties: action.action === 'snooze' ? { exceptionId, until: action.until } : { exceptionId },
    at: now
  });
  await insertEventRows(client, [row]);
  return row;
}

/**
 * How much each kind of exception says a deal is at risk, 0..1, for leads the model has not
 * scored yet; a scored lead's risk is the model's P(lost). Several exceptions combine as independent risks: 1 − Π(1 − w).
 */
export const KIND_RISK: Record<ExceptionKind, number> = {
  booked_not_attended: 0.6,
  silent_after_qualification: 0.5,
  attended_no_outcome: 0.45,
  score_dropped: 0.5,
  stalled: 0.35
};

const MAX_LISTED_LEADS = 500;

export interface ValueRow {
  lead: string;
  intent: string;
  own_value: number;
  own_currency: string;
  intent_value: number;
  intent_currency: string;
}

export function valueOf(v: ValueRow | undefined, s: ExceptionSettings): Pick<AtRiskDeal, 'value' | 'currency' | 'valueSource'> {
  if (v && v.own_value > 0) return { value: v.own_value, currency: v.own_currency || s.currency, valueSource: 'lead' };
  if (v && v.intent_value > 0) return { value: v.intent_value, currency: v.intent_currency || s.currency, valueSource: 'intent' };
  return { value: s.defaultDealValue, currency: s.currency, valueSource: 'default' };
}

function reasonFor(exceptions: LeadException[], deal: Pick<AtRiskDeal, 'value' | 'currency' | 'valueSource'>, intent: string): string {
  const [top, ...rest] = [...exceptions].sort((a, b) => KIND_RISK[b.kind] - KIND_RISK[a.kind] || a.since - b.since);
  const also = rest.length ? `; also ${[...new Set(rest.map((e) => kindLabels[e.kind]))].join(', ')}` : '';
  const money = formatMoney(deal.value, deal.currency);
  const worth =
    deal.valueSource === 'lead' ? `worth ${money}` : deal.valueSource === 'intent' ? `typically ${money} for ${intent}` : `value unknown (default ${money})`;
  return `${top?.words ?? ''}${also}. ${worth[0]?.toUpperCase()}${worth.slice(1)}.`;
}

/** Each lead's own deal value and its intent's typical won value (`leadIds` null: every lead). */
export async function leadValues(client: ClickHouseClient, orgId: string, now: number, leadIds: readonly string[] | null): Promise<Map<string, ValueRow>> {
  const rows = await queryRows<ValueRow>(client, leadValuesQuery(orgId, now, leadIds));
  return new Map(rows.map((v) => [v.lead, v]));
}

/**
 * Open deals ranked by risk × value, highest first (ties: riskier, then longer-standing). Risk
 * comes from the lead's current exceptions, snoozed ones included: a snooze hides an alert, it
 * does not make the deal safer.
 */
export async function atRiskDeals(
  client: ClickHouseClient,
  orgId: string,
  now: number,
  limit: number,
  settings: ExceptionSettings = defaultExceptionSettings,
  /** This organisation's exceptions at `now`, snoozed included, when the caller has them already. */
  known?: readonly LeadException[]
): Promise<AtRiskDeal[]> {
  const exceptions = known ?? (await findExceptions(client, orgId, now, settings, { includeSnoozed: true }));
  const byLead = new Map<string, LeadException[]>();
  for (const e of exceptions) byLead.set(e.leadId, [...(byLead.get(e.leadId) ?? []), e]);
  if (byLead.size === 0) return [];
  // Ids are up to 128 characters and a SELECT must stay under max_query_size (256 KiB): beyond a
  // few hundred leads, read every lead's value in the same single scan and pick in JS.
  const ids = [...byLead.keys()];
  const listed = ids.length <= MAX_LISTED_LEADS ? ids : null;
  const [values, scores] = await Promise.all([
    queryRows<ValueRow>(client, leadValuesQuery(orgId, now, listed)),
    latestScores(client, orgId, listed)
  ]);
  const valueByLead = new Map(values.map((v) => [v.lead, v]));
  const deals = [...byLead].map(([leadId, list]) => {
    // The model's P(lost) when the lead has a score; the exceptions' judgement otherwise.
    const scored = scores.get(leadId);
    const risk = scored ? 1 - scored.score : 1 - list.reduce((keep, e) => keep * (1 - KIND_RISK[e.kind]), 1);
    const v = valueByLead.get(leadId);
    const deal = valueOf(v, settings);
    const model = scored ? ` Model: ${Math.round(scored.score * 100)}% to win.` : '';
    return {
      since: Math.min(...list.map((e) => e.since)),
      deal: {
        leadId,
        risk,
        ...deal,
        exposure: risk * deal.value,
        reason: `${reasonFor(list, deal, v?.intent ?? '')}${model}`,
        exceptionIds: list.map((e) => e.id)
      } satisfies AtRiskDeal
    };
  });
  deals.sort((a, b) => b.deal.exposure - a.deal.exposure || b.deal.risk - a.deal.risk || a.since - b.since);
  return deals.slice(0, Math.max(0, limit)).map((d) => d.deal);
}
