import type { AgentEvent, Channel, Stage } from '../src/lib/contracts/events';
import type { SendResult } from './client';

/**
 * A demo of AI agents working a few hundred leads. All randomness comes from one seeded PRNG,
 * so a seed replays the same events (with the same ids: replaying a seed into the same ledger is
 * deduplicated, so pass a new seed or runId for fresh data). Only pacing uses the real clock.
 *
 * Planted signal (issue 6), so the lead-scoring model has something real to learn from the demo.
 * Each journey has a quality shift `q` in logit units, the sum of things visible in its events:
 *   - source (conversation_started.source): referral +1.4, google search +1.0, website +0.4,
 *     google maps +0.2, instagram ad -1.0, facebook ad -1.2;
 *   - enrichment (contact_enriched): email +1.0, phone +0.8;
 *   - agent reply pace (how fast the agent answers a customer's message, measurable as the time
 *     from an inbound message to the next outbound one): fast (30% of leads, picked 2.5× as
 *     often while the customer waits) +1.0, normal (50%) 0, slow (20%, 0.3×) -1.4;
 *   - after qualification, intent confidence (lead_qualified.confidence, 0.70..0.98):
 *     +10 × (confidence - 0.84);
 *   minus 0.5, so the average journey keeps the funnel's base rates. Each step's base chance p
 *   then becomes sigmoid(logit(p) + k·q): k = 0.5 for qualifying and attending, k = 1 for
 *   booking and for winning after the visit (base 0.5 there, see WIN_AFTER_VISIT). The silent /
 *   not-a-fit branches keep their chances. In effect (20,000 journeys): referral leads win about
 *   4× as often as paid-social ones, fast-answered leads about 4× as often as slow ones.
 *   Strong enough that a model trained on the demo ranks held-out leads at ROC AUC ≈ 0.85 rather
 *   than ≈ 0.76 from funnel progress alone (test/integration/ml/dataset.test.ts).
 * Nothing else (channel, intent, agent id, time of day) changes an outcome.
 */

export type Rng = () => number;

/** mulberry32: tiny, fast and good enough for a demo; not for anything secret. */
export function createRng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(rng: Rng, items: readonly T[]): T => items[Math.floor(rng() * items.length)]!;
const chance = (rng: Rng, p: number): boolean => rng() < p;
const between = (rng: Rng, lo: number, hi: number): number => lo + Math.floor(rng() * (hi - lo + 1));
function pickWeighted<T>(rng: Rng, entries: readonly (readonly [T, number])[]): T {
  let roll = rng() * entries.reduce((sum, [, w]) => sum + w, 0);
  for (const [item, weight] of entries) if ((roll -= weight) < 0) return item;
  return entries[entries.length - 1]![0];
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** An event before it is emitted: `occurredAt` is stamped when it is sent. */
export type PlannedEvent = DistributiveOmit<AgentEvent, 'occurredAt'>;
type EventBody = DistributiveOmit<PlannedEvent, 'eventId' | 'leadId' | 'contactId' | 'agentId' | 'channel'>;

export type JourneyOutcome = 'won' | 'lost' | 'silent';
export interface JourneyInput {
  leadId: string;
  contactId: string;
  agentId: string;
  /** Epoch ms when the conversation starts; booking times are planned from it. */
  startMs: number;
}
export interface JourneyPlan {
  leadId: string;
  channel: Channel;
  intent: string;
  outcome: JourneyOutcome;
  events: PlannedEvent[];
  /**
   * How often the source picks this lead while its customer waits for an answer, relative to
   * other leads (1 = normal): the agent's reply speed, part of the planted signal.
   */
  replyPace: number;
}

// Rough share of inbound conversations per channel for small service businesses in Europe.
const channelWeights: readonly (readonly [Channel, number])[] = [
  ['whatsapp', 38], ['webchat', 20], ['messenger', 14], ['phone', 10], ['email', 10], ['sms', 8]
];
const sources = ['instagram ad', 'google search', 'website', 'facebook ad', 'referral', 'google maps'];

// The planted signal (see the top of the file), in logit units.
const sourceShift: Record<string, number> = {
  referral: 1.4, 'google search': 1.0, website: 0.4, 'google maps': 0.2, 'instagram ad': -1.0, 'facebook ad': -1.2
};
const paces: readonly (readonly [{ pace: number; shift: number }, number])[] = [
  [{ pace: 2.5, shift: 1.0 }, 30], [{ pace: 1, shift: 0 }, 50], [{ pace: 0.3, shift: -1.4 }, 20]
];
const QUALITY_CENTRE = 0.5;
// Better leads reach the visit more often, so the visitors' average shift is above 0; a base of
// 0.5 here keeps the observed won-after-visit share near the old 0.6.
const WIN_AFTER_VISIT = 0.5;
/** A base chance moved by `shift` logits: mild for small shifts, never 0 or 1. */
const adjusted = (p: number, shift: number): number => 1 / (1 + Math.exp(-(Math.log(p / (1 - p)) + shift)));

interface Offer { intent: string; topic: string; price: readonly [number, number]; openers: readonly string[] }
const offers: readonly Offer[] = [
  { intent: 'book a consultation', topic: 'a consultation', price: [60, 150], openers: ['Hi, can I book a consultation?', 'Hello! Any consultation slots this week?'] },
  { intent: 'teeth whitening', topic: 'teeth whitening', price: [250, 450], openers: ['How much is teeth whitening?', 'Hi, do you do whitening? What does it cost?'] },
  { intent: 'pricing enquiry', topic: 'our prices', price: [40, 200], openers: ['Hi, could you send me your prices?', 'What are your rates?'] },
  { intent: 'membership', topic: 'membership', price: [300, 900], openers: ['Hi, how much is a membership?', 'Any membership offers at the moment?'] },
  { intent: 'trial class', topic: 'a trial class', price: [15, 35], openers: ['Can I try a class before signing up?', 'Hi! Is there a free trial class?'] },
  { intent: 'personal training', topic: 'personal training', price: [200, 600], openers: ['Do you offer personal training?', 'Looking for a PT twice a week, possible?'] },
  { intent: 'invisalign assessment', topic: 'Invisalign', price: [2500, 4800], openers: ['Hi, I am interested in Invisalign', 'How long does Invisalign take?'] },
  { intent: 'facial treatment', topic: 'a facial', price: [70, 160], openers: ['Do you have availability for a facial?', 'Hi, what facials do you offer?'] }
];
const availability = ['Evenings after 6 suit me best', 'Weekends are easiest', 'As soon as possible really', 'Sometime next week', 'Mornings work better for me'];
const acceptances = ['That works, book me in', 'The first one please', 'Perfect, see you then', 'Yes please!'];
const followUps = ['Hi, just checking in, are you still interested?', 'Let me know if you have any other questions!', 'Would you still like to book?'];
const notAFit = ['just browsing', 'outside service area', 'looking for a different service', 'budget too low'];
const noBooking = ['price too high', 'chose a competitor', 'timing not right', 'no suitable slot'];
const afterVisit = ['price too high', 'wants to think about it', 'chose a competitor', 'not the right fit'];
const firstNames = ['Aoife', 'Liam', 'Sofia', 'Lucas', 'Emma', 'Mateo', 'Chloé', 'Jonas', 'Giulia', 'Noah', 'Marta', 'Finn'];
const lastNames = ['Murphy', 'García', 'Müller', 'Rossi', 'Dubois', 'Silva', 'Kowalski', 'Jansen', 'Byrne', 'Novak'];
const languages = ['en', 'es', 'de', 'fr', 'it', 'pt', 'nl', 'pl'];
const companies = ['Northwind Studio', 'Bluebird Logistics', 'Harbour Dental Group', 'Kite Analytics'];
const days = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

/** One lead's whole conversation, in order. Pure: the same rng state gives the same plan. */
export function planJourney(rng: Rng, input: JourneyInput): JourneyPlan {
  const { leadId, contactId, agentId, startMs } = input;
  const channel = pickWeighted(rng, channelWeights);
  const offer = pick(rng, offers);
  const { pace: replyPace, shift: paceShift } = pickWeighted(rng, paces);
  const source = pick(rng, sources);
  let quality = (sourceShift[source] ?? 0) + paceShift - QUALITY_CENTRE;
  const events: PlannedEvent[] = [];
  let firstName: string | undefined;
  let bookingCount = 0;
  const add = (body: EventBody): void => {
    const eventId = `${leadId}.e${events.length + 1}`;
    events.push({ eventId, leadId, contactId, agentId, channel, ...body });
  };
  const say = (direction: 'inbound' | 'outbound', text: string, summary?: string): void =>
    add({ type: 'message', direction, text, ...(summary ? { summary } : {}) });
  const stage = (to: Stage): void => add({ type: 'stage_changed', stage: to, summary: `Moved to ${to}` });
  const hi = (): string => (firstName ? `Hi ${firstName}! ` : 'Hi! ');
  const plan = (outcome: JourneyOutcome): JourneyPlan => ({ leadId, channel, intent: offer.intent, outcome, events, replyPace });
  const lose = (reason: string, value?: number): JourneyPlan => {
    add({ type: 'deal_lost', reason, summary: `Lost: ${reason}`, ...(value ? { value, currency: 'EUR' } : {}) });
    stage('lost');
    return plan('lost');
  };
  // A customer who stops replying: the agent chases once or twice, then sometimes closes the lead.
  const goSilent = (): JourneyPlan => {
    for (let i = between(rng, 1, 2); i > 0; i--) say('outbound', pick(rng, followUps), 'Followed up, no reply yet');
    return chance(rng, 0.5) ? lose('no response') : plan('silent');
  };

  add({ type: 'conversation_started', source, summary: `New ${channel} conversation` });
  stage('enquired');
  say('inbound', pick(rng, offer.openers), `Customer asked about ${offer.topic}`);
  if (chance(rng, 0.4)) {
    firstName = pick(rng, firstNames);
    const lastName = pick(rng, lastNames);
    const language = pick(rng, languages);
    // A number keeps most people apart; the odd collision plays a customer returning on another channel.
    const email = chance(rng, 0.6) ? `${ascii(firstName)}.${ascii(lastName)}${between(rng, 1, 99)}@example.com` : undefined;
    const phone = chance(rng, 0.5) ? `+353 8${between(rng, 3, 9)} ${between(rng, 100, 999)} ${between(rng, 1000, 9999)}` : undefined;
    const company = chance(rng, 0.1) ? pick(rng, companies) : undefined;
    quality += (email ? 1.0 : 0) + (phone ? 0.8 : 0);
    add({
      type: 'contact_enriched',
      name: `${firstName} ${lastName}`,
      language,
      ...(email ? { email } : {}),
      ...(phone ? { phone } : {}),
      ...(company ? { company } : {}),
      summary: 'Captured contact details from the conversation'
    });
  }
  say('outbound', `${hi()}Thanks for getting in touch. Happy to help with ${offer.topic}.`);
  if (chance(rng, 0.12)) return goSilent();

  say('outbound', 'Which days and times usually suit you?');
  say('inbound', pick(rng, availability));
  if (!chance(rng, adjusted(0.74, 0.5 * quality))) return chance(rng, 0.6) ? lose(pick(rng, notAFit)) : goSilent();

  const confidence = Math.round((0.7 + rng() * 0.28) * 100) / 100;
  quality += 10 * (confidence - 0.84);
  add({ type: 'lead_qualified', intent: offer.intent, confidence, summary: `Qualified: ${offer.intent}` });
  stage('qualified');
  let startsAt = slotAfter(rng, startMs);
  say('outbound', `${hi()}I can offer ${describe(startsAt)}. Shall I book it?`, 'Offered a slot');
  if (!chance(rng, adjusted(0.55, quality))) return chance(rng, 0.6) ? lose(pick(rng, noBooking)) : goSilent();

  const book = (): void => {
    const bookingId = `${leadId}.b${++bookingCount}`;
    add({ type: 'booking_created', bookingId, startsAt: startsAt.toISOString(), summary: `Booked for ${describe(startsAt)}` });
  };
  say('inbound', pick(rng, acceptances));
  book();
  stage('booked');
  say('outbound', `You're booked for ${describe(startsAt)}. See you then!`);
  if (chance(rng, 0.08)) {
    add({ type: 'booking_cancelled', bookingId: `${leadId}.b${bookingCount}`, reason: 'customer cancelled', summary: 'Booking cancelled' });
    if (!chance(rng, 0.5)) return lose('cancelled booking');
    startsAt = slotAfter(rng, startsAt.getTime());
    book();
  }
  const bookingId = `${leadId}.b${bookingCount}`;
  say('outbound', `Reminder: your appointment is ${describe(startsAt)}. Reply C to cancel.`);
  if (!chance(rng, adjusted(0.8, 0.5 * quality))) {
    add({ type: 'attendance_recorded', bookingId, attended: false, summary: 'No-show' });
    say('outbound', 'We missed you today. Would you like to rebook?');
    return lose('no-show');
  }
  add({ type: 'attendance_recorded', bookingId, attended: true, summary: 'Attended' });
  stage('attended');
  const value = between(rng, offer.price[0], offer.price[1]);
  if (!chance(rng, adjusted(WIN_AFTER_VISIT, quality))) return lose(pick(rng, afterVisit), value);
  add({ type: 'deal_won', value, currency: 'EUR', summary: `Won ${offer.intent} for €${value}` });
  stage('won');
  say('outbound', `Great to see you, ${firstName ?? 'and thanks'}! Enjoy, and see you again soon.`);
  return plan('won');
}

/** A business-hours slot 1 to 10 days after `fromMs`, on the hour or half hour (UTC). */
function slotAfter(rng: Rng, fromMs: number): Date {
  const at = new Date(fromMs + between(rng, 1, 10) * 86_400_000);
  at.setUTCHours(between(rng, 9, 18), pick(rng, [0, 30]), 0, 0);
  return at;
}
function describe(at: Date): string {
  const time = `${String(at.getUTCHours()).padStart(2, '0')}:${String(at.getUTCMinutes()).padStart(2, '0')}`;
  return `${days[at.getUTCDay()]} at ${time}`;
}
function ascii(name: string): string {
  return name.normalize('NFD').replace(/[^A-Za-z]/g, '').toLowerCase();
}

export function stampEvent(planned: PlannedEvent, nowMs: number): AgentEvent {
  return { ...planned, occurredAt: new Date(nowMs).toISOString() };
}

export const defaultAgents = ['agent-aria', 'agent-max', 'agent-nova', 'agent-leo', 'agent-iris'] as const;

export interface EventSourceOptions {
  seed: number;
  leads?: number;
  agents?: readonly string[];
  now?: () => number;
  /** Goes into every id; defaults to the seed. */
  runId?: string;
}
export interface EventSource {
  next(): AgentEvent;
  readonly leadsStarted: number;
  readonly leadsActive: number;
}

/**
 * The interleaved stream of many journeys, without timers. Each call starts a lead if fewer
 * than `leads` are active (so the population ramps up instead of opening with a burst of
 * conversation starts), then emits the next event of a randomly chosen active lead. While a
 * lead's customer waits for an answer, its chance of being chosen is scaled by the journey's
 * reply pace, so a slow agent's answers come later in time (the planted signal).
 */
export function createEventSource(options: EventSourceOptions): EventSource {
  const { seed, leads = 300, agents = defaultAgents, now = Date.now, runId = `s${seed}` } = options;
  const rng = createRng(seed);
  const active: { events: PlannedEvent[]; next: number; replyPace: number; waiting: boolean }[] = [];
  let started = 0;
  return {
    next() {
      if (active.length < leads) {
        started++;
        const input = { leadId: `lead-${runId}-${started}`, contactId: `ct-${runId}-${started}`, agentId: pick(rng, agents), startMs: now() };
        const { events, replyPace } = planJourney(rng, input);
        active.push({ events, next: 0, replyPace, waiting: false });
      }
      const weight = (l: (typeof active)[number]) => (l.waiting ? l.replyPace : 1);
      let roll = rng() * active.reduce((sum, l) => sum + weight(l), 0);
      let i = 0;
      while (i < active.length - 1 && (roll -= weight(active[i]!)) >= 0) i++;
      const lead = active[i]!;
      const planned = lead.events[lead.next++]!;
      if (planned.type === 'message') lead.waiting = planned.direction === 'inbound';
      if (lead.next === lead.events.length) active.splice(i, 1);
      return stampEvent(planned, now());
    },
    get leadsStarted() {
      return started;
    },
    get leadsActive() {
      return active.length;
    }
  };
}

/** What the simulator needs from the ingest client. */
export interface EventSink {
  send(events: AgentEvent | readonly AgentEvent[]): Promise<SendResult>;
}

/**
 * Replay `events` events of `source` with occurredAt spread evenly over [fromMs, toMs], as fast
 * as the server acknowledges them, so the demo opens on weeks of pipeline instead of an empty
 * wall. `setClock` moves the clock the source stamps events with; afterwards the caller points
 * it at real time and the same leads carry on live. Resolves to the number of events accepted.
 */
export async function replayHistory(
  client: EventSink,
  source: EventSource,
  options: { fromMs: number; toMs: number; events: number; setClock(ms: number): void; batchSize?: number }
): Promise<number> {
  const batchSize = options.batchSize ?? 500;
  const step = (options.toMs - options.fromMs) / options.events;
  let accepted = 0;
  let batch: AgentEvent[] = [];
  for (let i = 1; i <= options.events; i++) {
    options.setClock(Math.round(options.fromMs + i * step));
    batch.push(source.next());
    if (batch.length === batchSize || i === options.events) {
      accepted += (await client.send(batch)).accepted.length;
      batch = [];
    }
  }
  return accepted;
}

export interface SimulatorOptions extends EventSourceOptions {
  client: EventSink;
  /** Continue an existing source (e.g. after replayHistory) instead of starting a new one. */
  source?: EventSource;
  ratePerSecond?: number;
  /** Unsettled sends before the simulator pauses, so a stalled server stops it instead of filling memory. */
  maxOutstanding?: number;
  tickMs?: number;
  onError?: (error: unknown) => void;
}
/** `failed` counts sends whose promise rejected; `outstanding` those not settled yet. */
export type SimulatorStats = Record<
  'emitted' | 'accepted' | 'rejected' | 'failed' | 'outstanding' | 'leadsStarted' | 'leadsActive',
  number
>;
export interface Simulator {
  start(): void;
  /** Stops emitting and waits for every send already made; the client stays open. */
  stop(): Promise<void>;
  stats(): SimulatorStats;
}

export function createSimulator(options: SimulatorOptions): Simulator {
  const { client, ratePerSecond = 20, maxOutstanding = 2_000, tickMs = 50, onError } = options;
  const source = options.source ?? createEventSource(options);
  const outstanding = new Set<Promise<void>>();
  const counts = { emitted: 0, accepted: 0, rejected: 0, failed: 0 };
  // At most two ticks' worth at once, so catching up after a pause never floods the server.
  const maxBudget = Math.max(1, (ratePerSecond * tickMs * 2) / 1000);
  let interval: ReturnType<typeof setInterval> | undefined;
  let budget = 0;
  let last = 0;

  function tick(): void {
    const t = performance.now();
    budget = Math.min(maxBudget, budget + (ratePerSecond * (t - last)) / 1000);
    last = t;
    while (budget >= 1 && outstanding.size < maxOutstanding) {
      budget--;
      counts.emitted++;
      const sent: Promise<void> = client
        .send(source.next())
        .then(
          (result) => {
            counts.accepted += result.accepted.length;
            counts.rejected += result.rejected.length;
          },
          (error: unknown) => {
            counts.failed++; // counted in stats; a demo keeps running through a failed batch
            onError?.(error);
          }
        )
        .finally(() => outstanding.delete(sent));
      outstanding.add(sent);
    }
  }

  return {
    start() {
      if (interval !== undefined) return;
      last = performance.now();
      interval = setInterval(tick, tickMs);
    },
    async stop() {
      clearInterval(interval);
      interval = undefined;
      while (outstanding.size > 0) await Promise.all(outstanding);
    },
    stats: () => ({
      ...counts,
      outstanding: outstanding.size,
      leadsStarted: source.leadsStarted,
      leadsActive: source.leadsActive
    })
  };
}
