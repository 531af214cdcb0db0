import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentEvent } from '../../../src/lib/contracts/events';
import { defaultExceptionSettings, type ExceptionSettings, type LeadException } from '../../../src/lib/contracts/exceptions';
import { saveLinks } from '../../../src/lib/server/db/queries/contacts';
import { insertEventRows, toEventRow } from '../../../src/lib/server/db/queries/events';
import { atRiskDeals, exceptionId, findExceptions, recordExceptionAction } from '../../../src/lib/server/db/queries/exceptions';
import { leadTimeline } from '../../../src/lib/server/db/queries/leads';
import { insertLeadScores } from '../../../src/lib/server/db/queries/models';
import { createTestDatabase, type TestDatabase } from '../../helpers/clickhouse';

/**
 * Hand-built ledgers with hand-computed expectations. Every query is "as of now", so one ledger
 * is asked at several times; late events are inserted afterwards to show an exception clearing.
 */

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('exceptions_test');
});
afterAll(() => db.drop());

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const T0 = Date.parse('2026-03-02T09:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();
const settings = (over: Partial<ExceptionSettings> = {}): ExceptionSettings => ({ ...defaultExceptionSettings, ...over });

type Of<T extends AgentEvent['type']> = Extract<AgentEvent, { type: T }>;
const stage = (eventId: string, leadId: string, at: number, s: Of<'stage_changed'>['stage']): AgentEvent => ({
  type: 'stage_changed', eventId, leadId, occurredAt: iso(at), stage: s, summary: `Moved to ${s}`
});
const qualified = (eventId: string, leadId: string, at: number, intent: string): AgentEvent => ({
  type: 'lead_qualified', eventId, leadId, occurredAt: iso(at), intent, confidence: 0.9, summary: `Wants ${intent}`
});
const message = (eventId: string, leadId: string, at: number, direction: 'inbound' | 'outbound'): AgentEvent => ({
  type: 'message', eventId, leadId, occurredAt: iso(at), channel: 'whatsapp', direction, text: direction === 'inbound' ? 'Hi' : 'Hello!'
});
const booking = (eventId: string, leadId: string, at: number, bookingId: string, startsAt: number): AgentEvent => ({
  type: 'booking_created', eventId, leadId, occurredAt: iso(at), bookingId, startsAt: iso(startsAt), summary: `Booked ${bookingId}`
});
const attendance = (eventId: string, leadId: string, at: number, bookingId: string, attended: boolean): AgentEvent => ({
  type: 'attendance_recorded', eventId, leadId, occurredAt: iso(at), bookingId, attended
});
const won = (eventId: string, leadId: string, at: number, value: number): AgentEvent => ({
  type: 'deal_won', eventId, leadId, occurredAt: iso(at), value, currency: 'EUR'
});

async function ingest(orgId: string, events: AgentEvent[]) {
  await insertEventRows(db.client, events.map((e) => toEventRow(e, orgId, Date.now())));
}

const find = (orgId: string, now: number, s = settings(), includeSnoozed = false) => findExceptions(db.client, orgId, now, s, { includeSnoozed });
const brief = (list: LeadException[]) => list.map((e) => ({ kind: e.kind, leadId: e.leadId, since: e.since, evidence: e.evidence.eventId }));

describe('silent after qualification', () => {
  const org = 'org-silent';
  const q = T0 + 10 * MIN;

  beforeAll(async () => {
    // Delivered out of order and in pieces; the qualification arrives twice (a retry).
    await ingest(org, [message('s-out', 'L1', T0 + 11 * MIN, 'outbound'), qualified('s-q', 'L1', q, 'book cleaning')]);
    await ingest(org, [stage('s-st-q', 'L1', q, 'qualified'), message('s-in-0', 'L1', T0 + MIN, 'inbound'), stage('s-st-e', 'L1', T0, 'enquired')]);
    await ingest(org, [qualified('s-q', 'L1', q, 'book cleaning')]);
  });

  it('is not true before N hours have passed since qualification', async () => {
    expect(await find(org, q + 24 * HOUR - 1)).toEqual([]);
  });

  it('becomes true N hours after qualification, once, with the qualification as evidence and words for a rep', async () => {
    const list = await find(org, q + 30 * HOUR);
    expect(list).toEqual([
      {
        id: exceptionId('silent_after_qualification', 'L1', 's-q'),
        kind: 'silent_after_qualification',
        leadId: 'L1',
        since: q + 24 * HOUR,
        evidence: { eventId: 's-q', type: 'lead_qualified', occurredAt: q, summary: 'Wants book cleaning' },
        words: 'Qualified 30 h ago (intent: book cleaning), no reply from the customer since',
        acknowledged: null,
        snoozed: null,
        claimed: null
      }
    ]);
    // Recomputed later: the same id.
    expect((await find(org, q + 40 * HOUR))[0]?.id).toBe(list[0]?.id);
  });

  it('uses the organisation\'s N', async () => {
    expect(await find(org, q + 30 * HOUR, settings({ silentAfterHours: 48 }))).toEqual([]);
    expect(brief(await find(org, q + 30 * HOUR, settings({ silentAfterHours: 6 })))).toEqual([
      { kind: 'silent_after_qualification', leadId: 'L1', since: q + 6 * HOUR, evidence: 's-q' }
    ]);
  });

  it('stops being true when an inbound message arrives, even one delivered late', async () => {
    const org2 = 'org-silent-2';
    await ingest(org2, [qualified('q2', 'L2', q, 'whitening')]);
    expect(brief(await find(org2, q + 30 * HOUR))).toHaveLength(1);
    await ingest(org2, [message('in-late', 'L2', q + 28 * HOUR, 'inbound')]);
    expect(await find(org2, q + 30 * HOUR)).toEqual([]);
    // As of before the reply, it was still true.
    expect(brief(await find(org2, q + 27 * HOUR))).toEqual([{ kind: 'silent_after_qualification', leadId: 'L2', since: q + 24 * HOUR, evidence: 'q2' }]);
  });

  it('does not count leads that moved on or closed', async () => {
    const org3 = 'org-silent-3';
    await ingest(org3, [
      qualified('q-b', 'booked', q, 'x'), stage('st-b', 'booked', q + HOUR, 'booked'),
      qualified('q-l', 'lost', q, 'x'), { type: 'deal_lost', eventId: 'dl', leadId: 'lost', occurredAt: iso(q + HOUR), reason: 'price' }
    ]);
    expect(await find(org3, q + 30 * HOUR)).toEqual([]);
  });

  it('folds a merged lead into the surviving one: its reply counts, and the exception is on the survivor', async () => {
    const org4 = 'org-silent-merge';
    await ingest(org4, [qualified('mq', 'wa-1', q, 'implant'), qualified('mq2', 'em-2', q, 'implant')]);
    await saveLinks(db.client, org4, [{ leadId: 'em-1', canonicalLeadId: 'wa-1', identity: 'email:a@b.c' }]);
    expect(brief(await find(org4, q + 30 * HOUR)).map((e) => e.leadId).sort()).toEqual(['em-2', 'wa-1']);
    await ingest(org4, [message('m-em', 'em-1', q + 2 * HOUR, 'inbound')]);
    expect(brief(await find(org4, q + 30 * HOUR)).map((e) => e.leadId)).toEqual(['em-2']);
  });
});

describe('stalled', () => {
  const org = 'org-stalled';
  const H = T0 - 30 * DAY;
  // Completed stays in "booked" of 10, 20, 30, 40 and 100 h. Nearest-rank p75 of 5 stays is the
  // 4th smallest: 40 h. The 100 h stay is re-stated at +50 h; were the repeat not collapsed, the
  // stays would be 10, 20, 30, 40, 50, 50 and the p75 (5th of 6) 50 h.
  const history = [10, 20, 30, 40].flatMap((h, i) => [stage(`h${i}-b`, `h${i}`, H + i * DAY, 'booked'), stage(`h${i}-w`, `h${i}`, H + i * DAY + h * HOUR, 'won')]);
  history.push(stage('h9-b', 'h9', H, 'booked'), stage('h9-b2', 'h9', H + 50 * HOUR, 'booked'), stage('h9-w', 'h9', H + 100 * HOUR, 'won'));
  const B = T0; // the current lead entered "booked" here

  beforeAll(async () => {
    await ingest(org, [...history].reverse());
    await ingest(org, history.slice(0, 4)); // duplicates
    await ingest(org, [stage('c-e', 'C1', B - 2 * HOUR, 'enquired'), stage('c-b2', 'C1', B + 20 * HOUR, 'booked'), stage('c-b', 'C1', B, 'booked')]);
  });

  it('is not true until the time in stage exceeds the stage\'s p75 from history', async () => {
    expect(await find(org, B + 40 * HOUR, settings({ stalledMinSamples: 5 }))).toEqual([]);
  });

  it('becomes true past the p75, counted from entering the stage, not from a repeat', async () => {
    const [e, ...rest] = await find(org, B + 41 * HOUR, settings({ stalledMinSamples: 5 }));
    expect(rest).toEqual([]);
    expect(e).toMatchObject({
      id: exceptionId('stalled', 'C1', 'c-b'),
      kind: 'stalled',
      leadId: 'C1',
      since: B + 40 * HOUR,
      evidence: { eventId: 'c-b', type: 'stage_changed', occurredAt: B, summary: 'Moved to booked' },
      words: 'In booked for 41 h; 3 in 4 leads move on within 40 h (5 past stays)'
    });
  });

  it('needs enough past stays to trust the percentile', async () => {
    expect(await find(org, B + 41 * HOUR, settings({ stalledMinSamples: 6 }))).toEqual([]);
  });

  it('moves the threshold when history grows', async () => {
    const org2 = 'org-stalled-2';
    await ingest(org2, [...history, stage('c-b', 'C1', B, 'booked')]);
    await ingest(org2, [stage('h8-b', 'h8', H, 'booked'), stage('h8-w', 'h8', H + 200 * HOUR, 'won')]);
    // Stays 10, 20, 30, 40, 100, 200: p75 is the 5th (ceil 4.5): 100 h.
    expect(await find(org2, B + 99 * HOUR, settings({ stalledMinSamples: 5 }))).toEqual([]);
    expect(brief(await find(org2, B + 101 * HOUR, settings({ stalledMinSamples: 5 })))).toEqual([
      { kind: 'stalled', leadId: 'C1', since: B + 100 * HOUR, evidence: 'c-b' }
    ]);
  });

  it('stops being true when the lead moves on', async () => {
    await ingest(org, [stage('c-a', 'C1', B + 50 * HOUR, 'attended')]);
    expect(await find(org, B + 51 * HOUR, settings({ stalledMinSamples: 5 }))).toEqual([]);
  });
});

describe('booked but not attended, attended without outcome', () => {
  const org = 'org-bookings';
  const s = settings({ attendanceGraceHours: 2, outcomeAfterDays: 3 });

  beforeAll(async () => {
    await ingest(org, [
      booking('b1', 'B1', T0, 'bk-1', T0 + 48 * HOUR),
      booking('b2', 'B2', T0, 'bk-2', T0 + 10 * HOUR),
      attendance('b2-no', 'B2', T0 + 10 * HOUR + 30 * MIN, 'bk-2', false),
      booking('b3', 'B3', T0, 'bk-3', T0 + 5 * HOUR),
      { type: 'booking_cancelled', eventId: 'b3-x', leadId: 'B3', occurredAt: iso(T0 + HOUR), bookingId: 'bk-3' },
      booking('b4', 'B4', T0, 'bk-4a', T0 + 5 * HOUR),
      booking('b4-re', 'B4', T0 + 2 * HOUR, 'bk-4b', T0 + 100 * HOUR)
    ]);
  });

  it('a recorded no-show is true from the record; a cancelled or rebooked booking is not', async () => {
    expect(await find(org, T0 + 10 * HOUR + 30 * MIN - 1, s)).toEqual([]);
    const list = await find(org, T0 + 11 * HOUR, s);
    expect(list).toEqual([
      expect.objectContaining({
        id: exceptionId('booked_not_attended', 'B2', 'b2'),
        kind: 'booked_not_attended',
        leadId: 'B2',
        since: T0 + 10 * HOUR + 30 * MIN,
        evidence: { eventId: 'b2', type: 'booking_created', occurredAt: T0, summary: 'Booked bk-2' },
        words: 'Booking started 1 h ago, marked as not attended'
      })
    ]);
  });

  it('with no record, becomes true at start plus grace and clears when attendance is recorded', async () => {
    const onlyB1 = async (now: number) => brief((await find(org, now, s)).filter((e) => e.leadId === 'B1'));
    expect(await onlyB1(T0 + 50 * HOUR - 1)).toEqual([]);
    expect(await onlyB1(T0 + 50 * HOUR)).toEqual([{ kind: 'booked_not_attended', leadId: 'B1', since: T0 + 50 * HOUR, evidence: 'b1' }]);
    expect((await find(org, T0 + 52 * HOUR, s)).find((e) => e.leadId === 'B1')?.words).toBe('Booking started 4 h ago, no attendance recorded');

    await ingest(org, [attendance('b1-yes', 'B1', T0 + 51 * HOUR, 'bk-1', true)]);
    expect(await onlyB1(T0 + 52 * HOUR)).toEqual([]);
  });

  it('attended without won or lost becomes true after N days and clears with the outcome', async () => {
    const b1 = async (now: number) => (await find(org, now, s)).filter((e) => e.leadId === 'B1');
    expect(await b1(T0 + 51 * HOUR + 3 * DAY - 1)).toEqual([]);
    expect(await b1(T0 + 51 * HOUR + 4 * DAY)).toEqual([
      expect.objectContaining({
        id: exceptionId('attended_no_outcome', 'B1', 'b1-yes'),
        kind: 'attended_no_outcome',
        since: T0 + 51 * HOUR + 3 * DAY,
        evidence: { eventId: 'b1-yes', type: 'attendance_recorded', occurredAt: T0 + 51 * HOUR, summary: '' },
        words: 'Attended 4 d ago, no won or lost recorded since'
      })
    ]);
    await ingest(org, [won('b1-won', 'B1', T0 + 6 * DAY, 120)]);
    expect(await b1(T0 + 7 * DAY)).toEqual([]);
  });
});

describe('human actions', () => {
  const org = 'org-actions';
  const q = T0;
  const now = T0 + 30 * HOUR;
  const id = exceptionId('silent_after_qualification', 'A1', 'a-q');

  beforeAll(async () => {
    await ingest(org, [qualified('a-q', 'A1', q, 'braces')]);
  });

  it('records acknowledge and claim with who and when, and unclaim releases it', async () => {
    await recordExceptionAction(db.client, org, 'u-ann', id, 'A1', { action: 'acknowledge' }, now);
    await recordExceptionAction(db.client, org, 'u-bob', id, 'A1', { action: 'claim' }, now + 1000);
    let [e] = await find(org, now + 2000);
    expect(e).toMatchObject({ id, acknowledged: { userId: 'u-ann', at: now }, claimed: { userId: 'u-bob', at: now + 1000 }, snoozed: null });

    await recordExceptionAction(db.client, org, 'u-bob', id, 'A1', { action: 'unclaim' }, now + 3000);
    [e] = await find(org, now + 4000);
    expect(e).toMatchObject({ id, acknowledged: { userId: 'u-ann', at: now }, claimed: null });
    // As of before the unclaim, it was claimed.
    expect((await find(org, now + 2500))[0]?.claimed).toEqual({ userId: 'u-bob', at: now + 1000 });

    const history = (await leadTimeline(db.client, org, 'A1')).filter((t) => t.type.startsWith('exception_'));
    expect(history.map((t) => [t.type, t.actor])).toEqual([
      ['exception_acknowledged', 'human:u-ann'],
      ['exception_claimed', 'human:u-bob'],
      ['exception_unclaimed', 'human:u-bob']
    ]);
  });

  it('snooze hides the exception until the time, then it reappears with the same id and state', async () => {
    const until = now + 2 * HOUR;
    await recordExceptionAction(db.client, org, 'u-cat', id, 'A1', { action: 'snooze', until }, now + 5000);
    expect(await find(org, now + 6000)).toEqual([]);
    expect(await find(org, until - 1)).toEqual([]);
    expect((await find(org, until - 1, settings(), true))[0]).toMatchObject({ id, snoozed: { userId: 'u-cat', at: now + 5000, until } });
    const [back, ...rest] = await find(org, until);
    expect(rest).toEqual([]);
    expect(back).toMatchObject({ id, snoozed: null, acknowledged: { userId: 'u-ann', at: now } });
  });
});

describe('organisation isolation', () => {
  it('sees only its own organisation\'s events and human actions, even with the same lead and event ids', async () => {
    const events = [qualified('iso-q', 'I1', T0, 'x')];
    await ingest('org-iso-1', events);
    await ingest('org-iso-2', events);
    await ingest('org-iso-2', [qualified('iso-q-2', 'I2', T0, 'y')]);
    const id = exceptionId('silent_after_qualification', 'I1', 'iso-q');
    await recordExceptionAction(db.client, 'org-iso-2', 'u-x', id, 'I1', { action: 'claim' }, T0 + 25 * HOUR);

    const one = await find('org-iso-1', T0 + 30 * HOUR);
    expect(one.map((e) => [e.leadId, e.id, e.claimed])).toEqual([['I1', id, null]]);
    const two = await find('org-iso-2', T0 + 30 * HOUR);
    expect(two.map((e) => [e.leadId, e.claimed?.userId ?? null]).sort()).toEqual([
      ['I1', 'u-x'],
      ['I2', null]
    ]);
  });
});

describe('at-risk deals', () => {
  const org = 'org-risk';
  const now = T0 + 30 * HOUR;

  beforeAll(async () => {
    const past = T0 - 20 * DAY;
    await ingest(org, [
      // Won history: implant 3000, 5000, 4000 (median 4000); cleaning 80.
      qualified('w1-q', 'w1', past, 'implant'), won('w1-w', 'w1', past + DAY, 3000),
      qualified('w2-q', 'w2', past, 'implant'), won('w2-w', 'w2', past + DAY, 5000),
      qualified('w3-q', 'w3', past, 'implant'), won('w3-w', 'w3', past + DAY, 4000),
      qualified('w4-q', 'w4', past, 'cleaning'), won('w4-w', 'w4', past + DAY, 80),
      // R1: silent, intent implant → 0.5 × 4000 = 2000.
      qualified('r1-q', 'R1', T0, 'implant'),
      // R2: silent and a no-show → 1 − 0.5 × 0.4 = 0.8, × 80 = 64.
      qualified('r2-q', 'R2', T0, 'cleaning'), booking('r2-b', 'R2', T0 + HOUR, 'bk-r2', T0 + 5 * HOUR),
      attendance('r2-a', 'R2', T0 + 6 * HOUR, 'bk-r2', false),
      // R3: silent, no history for its intent → default 500 → 250.
      qualified('r3-q', 'R3', T0, 'veneers'),
      // R4: lost at 900 earlier, reopened and silent → its own 900 → 450.
      { type: 'deal_lost', eventId: 'r4-l', leadId: 'R4', occurredAt: iso(past), reason: 'price', value: 900, currency: 'EUR' },
      stage('r4-st', 'R4', T0, 'qualified'), qualified('r4-q', 'R4', T0, 'implant'),
      // Closed: never at risk.
      qualified('r5-q', 'R5', T0, 'implant'), won('r5-w', 'R5', T0 + HOUR, 4200)
    ]);
  });

  it('ranks by risk × value with the reason in words', async () => {
    const list = await atRiskDeals(db.client, org, now, 10, settings({ defaultDealValue: 500 }));
    expect(list.map((d) => [d.leadId, d.valueSource, d.value])).toEqual([
      ['R1', 'intent', 4000],
      ['R4', 'lead', 900],
      ['R3', 'default', 500],
      ['R2', 'intent', 80]
    ]);
    expect(list.map((d) => d.exposure)).toEqual([2000, 450, 250, expect.closeTo(64, 9)]);
    expect(list[3]?.risk).toBeCloseTo(0.8, 9);
    expect(list[0]?.reason).toBe('Qualified 30 h ago (intent: implant), no reply from the customer since. Typically €4,000 for implant.');
    expect(list[3]?.reason).toBe('Booking started 25 h ago, marked as not attended; also silent since qualification. Typically €80 for cleaning.');
    expect(list[1]?.reason).toMatch(/\. Worth €900\.$/);
    expect(list[2]?.reason).toMatch(/\. Value unknown \(default €500\)\.$/);
    expect(list[3]?.exceptionIds.sort()).toEqual(
      [exceptionId('silent_after_qualification', 'R2', 'r2-q'), exceptionId('booked_not_attended', 'R2', 'r2-b')].sort()
    );
  });

  it('honours the limit and returns nothing when nothing is at risk', async () => {
    expect((await atRiskDeals(db.client, org, now, 2, settings({ defaultDealValue: 500 }))).map((d) => d.leadId)).toEqual(['R1', 'R4']);
    expect(await atRiskDeals(db.client, 'org-risk-empty', now, 10)).toEqual([]);
  });
});

describe('score dropped', () => {
  const ORG = 'org-drop';
  const NOW = T0 + 10 * DAY;
  const scoreRow = (leadId: string, at: number, score: number, reasons: unknown[] = []) => ({
    leadId, scoredAt: at, versionId: 'v1', score, channel: 'whatsapp', reasons: reasons as never
  });
  beforeAll(async () => {
    await insertLeadScores(db.client, ORG, [
      // A: 70% two days ago, 40% an hour ago: a 30-point fall.
      scoreRow('A', NOW - 2 * DAY, 0.7),
      scoreRow('A', NOW - HOUR, 0.4, [{ text: 'No reply for 2 d after qualification', direction: 'down', weight: -1.2, eventId: 'a-q' }]),
      // B: a 10-point dip is not sharp.
      scoreRow('B', NOW - 2 * DAY, 0.6),
      scoreRow('B', NOW - HOUR, 0.5),
      // C: fell sharply, but the deal was lost since: closed leads raise nothing.
      scoreRow('C', NOW - 2 * DAY, 0.8),
      scoreRow('C', NOW - HOUR, 0.2),
      // D: its peak is older than the week looked at.
      scoreRow('D', NOW - 9 * DAY, 0.9),
      scoreRow('D', NOW - HOUR, 0.3)
    ]);
    await insertEventRows(db.client, [toEventRow({ type: 'deal_lost', eventId: 'c-lost', leadId: 'C', reason: 'price', occurredAt: iso(NOW - 30 * MIN) }, ORG, NOW)]);
  });

  it('is true for an open lead whose score fell 20 points or more within a week, with the reason in words', async () => {
    const found = (await findExceptions(db.client, ORG, NOW, settings())).filter((e) => e.kind === 'score_dropped');
    expect(found.map((e) => e.leadId)).toEqual(['A']);
    expect(found[0]?.evidence).toEqual({ eventId: 'a-q', type: 'lead_scored', occurredAt: NOW - HOUR, summary: 'No reply for 2 d after qualification' });
    expect(found[0]?.words).toBe('Score fell from 70% to 40% in 47 h: No reply for 2 d after qualification');
    expect(found[0]?.since).toBe(NOW - HOUR);
    // The at-risk list takes the model's P(lost) for a scored lead.
    const [deal] = await atRiskDeals(db.client, ORG, NOW, 5, settings());
    expect(deal?.leadId).toBe('A');
    expect(deal?.risk).toBeCloseTo(0.6, 9);
    expect(deal?.reason).toMatch(/Model: 40% to win\.$/);
  });

  it('keeps its id while the lead is rescored lower, and clears when the score recovers', async () => {
    const before = (await findExceptions(db.client, ORG, NOW, settings())).find((e) => e.kind === 'score_dropped');
    await insertLeadScores(db.client, ORG, [scoreRow('A', NOW - 30 * MIN, 0.35)]);
    const later = (await findExceptions(db.client, ORG, NOW, settings())).find((e) => e.kind === 'score_dropped');
    expect(later?.id).toBe(before?.id);
    await insertLeadScores(db.client, ORG, [scoreRow('A', NOW - MIN, 0.65)]);
    expect((await findExceptions(db.client, ORG, NOW, settings())).filter((e) => e.kind === 'score_dropped')).toEqual([]);
  });
});
