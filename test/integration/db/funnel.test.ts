import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentEvent, Channel } from '../../../src/lib/contracts/events';
import { funnelQuerySchema, type FunnelQuery, type FunnelStepFigure } from '../../../src/lib/contracts/funnel';
import { execute, queryRows } from '../../../src/lib/server/db/clickhouse';
import { ident, sql } from '../../../src/lib/server/db/sql';
import { saveLinks } from '../../../src/lib/server/db/queries/contacts';
import { humanEventRow, insertEventRows, toEventRow, type EventRow } from '../../../src/lib/server/db/queries/events';
import { dropOffLeads, funnelSteps, stopReasons } from '../../../src/lib/server/db/queries/funnel';
import { buildMessage, buildStageChanged } from '../../fixtures/events';
import { createTestDatabase, type TestDatabase } from '../../helpers/clickhouse';

/*
 * One hand-built organisation; every expectation below is worked out by hand in the comments
 * from this table (minutes after T0 unless stated). Window [T0, T0 + 1 day), conversion window
 * 7 days, so events count up to T0 + 8 days.
 *
 * lead  channel   agent    stage events                               reached (level)
 * L1    whatsapp  agent-a  enq 0, qual 10, booked 60 (sent twice),      won (5)
 *                          attended 2d, won 3d; delivered won-first
 * L2    whatsapp  agent-a  enq 60, booked 90 (no qualified event)     booked (3)
 * L3    email     agent-b  enq 120, qual 140, lost 160                 qualified (2), lost
 * L4    email     agent-b  enq 180 (sent twice), booked 7d+5h          enquired (1): booked is past its window
 * L5    webchat   agent-a  enq 240, qual 300, booked 360, att 420       attended (4)
 * L6    whatsapp  agent-a  enq -60, qual +60                            not in cohort (entered before T0)
 * L7    whatsapp  agent-a  enq 1d                                       not in cohort (entered at `to`)
 * L8    sms       —        enq 0 (at T0 exactly)                       enquired (1)
 * L9a   whatsapp  agent-c  enq 480; L9b (email) qual 540, merged → L9a  qualified (2), one lead
 */
const T0 = Date.UTC(2026, 2, 2);
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const ORG = 'org-funnel-a';
const OTHER = 'org-funnel-b';
const at = (ms: number) => new Date(T0 + ms).toISOString();

let db: TestDatabase;
let seq = 0;
const id = (p: string) => `${p}-${++seq}`;

type Lead = { leadId: string; channel: Channel; agentId?: string };
const stage = (l: Lead, s: 'enquired' | 'qualified' | 'booked' | 'attended' | 'won' | 'lost', ms: number, eventId = id('st')) =>
  buildStageChanged({ ...l, eventId, stage: s, occurredAt: at(ms), summary: `Moved to ${s}` });
const say = (l: Lead, direction: 'inbound' | 'outbound', ms: number, text: string) =>
  buildMessage({ ...l, eventId: id('msg'), direction, occurredAt: at(ms), text, summary: undefined });
const qualifiedIntent = (l: Lead, intent: string, ms: number): AgentEvent => ({
  type: 'lead_qualified',
  ...l,
  eventId: id('lq'),
  intent,
  confidence: 0.9,
  occurredAt: at(ms)
});
const rows = (org: string, events: AgentEvent[]): EventRow[] => events.map((e) => toEventRow(e, org, T0 + 10 * DAY));

const L1: Lead = { leadId: 'L1', channel: 'whatsapp', agentId: 'agent-a' };
const L2: Lead = { leadId: 'L2', channel: 'whatsapp', agentId: 'agent-a' };
const L3: Lead = { leadId: 'L3', channel: 'email', agentId: 'agent-b' };
const L4: Lead = { leadId: 'L4', channel: 'email', agentId: 'agent-b' };
const L5: Lead = { leadId: 'L5', channel: 'webchat', agentId: 'agent-a' };
const L6: Lead = { leadId: 'L6', channel: 'whatsapp', agentId: 'agent-a' };
const L7: Lead = { leadId: 'L7', channel: 'whatsapp', agentId: 'agent-a' };
const L8: Lead = { leadId: 'L8', channel: 'sms' };
const L9a: Lead = { leadId: 'L9a', channel: 'whatsapp', agentId: 'agent-c' };
const L9b: Lead = { leadId: 'L9b', channel: 'email', agentId: 'agent-c' };

const l1Booked = stage(L1, 'booked', 60 * MIN);
const l4Enquired = stage(L4, 'enquired', 180 * MIN);

async function seed(): Promise<void> {
  // Out of order: L1's later steps arrive before its first ones, in separate inserts (parts).
  await insertEventRows(db.client, rows(ORG, [stage(L1, 'won', 3 * DAY), stage(L1, 'attended', 2 * DAY), l1Booked]));
  await insertEventRows(db.client, rows(ORG, [stage(L1, 'enquired', 0), stage(L1, 'qualified', 10 * MIN)]));
  const l2 = [stage(L2, 'enquired', 60 * MIN), qualifiedIntent(L2, 'whitening', 65 * MIN), stage(L2, 'booked', 90 * MIN)];
  l2.push(say(L2, 'inbound', 100 * MIN, 'Can I come at 5?'), say(L2, 'outbound', 102 * MIN, 'Yes, see you at 5'));
  await insertEventRows(db.client, rows(ORG, l2));
  await insertEventRows(db.client, rows(ORG, l2)); // the whole batch retried: every L2 event twice
  await insertEventRows(
    db.client,
    rows(ORG, [
      stage(L3, 'enquired', 120 * MIN),
      say(L3, 'outbound', 121 * MIN, 'Hello from the clinic'),
      qualifiedIntent(L3, 'implants', 135 * MIN),
      stage(L3, 'qualified', 140 * MIN),
      say(L3, 'inbound', 150 * MIN, 'How much are implants?'),
      stage(L3, 'lost', 160 * MIN),
      l4Enquired,
      stage(L4, 'booked', 7 * DAY + 5 * HOUR),
      stage(L5, 'enquired', 240 * MIN),
      say(L5, 'inbound', 241 * MIN, 'Hi'),
      say(L5, 'outbound', 271 * MIN, 'Hello!'),
      stage(L5, 'qualified', 300 * MIN),
      stage(L5, 'booked', 360 * MIN),
      stage(L5, 'attended', 420 * MIN),
      stage(L6, 'enquired', -60 * MIN),
      stage(L6, 'qualified', 60 * MIN),
      stage(L7, 'enquired', DAY),
      { type: 'conversation_started', ...L8, eventId: id('cs'), occurredAt: at(0) },
      stage(L8, 'enquired', 0),
      say(L8, 'inbound', 5 * MIN, 'Are you open on Sunday?'),
      stage(L9a, 'enquired', 480 * MIN),
      stage(L9b, 'qualified', 540 * MIN),
      say(L9b, 'outbound', 550 * MIN, 'Thanks, we will call you')
    ])
  );
  // Duplicates in their own inserts, so they sit in other parts than the originals.
  await insertEventRows(db.client, rows(ORG, [l1Booked, l4Enquired]));
  // A person wrote to L5 from the app after the visit: the last speaker is a human.
  await insertEventRows(db.client, [
    humanEventRow({ orgId: ORG, eventId: 'human-1', leadId: 'L5', type: 'message', userId: 'u1', summary: 'Called back', properties: {}, at: T0 + 430 * MIN })
  ]);
  await saveLinks(db.client, ORG, [{ leadId: 'L9b', canonicalLeadId: 'L9a', identity: 'email:l9@example.test' }]);

  // Another organisation with the same lead ids, every one of them won, and a link that would
  // fold L3 into L1 if links leaked across organisations.
  const other = ['L1', 'L2', 'L3', 'L4'].flatMap((leadId) =>
    (['enquired', 'qualified', 'booked', 'attended', 'won'] as const).map((s, i) => stage({ leadId, channel: 'phone' }, s, i * MIN))
  );
  await insertEventRows(db.client, rows(OTHER, other));
  await saveLinks(db.client, OTHER, [{ leadId: 'L3', canonicalLeadId: 'L1', identity: 'email:x@example.test' }]);
}

beforeAll(async () => {
  db = await createTestDatabase('funnel_test');
  // Keep the duplicated rows as separate rows: a background merge would fold them before the
  // queries run and the test would no longer show that reads fold them.
  await execute(db.client, sql`SYSTEM STOP MERGES ${ident(db.database)}.events`);
  await seed();
});
afterAll(() => db?.drop());

const query = (over: Partial<FunnelQuery> = {}): FunnelQuery =>
  funnelQuerySchema.parse({ from: T0, to: T0 + DAY, conversionWindowMs: 7 * DAY, asOf: T0 + 2 * DAY, ...over });

const counts = (steps: FunnelStepFigure[]) => steps.map((s) => s.count);

describe('funnelSteps', () => {
  it('stores the duplicates the test relies on (so folding is really exercised)', async () => {
    const dup = await queryRows<{ n: string }>(
      db.client,
      sql`SELECT count() AS n FROM events WHERE org_id = ${ORG} AND event_id IN (${l1Booked.eventId}, ${l4Enquired.eventId})`
    );
    expect(Number(dup[0]?.n)).toBe(4);
  });

  it('counts each lead once per step reached, monotone, folding duplicates, merges and out-of-order delivery', async () => {
    const { steps: withSpread, splits } = await funnelSteps(db.client, ORG, query());
    expect(splits).toBeUndefined();
    // The distribution of enquired → qualified, sorted 10 20 30 60 60 min; quantileExact takes
    // the element at floor(level × n): p10 [0], p25 [1], p50 [2], p75 [3], p90 [4].
    expect(withSpread[1]?.spreadMsFromPrevious).toEqual({ p10: 10 * MIN, p25: 20 * MIN, p50: 30 * MIN, p75: 60 * MIN, p90: 60 * MIN });
    expect(withSpread[0]?.spreadMsFromPrevious).toBeNull();
    const steps = withSpread.map(({ spreadMsFromPrevious: _spread, ...rest }) => rest);
    // Cohort L1 L2 L3 L4 L5 L8 L9: levels 5 3 2 1 4 1 2.
    expect(steps).toEqual([
      { step: 'enquired', count: 7, conversionPct: null, dropped: 2, dropOffPct: (2 / 7) * 100, stillOpen: 2, medianMsFromPrevious: null },
      // enquired → qualified: L1 10, L2 30 (implied at booking), L3 20, L5 60, L9 60 min → 30.
      // L3 is lost, so only L9 may still move on.
      { step: 'qualified', count: 5, conversionPct: (5 / 7) * 100, dropped: 2, dropOffPct: (2 / 5) * 100, stillOpen: 1, medianMsFromPrevious: 30 * MIN },
      // qualified → booked: L1 50, L2 0, L5 60 min → 50.
      { step: 'booked', count: 3, conversionPct: (3 / 5) * 100, dropped: 1, dropOffPct: (1 / 3) * 100, stillOpen: 1, medianMsFromPrevious: 50 * MIN },
      // booked → attended: L1 2d − 60 min, L5 60 min → the upper of two.
      { step: 'attended', count: 2, conversionPct: (2 / 3) * 100, dropped: 1, dropOffPct: (1 / 2) * 100, stillOpen: 1, medianMsFromPrevious: 2 * DAY - 60 * MIN },
      { step: 'won', count: 1, conversionPct: (1 / 2) * 100, dropped: 0, dropOffPct: null, stillOpen: 0, medianMsFromPrevious: DAY }
    ]);
  });

  it('counts nobody as still open once every window has closed', async () => {
    const { steps } = await funnelSteps(db.client, ORG, query({ asOf: T0 + 30 * DAY }));
    expect(steps.map((s) => s.stillOpen)).toEqual([0, 0, 0, 0, 0]);
  });

  it('only counts steps within the conversion window of entry', async () => {
    // 1 day: L1 stops at booked (attended after 2 days); L5's steps all fit in hours.
    const { steps } = await funnelSteps(db.client, ORG, query({ conversionWindowMs: DAY }));
    expect(counts(steps)).toEqual([7, 5, 3, 1, 0]);
  });

  it('puts a lead in the window where it entered: from inclusive, to exclusive', async () => {
    const before = await funnelSteps(db.client, ORG, query({ from: T0 - DAY, to: T0 }));
    expect(counts(before.steps)).toEqual([1, 1, 0, 0, 0]); // L6 only
    const next = await funnelSteps(db.client, ORG, query({ from: T0 + DAY, to: T0 + 2 * DAY }));
    expect(counts(next.steps)).toEqual([1, 0, 0, 0, 0]); // L7 only
    const edge = await funnelSteps(db.client, ORG, query({ from: T0, to: T0 + 1 }));
    expect(counts(edge.steps)).toEqual([2, 1, 1, 1, 1]); // L1 and L8 entered at T0
  });

  it('splits by the first channel a lead showed', async () => {
    const { steps, splits } = await funnelSteps(db.client, ORG, query({ split: 'channel' }));
    expect(counts(steps)).toEqual([7, 5, 3, 2, 1]);
    expect(splits?.map((s) => [s.value, counts(s.steps)])).toEqual([
      ['email', [2, 1, 0, 0, 0]], // L3, L4
      ['sms', [1, 0, 0, 0, 0]], // L8
      ['webchat', [1, 1, 1, 1, 0]], // L5
      ['whatsapp', [3, 3, 2, 1, 1]] // L1, L2, L9 (L9b wrote by email, but L9a came by WhatsApp first)
    ]);
    const whatsapp = splits?.find((s) => s.value === 'whatsapp')?.steps;
    // qualified medians over L1 10, L2 30, L9 60 min; booked over L1 50, L2 0.
    expect(whatsapp?.map((s) => s.medianMsFromPrevious)).toEqual([null, 30 * MIN, 50 * MIN, 2 * DAY - 60 * MIN, DAY]);
  });

  it('splits by agent, with leads no agent touched under the empty value', async () => {
    const { splits } = await funnelSteps(db.client, ORG, query({ split: 'agent' }));
    expect(splits?.map((s) => [s.value, counts(s.steps)])).toEqual([
      ['', [1, 0, 0, 0, 0]], // L8
      ['agent-a', [3, 3, 3, 2, 1]], // L1, L2, L5
      ['agent-b', [2, 1, 0, 0, 0]], // L3, L4
      ['agent-c', [1, 1, 0, 0, 0]] // L9
    ]);
  });

  it("never counts another organisation's events or links", async () => {
    const other = await funnelSteps(db.client, OTHER, query());
    expect(counts(other.steps)).toEqual([3, 3, 3, 3, 3]); // its own link folds its L3 into its L1
    const none = await funnelSteps(db.client, 'org-without-events', query());
    expect(counts(none.steps)).toEqual([0, 0, 0, 0, 0]);
    expect(none.steps.map((s) => s.medianMsFromPrevious)).toEqual([null, null, null, null, null]);
  });
});

describe('stopReasons', () => {
  it('describes the last thing before each dropped lead went quiet, within its own window', async () => {
    const reasons = await stopReasons(db.client, ORG, query());
    expect(reasons).toEqual([
      {
        // L4: its enquiry (the booking 7 days later is past its window); L8: a customer message nobody answered.
        step: 'enquired',
        dropped: 2,
        lastEventType: [
          { key: 'message', leads: 1 },
          { key: 'stage_changed', leads: 1 }
        ],
        lastIntent: [{ key: '', leads: 2 }],
        lastSpeaker: [
          { key: 'customer', leads: 1 },
          { key: 'none', leads: 1 }
        ],
        agentResponse: [
          { key: 'no_inbound', leads: 1 },
          { key: 'unanswered', leads: 1 }
        ]
      },
      {
        // L3: lost after an unanswered question about implants; L9: the agent wrote last, the customer never did.
        step: 'qualified',
        dropped: 2,
        lastEventType: [
          { key: 'message', leads: 1 },
          { key: 'stage_changed', leads: 1 }
        ],
        lastIntent: [
          { key: '', leads: 1 },
          { key: 'implants', leads: 1 }
        ],
        lastSpeaker: [
          { key: 'agent', leads: 1 },
          { key: 'customer', leads: 1 }
        ],
        agentResponse: [
          { key: 'no_inbound', leads: 1 },
          { key: 'unanswered', leads: 1 }
        ]
      },
      {
        // L2: answered in 2 minutes (its events were all delivered twice).
        step: 'booked',
        dropped: 1,
        lastEventType: [{ key: 'message', leads: 1 }],
        lastIntent: [{ key: 'whitening', leads: 1 }],
        lastSpeaker: [{ key: 'agent', leads: 1 }],
        agentResponse: [{ key: '1m_5m', leads: 1 }]
      },
      {
        // L5: the agent took 30 minutes; a person wrote last.
        step: 'attended',
        dropped: 1,
        lastEventType: [{ key: 'message', leads: 1 }],
        lastIntent: [{ key: '', leads: 1 }],
        lastSpeaker: [{ key: 'human', leads: 1 }],
        agentResponse: [{ key: '5m_1h', leads: 1 }]
      }
    ]);
  });

  it('agrees with the drop-off counts of the funnel', async () => {
    const [reasons, funnel] = await Promise.all([stopReasons(db.client, ORG, query()), funnelSteps(db.client, ORG, query())]);
    expect(reasons.map((r) => r.dropped)).toEqual(funnel.steps.slice(0, -1).map((s) => s.dropped));
  });
});

describe('dropOffLeads', () => {
  it('lists who dropped at a step with their last event, most recently active first', async () => {
    expect(await dropOffLeads(db.client, ORG, 'qualified', query(), 10)).toEqual([
      {
        leadId: 'L9a',
        enteredAt: T0 + 480 * MIN,
        lastEventType: 'message',
        lastSummary: 'Thanks, we will call you',
        lastEventAt: T0 + 550 * MIN,
        channel: 'whatsapp',
        agentId: 'agent-c'
      },
      {
        leadId: 'L3',
        enteredAt: T0 + 120 * MIN,
        lastEventType: 'stage_changed',
        lastSummary: 'Moved to lost',
        lastEventAt: T0 + 160 * MIN,
        channel: 'email',
        agentId: 'agent-b'
      }
    ]);
  });

  it("looks only at events within the lead's own window: L4's later booking is not its last event", async () => {
    expect(await dropOffLeads(db.client, ORG, 'enquired', query(), 10)).toEqual([
      {
        leadId: 'L4',
        enteredAt: T0 + 180 * MIN,
        lastEventType: 'stage_changed',
        lastSummary: 'Moved to enquired',
        lastEventAt: T0 + 180 * MIN,
        channel: 'email',
        agentId: 'agent-b'
      },
      {
        leadId: 'L8',
        enteredAt: T0,
        lastEventType: 'message',
        lastSummary: 'Are you open on Sunday?',
        lastEventAt: T0 + 5 * MIN,
        channel: 'sms',
        agentId: ''
      }
    ]);
  });

  it('honours the limit, the split value, and that nobody drops at won', async () => {
    expect((await dropOffLeads(db.client, ORG, 'enquired', query(), 1)).map((l) => l.leadId)).toEqual(['L4']);
    expect((await dropOffLeads(db.client, ORG, 'enquired', query({ split: 'channel', splitValue: 'sms' }), 10)).map((l) => l.leadId)).toEqual(['L8']);
    expect(await dropOffLeads(db.client, ORG, 'won', query(), 10)).toEqual([]);
  });

  it("does not list another organisation's leads", async () => {
    expect(await dropOffLeads(db.client, OTHER, 'enquired', query(), 10)).toEqual([]);
    expect(await dropOffLeads(db.client, 'org-without-events', 'booked', query(), 10)).toEqual([]);
  });
});

describe('funnelQuerySchema', () => {
  it('refuses an empty window and a split value without a split', () => {
    expect(funnelQuerySchema.safeParse({ from: T0, to: T0, conversionWindowMs: DAY }).success).toBe(false);
    expect(funnelQuerySchema.safeParse({ from: T0, to: T0 + 1, conversionWindowMs: DAY, splitValue: 'sms' }).success).toBe(false);
  });
});
