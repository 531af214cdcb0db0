import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentEvent } from '../../../src/lib/contracts/events';
import { insertEventRows, toEventRow } from '../../../src/lib/server/db/queries/events';
import { wallKpis } from '../../../src/lib/server/db/queries/kpis';
import { createTestDatabase, type TestDatabase } from '../../helpers/clickhouse';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('kpis_test');
});
afterAll(async () => {
  await db?.drop();
});

const NOW = Date.UTC(2026, 11, 2, 15, 0);
const MIN = 60_000;
const DAY = 86_400_000;
let n = 0;
const at = (msAgo: number) => new Date(NOW - msAgo).toISOString();
const stage = (leadId: string, s: string, msAgo: number): AgentEvent =>
  ({ type: 'stage_changed', eventId: `k${n++}`, leadId, occurredAt: at(msAgo), stage: s }) as AgentEvent;
const won = (leadId: string, value: number, currency: string, msAgo: number, eventId = `k${n++}`): AgentEvent => ({
  type: 'deal_won',
  eventId,
  leadId,
  occurredAt: at(msAgo),
  value,
  currency
});

describe('wallKpis', () => {
  it('counts new leads, qualification and booking rates over the window, and today’s won value, each event once', async () => {
    const org = 'org-kpi';
    const events: AgentEvent[] = [
      // A: new 30 minutes ago, qualified.
      stage('A', 'enquired', 30 * MIN),
      stage('A', 'qualified', 20 * MIN),
      // B: 3 days ago, booked without an explicit qualification (it passed qualification).
      stage('B', 'enquired', 3 * DAY),
      stage('B', 'booked', 2 * DAY),
      // D: 2 days ago, lost straight away.
      stage('D', 'enquired', 2 * DAY),
      stage('D', 'lost', 2 * DAY - MIN),
      // C: older than the window; its deals today count for the won tile only.
      stage('C', 'enquired', 10 * DAY),
      won('C', 100, 'EUR', 2 * 60 * MIN, 'won-dup'),
      won('C', 100, 'EUR', 2 * 60 * MIN, 'won-dup'),
      won('C', 50.5, 'EUR', 60 * MIN),
      won('C', 30, 'USD', 60 * MIN),
      // Yesterday (before 00:00 UTC) and in the future: not today.
      won('C', 999, 'EUR', 16 * 60 * MIN),
      won('C', 777, 'EUR', -10 * MIN)
    ];
    // Out of order, as agents deliver.
    await insertEventRows(db.client, [...events].reverse().map((e) => toEventRow(e, org, NOW)));
    // Another organisation's activity must not count.
    await insertEventRows(db.client, [stage('A', 'enquired', 5 * MIN), won('X', 5000, 'EUR', MIN)].map((e) => toEventRow(e, 'org-other', NOW)));
    // The duplicate again in a separate insert (another part), as a retried batch would be.
    await insertEventRows(db.client, [toEventRow(won('C', 100, 'EUR', 2 * 60 * MIN, 'won-dup'), org, NOW)]);
    // A customer message that arrived five minutes ago and again (a retry) a minute ago: counted
    // once, at its first arrival; and one an hour and a half ago (outside the sparkline).
    const inbound: AgentEvent = { type: 'message', eventId: 'in-1', leadId: 'C', occurredAt: at(5 * MIN), channel: 'sms', direction: 'inbound', text: 'hi' };
    await insertEventRows(db.client, [toEventRow(inbound, org, NOW - 5 * MIN), toEventRow(inbound, org, NOW - MIN)]);
    await insertEventRows(db.client, [toEventRow({ ...inbound, eventId: 'in-old' }, org, NOW - 90 * MIN)]);

    const kpis = await wallKpis(db.client, org, NOW);
    // Minute buckets: the last is the minute holding NOW; 5 minutes ago is 5 buckets earlier.
    const perMinute = new Array<number>(60).fill(0);
    const inboundPerMinute = new Array<number>(60).fill(0);
    perMinute[59] = 12; // 7 stage changes and 5 distinct deals (the duplicate once), all received at NOW
    perMinute[54] = 1;
    inboundPerMinute[54] = 1;
    expect(kpis.activity).toEqual({
      from: NOW - 59 * MIN,
      bucketMs: MIN,
      events: perMinute,
      inbound: inboundPerMinute,
      // (NOW - 60 s, NOW]: the 12 received at NOW; the message first arrived five minutes ago.
      lastMinute: { events: 12, inbound: 0 }
    });
    expect({ ...kpis, activity: undefined }).toEqual({
      newLeadsLastHour: 1,
      leadsInWindow: 3,
      qualificationRate: 2 / 3,
      bookingRate: 1 / 3,
      wonToday: [
        { currency: 'EUR', value: 150.5, deals: 2 },
        { currency: 'USD', value: 30, deals: 1 }
      ],
      windowMs: 7 * DAY,
      activity: undefined
    });
  });

  it('answers zeros for an organisation with no events', async () => {
    expect(await wallKpis(db.client, 'org-empty', NOW)).toEqual({
      newLeadsLastHour: 0,
      leadsInWindow: 0,
      qualificationRate: 0,
      bookingRate: 0,
      wonToday: [],
      windowMs: 7 * DAY,
      activity: { from: NOW - 59 * MIN, bucketMs: MIN, events: new Array(60).fill(0), inbound: new Array(60).fill(0), lastMinute: { events: 0, inbound: 0 } }
    });
  });
});
