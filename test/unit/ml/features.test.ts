import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { categoricalFeatureNames, featureLabels, leadFeatures, leadOutcome, numericFeatureNames } from '../../../ml/features';
import { channels, stages, type LedgerEvent } from '../../../src/lib/contracts/events';
import { MIN, HOUR, DAY, T0, ev } from '../../fixtures/ledger';

const msg = (eventId: string, at: number, direction: 'inbound' | 'outbound') =>
  ev({ eventId, type: 'message', occurredAt: at, actor: direction === 'inbound' ? 'customer' : 'agent', properties: { direction, text: 'hi' } });

/*
 * The fixture lead, minutes after T0 unless stated:
 *   e1 conversation_started (whatsapp, source "Referral")  0
 *   e2 stage enquired                                       1
 *   e3 inbound                                              2
 *   e4 contact_enriched (name, email)                       3
 *   e5 outbound                                           122   → answered e3 after 2 h
 *   e6 outbound                                           125
 *   e7 inbound                                            5 h
 *   e8 inbound                                          5.5 h   (same customer turn as e7)
 *   e9 lead_qualified (teeth whitening, 0.9)              6 h
 *   e10 stage qualified                            6 h 1 min
 *   e11 outbound                                          9 h   → answered e7 after 4 h
 *   e12 lead_assigned by a person                        10 h
 *   e13 deal_won 350 EUR, e14 stage won                  3 days (the label)
 * Cutoff at T0 + 24 h.
 */
const fixture: LedgerEvent[] = [
  ev({ eventId: 'e1', type: 'conversation_started', occurredAt: T0, properties: { source: 'Referral' } }),
  ev({ eventId: 'e2', type: 'stage_changed', stage: 'enquired', occurredAt: T0 + MIN }),
  msg('e3', T0 + 2 * MIN, 'inbound'),
  ev({ eventId: 'e4', type: 'contact_enriched', occurredAt: T0 + 3 * MIN, properties: { name: 'Aoife Byrne', email: 'a@example.com' } }),
  msg('e5', T0 + 122 * MIN, 'outbound'),
  msg('e6', T0 + 125 * MIN, 'outbound'),
  msg('e7', T0 + 5 * HOUR, 'inbound'),
  msg('e8', T0 + 5.5 * HOUR, 'inbound'),
  ev({ eventId: 'e9', type: 'lead_qualified', intent: 'teeth whitening', occurredAt: T0 + 6 * HOUR, properties: { confidence: 0.9 } }),
  ev({ eventId: 'e10', type: 'stage_changed', stage: 'qualified', occurredAt: T0 + 6 * HOUR + MIN }),
  msg('e11', T0 + 9 * HOUR, 'outbound'),
  ev({ eventId: 'e12', type: 'lead_assigned', occurredAt: T0 + 10 * HOUR, actor: 'human:u1', agentId: '', channel: '', properties: { ownerId: 'u1' } }),
  ev({ eventId: 'e13', type: 'deal_won', occurredAt: T0 + 3 * DAY, value: 350, currency: 'EUR', properties: {} }),
  ev({ eventId: 'e14', type: 'stage_changed', stage: 'won', occurredAt: T0 + 3 * DAY })
];

describe('leadFeatures on a hand-built lead', () => {
  it('computes every feature as worked out by hand', () => {
    const { features, evidence } = leadFeatures(fixture, T0 + DAY);
    const h = (hours: number) => Math.log1p(hours);
    expect(features.numeric).toEqual({
      stageReached: 2,
      hoursInStage: h(24 - 6 - 1 / 60),
      leadAgeHours: h(24),
      hoursSinceLastActivity: h(15), // e11; the person's assignment (e12) is bookkeeping
      hoursSinceLastInbound: h(18.5),
      hoursSilentAfterQualification: h(24 - 6 - 1 / 60), // last inbound (5.5 h) before qualification (6 h 1 min)
      messagesIn: h(3),
      messagesOut: h(3),
      hasAgentReply: 1,
      responseHoursMedian: h(3), // median of 2 h and 4 h
      responseHoursLast: h(4), // from e7, the turn's first inbound, to e11
      customerSpokeLast: 0,
      messagesSinceInbound: 1, // e11
      confidence: 0.9,
      bookingsCreated: 0,
      bookingsCancelled: 0,
      noShows: 0,
      attendedVisits: 0,
      hasEmail: 1,
      hasPhone: 0,
      hasCompany: 0,
      hasName: 1,
      dealValue: 0,
      humanActions: h(1),
      claimedByHuman: 1,
      correctedByHuman: 0
    });
    expect(features.categorical).toEqual({
      channel: 'whatsapp',
      source: 'referral',
      intent: 'teeth whitening',
      currentStage: 'qualified',
      agentId: 'agent-a',
      firstContactDaypart: 'morning',
      firstContactWeekday: 'mon'
    });
    expect(evidence).toEqual({
      leadAgeHours: 'e1',
      firstContactDaypart: 'e1',
      firstContactWeekday: 'e1',
      hoursSinceLastActivity: 'e11',
      channel: 'e1',
      source: 'e1',
      agentId: 'e11',
      stageReached: 'e9',
      currentStage: 'e10',
      hoursInStage: 'e10',
      confidence: 'e9',
      intent: 'e9',
      hoursSilentAfterQualification: 'e10',
      messagesIn: 'e8',
      messagesOut: 'e11',
      hasAgentReply: 'e11',
      responseHoursMedian: 'e11',
      responseHoursLast: 'e11',
      customerSpokeLast: 'e11',
      messagesSinceInbound: 'e11',
      hoursSinceLastInbound: 'e8',
      hasEmail: 'e4',
      hasName: 'e4',
      humanActions: 'e12',
      claimedByHuman: 'e12'
    });
  });

  it('sees only events before the cutoff: at T0 + 3 min the lead is an unanswered enquiry', () => {
    const { features, evidence } = leadFeatures(fixture, T0 + 3 * MIN);
    expect(features.numeric).toMatchObject({ stageReached: 1, messagesIn: Math.log1p(1), hasAgentReply: 0, customerSpokeLast: 1, hasEmail: 0 });
    expect(features.categorical).toMatchObject({ intent: 'none', currentStage: 'enquired' });
    expect(evidence.customerSpokeLast).toBe('e3');
  });

  it('never uses the outcome: after the deal is won the features equal those of the lead without it', () => {
    const at = T0 + 4 * DAY;
    const withoutOutcome = fixture.filter((e) => e.eventId !== 'e13' && e.eventId !== 'e14');
    expect(leadFeatures(fixture, at)).toEqual(leadFeatures(withoutOutcome, at));
    expect(leadFeatures(fixture, at).features.numeric.dealValue).toBe(0);
  });

  it('counts bookings, cancellations, no-shows and visits, and stage implied by them', () => {
    const lead = [
      ev({ eventId: 'b1', type: 'booking_created', occurredAt: T0, properties: { bookingId: 'k1' } }),
      ev({ eventId: 'b2', type: 'booking_cancelled', occurredAt: T0 + HOUR, properties: { bookingId: 'k1' } }),
      ev({ eventId: 'b3', type: 'booking_created', occurredAt: T0 + 2 * HOUR, properties: { bookingId: 'k2' } }),
      ev({ eventId: 'b4', type: 'attendance_recorded', occurredAt: T0 + 3 * HOUR, properties: { bookingId: 'k2', attended: false } }),
      ev({ eventId: 'b5', type: 'booking_created', occurredAt: T0 + 4 * HOUR, properties: { bookingId: 'k3' } }),
      ev({ eventId: 'b6', type: 'attendance_recorded', occurredAt: T0 + 5 * HOUR, properties: { bookingId: 'k3', attended: true } })
    ];
    const { features, evidence } = leadFeatures(lead, T0 + DAY);
    expect(features.numeric).toMatchObject({ bookingsCreated: 3, bookingsCancelled: 1, noShows: 1, attendedVisits: 1, stageReached: 4 });
    expect(evidence).toMatchObject({ bookingsCreated: 'b5', bookingsCancelled: 'b2', noShows: 'b4', attendedVisits: 'b6', stageReached: 'b6' });
    // No stage_changed at all: the current stage is unknown, not guessed.
    expect(features.categorical.currentStage).toBe('none');
  });

  it('gives an empty lead every feature, with zeros and "none"', () => {
    const { features, evidence } = leadFeatures(fixture, T0);
    expect(Object.keys(features.numeric)).toEqual([...numericFeatureNames]);
    expect(Object.keys(features.categorical)).toEqual([...categoricalFeatureNames]);
    expect(new Set(Object.values(features.numeric))).toEqual(new Set([0]));
    expect(new Set(Object.values(features.categorical))).toEqual(new Set(['none']));
    expect(evidence).toEqual({});
  });

  it('has a human label for every feature', () => {
    const names = [...numericFeatureNames, ...categoricalFeatureNames];
    expect(names.filter((n) => !featureLabels[n])).toEqual([]);
    expect(Object.keys(featureLabels).sort()).toEqual([...names].sort());
  });
});

describe('leadOutcome', () => {
  it('is the first outcome: won here, from the deal event', () => {
    expect(leadOutcome(fixture)).toEqual({ label: 1, at: T0 + 3 * DAY, eventId: 'e13' });
  });

  it('is lost for deal_lost or a stage change to lost, whichever came first', () => {
    const lost = [...fixture.slice(0, 5), ev({ eventId: 'x1', type: 'stage_changed', stage: 'lost', occurredAt: T0 + DAY })];
    expect(leadOutcome([...lost, ...fixture.slice(12)])).toEqual({ label: 0, at: T0 + DAY, eventId: 'x1' });
    const dealLost = ev({ eventId: 'x2', type: 'deal_lost', occurredAt: T0 + 2 * HOUR, properties: { reason: 'price' } });
    expect(leadOutcome([...lost, dealLost])).toEqual({ label: 0, at: T0 + 2 * HOUR, eventId: 'x2' });
  });

  it('prefers the deal event over a stage change at the same millisecond, whatever the order', () => {
    const at = T0 + DAY;
    const won = ev({ eventId: 'z-deal', type: 'deal_won', occurredAt: at, value: 100, currency: 'EUR' });
    const lostStage = ev({ eventId: 'a-stage', type: 'stage_changed', stage: 'lost', occurredAt: at });
    expect(leadOutcome([won, lostStage])).toEqual({ label: 1, at, eventId: 'z-deal' });
    expect(leadOutcome([lostStage, won])).toEqual({ label: 1, at, eventId: 'z-deal' });
  });

  it('is undefined while the lead is open', () => {
    expect(leadOutcome(fixture.slice(0, 12))).toBeUndefined();
  });
});

// ---- properties: no leakage past the cutoff, order and duplicates do not matter ----

const SPAN = 10 * DAY;
const eventTypes = [
  'conversation_started',
  'message',
  'lead_qualified',
  'stage_changed',
  'booking_created',
  'booking_cancelled',
  'attendance_recorded',
  'deal_won',
  'deal_lost',
  'contact_enriched',
  'lead_assigned',
  'exception_claimed'
] as const;

/**
 * A random ledger event of any type; the id is set by the list builder so ids stay unique.
 * Times sit on an hour grid so that ties (same millisecond) are common: order must not matter then.
 */
const eventBody = (minAt: number, maxAt: number) =>
  fc
    .record({
      type: fc.constantFrom(...eventTypes),
      occurredAt: fc.integer({ min: 0, max: Math.floor((maxAt - minAt) / HOUR) }).map((k) => minAt + k * HOUR),
      lag: fc.integer({ min: 0, max: DAY }),
      channel: fc.constantFrom('', ...channels),
      stage: fc.constantFrom(...stages),
      intent: fc.constantFrom('whitening', 'invisalign', 'membership'),
      agentId: fc.constantFrom('', 'agent-a', 'agent-b'),
      inbound: fc.boolean(),
      confidence: fc.double({ min: 0, max: 1, noNaN: true }),
      source: fc.constantFrom('referral', 'google search', 'facebook ad', ''),
      attended: fc.boolean(),
      email: fc.constantFrom(undefined, 'a@example.com'),
      phone: fc.constantFrom(undefined, '+353 85 123 4567'),
      value: fc.constantFrom(0, 120, 4800)
    })
    .map((r) => (eventId: string): LedgerEvent => {
      const human = r.type === 'lead_assigned' || r.type === 'exception_claimed';
      const properties: Record<string, unknown> =
        r.type === 'message'
          ? { direction: r.inbound ? 'inbound' : 'outbound', text: 'x' }
          : r.type === 'lead_qualified'
            ? { confidence: r.confidence }
            : r.type === 'conversation_started'
              ? { source: r.source }
              : r.type === 'attendance_recorded'
                ? { bookingId: 'k1', attended: r.attended }
                : r.type === 'contact_enriched'
                  ? { ...(r.email ? { email: r.email } : {}), ...(r.phone ? { phone: r.phone } : {}) }
                  : {};
      return ev({
        eventId,
        type: r.type,
        occurredAt: r.occurredAt,
        receivedAt: r.occurredAt + r.lag,
        channel: r.channel,
        stage: r.type === 'stage_changed' ? r.stage : '',
        intent: r.type === 'lead_qualified' ? r.intent : '',
        actor: human ? 'human:u1' : r.type === 'message' && r.inbound ? 'customer' : 'agent',
        agentId: r.agentId,
        value: r.type === 'deal_won' || r.type === 'deal_lost' ? r.value : 0,
        properties
      });
    });

const eventList = (minAt: number, maxAt: number, maxLength = 30) =>
  fc.array(eventBody(minAt, maxAt), { maxLength }).map((makers) => makers.map((make, i) => make(`ev-${i}`)));

// Cutoffs on the grid (events exactly at the cutoff) or anywhere.
const cutoffs = fc.oneof(fc.integer({ min: 0, max: SPAN / HOUR }).map((k) => T0 + k * HOUR), fc.integer({ min: T0, max: T0 + SPAN + 1 }));
const leadAndCutoff = fc.tuple(eventList(T0, T0 + SPAN), cutoffs);

describe('leadFeatures properties', () => {
  it('ignores anything appended or altered at or after the cutoff', () => {
    fc.assert(
      fc.property(
        leadAndCutoff,
        fc.array(eventBody(0, SPAN), { maxLength: 10 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        fc.array(eventBody(0, SPAN), { maxLength: 30 }),
        ([events, cutoff], extraBodies, reuse, replacements) => {
          // Late events land at cutoff + offset; some reuse an earlier event's id (a late copy).
          const atOrAfter = (e: LedgerEvent) => ({ ...e, occurredAt: cutoff + (e.occurredAt % SPAN) });
          const extra = extraBodies.map((make, i) => {
            const reused = events.length > 0 && reuse[i] !== undefined ? events[reuse[i]! % events.length]!.eventId : `late-${i}`;
            return atOrAfter(make(reused));
          });
          // Every event at or after the cutoff replaced by an arbitrary one (same id, still late).
          const altered = events.map((e, i) => (e.occurredAt >= cutoff && replacements[i] ? atOrAfter(replacements[i]!(e.eventId)) : e));
          expect(leadFeatures([...altered, ...extra], cutoff)).toEqual(leadFeatures(events, cutoff));
        }
      ),
      { numRuns: 300 }
    );
  });

  it('gives the same features whatever the arrival order', () => {
    fc.assert(
      fc.property(
        leadAndCutoff.chain(([events, cutoff]) => fc.tuple(fc.constant(events), fc.shuffledSubarray(events, { minLength: events.length }), fc.constant(cutoff))),
        ([events, shuffled, cutoff]) => {
          expect(leadFeatures(shuffled, cutoff)).toEqual(leadFeatures(events, cutoff));
        }
      ),
      { numRuns: 300 }
    );
  });

  it('counts a redelivered event once', () => {
    fc.assert(
      fc.property(
        leadAndCutoff.chain(([events, cutoff]) =>
          fc.tuple(
            fc.constant(events),
            fc.shuffledSubarray([...events, ...events.map((e) => structuredClone(e)), ...events.map((e) => structuredClone(e))], {
              minLength: events.length * 3
            }),
            fc.constant(cutoff)
          )
        ),
        ([events, withCopies, cutoff]) => {
          expect(leadFeatures(withCopies, cutoff)).toEqual(leadFeatures(events, cutoff));
        }
      ),
      { numRuns: 200 }
    );
  });

  it('always gives every feature, numbers finite, evidence naming events that were visible', () => {
    fc.assert(
      fc.property(leadAndCutoff, ([events, cutoff]) => {
        const { features, evidence } = leadFeatures(events, cutoff);
        expect(Object.keys(features.numeric)).toEqual([...numericFeatureNames]);
        expect(Object.keys(features.categorical)).toEqual([...categoricalFeatureNames]);
        expect(Object.values(features.numeric).every(Number.isFinite)).toBe(true);
        const visible = new Set(events.filter((e) => e.occurredAt < cutoff).map((e) => e.eventId));
        expect(Object.values(evidence).filter((id) => !visible.has(id))).toEqual([]);
      }),
      { numRuns: 300 }
    );
  });

  it('finds the same outcome whatever the order and copies', () => {
    fc.assert(
      fc.property(
        eventList(T0, T0 + SPAN).chain((events) =>
          fc.tuple(fc.constant(events), fc.shuffledSubarray([...events, ...events], { minLength: events.length * 2 }))
        ),
        ([events, shuffled]) => {
          expect(leadOutcome(shuffled)).toEqual(leadOutcome(events));
        }
      ),
      { numRuns: 200 }
    );
  });
});
