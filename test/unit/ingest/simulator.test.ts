import { describe, expect, it, vi } from 'vitest';
import type { SendResult } from '../../../ingest/client';
import {
  createEventSource,
  createRng,
  createSimulator,
  planJourney,
  replayHistory,
  stampEvent,
  type JourneyPlan
} from '../../../ingest/simulator';
import { agentEventSchema, stages, type AgentEvent, type Stage } from '../../../src/lib/contracts/events';

const fixedNow = () => Date.UTC(2025, 4, 12, 10, 0, 0);

function planMany(seed: number, count: number): JourneyPlan[] {
  const rng = createRng(seed);
  return Array.from({ length: count }, (_, i) =>
    planJourney(rng, { leadId: `lead-${i}`, contactId: `ct-${i}`, agentId: 'agent-aria', startMs: fixedNow() })
  );
}

function take(seed: number, count: number, leads = 300): AgentEvent[] {
  const source = createEventSource({ seed, leads, now: fixedNow });
  return Array.from({ length: count }, () => source.next());
}

function stagesOf(events: readonly { type: string; stage?: Stage }[]): Stage[] {
  return events.flatMap((e) => (e.type === 'stage_changed' && e.stage ? [e.stage] : []));
}

/** enquired < qualified < booked < attended < won, with lost allowed only as the last stage. */
function isFunnelOrder(path: Stage[]): boolean {
  const rank = (s: Stage) => stages.indexOf(s);
  return path.every((s, i) => {
    if (s === 'lost') return i === path.length - 1;
    return i === 0 ? s === 'enquired' : rank(s) === rank(path[i - 1]!) + 1;
  });
}

const stream = take(11, 20_000);

describe('planJourney', () => {
  const plans = planMany(7, 2000);

  it('plans events that all parse with the contract schema', () => {
    const failures = plans
      .flatMap((p) => p.events)
      .map((e) => agentEventSchema.safeParse(stampEvent(e, fixedNow())))
      .filter((r) => !r.success);
    expect(failures).toEqual([]);
  });

  it('moves every lead through the funnel in order, one stage at a time', () => {
    const outOfOrder = plans.map((p) => stagesOf(p.events)).filter((path) => !isFunnelOrder(path));
    expect(outOfOrder).toEqual([]);
  });

  it('ends won and lost journeys on that stage and leaves silent ones open', () => {
    for (const plan of plans) {
      const last = stagesOf(plan.events).at(-1);
      if (plan.outcome === 'silent') expect(last).not.toMatch(/^(won|lost)$/);
      else expect(last).toBe(plan.outcome);
    }
  });

  it('only records attendance and deals after a booking was created', () => {
    for (const plan of plans) {
      const booked = new Set<string>();
      for (const e of plan.events) {
        if (e.type === 'booking_created') booked.add(e.bookingId);
        if (e.type === 'attendance_recorded' || e.type === 'booking_cancelled') expect(booked).toContain(e.bookingId);
        if (e.type === 'deal_won') expect(plan.events).toContainEqual(expect.objectContaining({ type: 'attendance_recorded', attended: true }));
      }
    }
  });

  it('has plausible funnel proportions over 2,000 journeys', () => {
    const reached = (stage: Stage) => plans.filter((p) => stagesOf(p.events).includes(stage)).length;
    const [qualified, booked, attended, won] = (['qualified', 'booked', 'attended', 'won'] as const).map(reached);
    const noShows = plans.filter((p) => p.events.some((e) => e.type === 'attendance_recorded' && !e.attended)).length;
    const silent = plans.filter((p) => p.outcome === 'silent').length;
    expect(qualified! / plans.length).toBeGreaterThan(0.5);
    expect(qualified! / plans.length).toBeLessThan(0.8);
    expect(booked! / qualified!).toBeGreaterThan(0.4);
    expect(booked! / qualified!).toBeLessThan(0.7);
    expect(attended! / booked!).toBeGreaterThan(0.65);
    expect(attended! / booked!).toBeLessThan(0.9);
    expect(noShows / (noShows + attended!)).toBeGreaterThan(0.12);
    expect(noShows / (noShows + attended!)).toBeLessThan(0.28);
    expect(won! / attended!).toBeGreaterThan(0.45);
    expect(won! / attended!).toBeLessThan(0.75);
    expect(silent / plans.length).toBeGreaterThan(0.03);
    expect(silent / plans.length).toBeLessThan(0.25);
  });

  it('spreads leads over every channel with WhatsApp the most common', () => {
    const byChannel = new Map<string, number>();
    for (const p of plans) byChannel.set(p.channel, (byChannel.get(p.channel) ?? 0) + 1);
    expect([...byChannel.keys()].sort()).toEqual(['email', 'messenger', 'phone', 'sms', 'webchat', 'whatsapp']);
    expect(Math.max(...byChannel.values())).toBe(byChannel.get('whatsapp'));
  });

  it('plants the signal documented at the top of simulator.ts: better sources, contact details and faster replies win more', () => {
    const closed = plans.filter((p) => p.outcome !== 'silent');
    const winShare = (keep: (p: JourneyPlan) => boolean) => {
      const group = closed.filter(keep);
      return group.filter((p) => p.outcome === 'won').length / group.length;
    };
    const sourceOf = (p: JourneyPlan) => p.events.flatMap((e) => (e.type === 'conversation_started' ? [e.source] : []))[0];
    const hasEmail = (p: JourneyPlan) => p.events.some((e) => e.type === 'contact_enriched' && e.email);
    expect(winShare((p) => sourceOf(p) === 'referral')).toBeGreaterThan(2 * winShare((p) => sourceOf(p) === 'facebook ad'));
    expect(winShare(hasEmail)).toBeGreaterThan(1.3 * winShare((p) => !hasEmail(p)));
    expect(winShare((p) => p.replyPace > 1)).toBeGreaterThan(2 * winShare((p) => p.replyPace < 1));
    // Channel is not part of the signal: WhatsApp and the rest win at about the same rate.
    expect(Math.abs(winShare((p) => p.channel === 'whatsapp') - winShare((p) => p.channel !== 'whatsapp'))).toBeLessThan(0.06);
  });

  it('is deterministic for a seed and differs between seeds', () => {
    expect(planMany(7, 200)).toEqual(plans.slice(0, 200));
    expect(planMany(8, 200)).not.toEqual(plans.slice(0, 200));
  });
});

describe('createEventSource', () => {

  it('emits events that all parse with the contract schema', () => {
    const failures = stream.map((e) => agentEventSchema.safeParse(e)).filter((r) => !r.success);
    expect(failures).toEqual([]);
  });

  it('gives every event a unique id', () => {
    expect(new Set(stream.map((e) => e.eventId)).size).toBe(stream.length);
  });

  it('keeps each lead in funnel order while interleaving many leads', () => {
    const byLead = new Map<string, AgentEvent[]>();
    for (const e of stream) byLead.set(e.leadId, [...(byLead.get(e.leadId) ?? []), e]);
    expect(byLead.size).toBeGreaterThan(300);
    const outOfOrder = [...byLead.values()].map(stagesOf).filter((path) => !isFunnelOrder(path));
    expect(outOfOrder).toEqual([]);
  });

  it('keeps at most `leads` leads active and stamps occurredAt from now()', () => {
    const source = createEventSource({ seed: 3, leads: 25, now: fixedNow });
    for (let i = 0; i < 2000; i++) {
      expect(source.next().occurredAt).toBe('2025-05-12T10:00:00.000Z');
      expect(source.leadsActive).toBeLessThanOrEqual(25);
    }
    expect(source.leadsStarted).toBeGreaterThan(25);
  });

  it("answers won leads' customers faster than lost ones' (the reply pace of the planted signal)", () => {
    let clock = 0;
    const source = createEventSource({ seed: 4, leads: 100, now: () => (clock += 60_000) });
    const byLead = new Map<string, AgentEvent[]>();
    for (let i = 0; i < 30_000; i++) {
      const e = source.next();
      byLead.set(e.leadId, [...(byLead.get(e.leadId) ?? []), e]);
    }
    // Minutes from the customer's opening message to the agent's first answer, per outcome.
    const firstAnswer = (events: AgentEvent[]) => {
      const opener = events.find((e) => e.type === 'message' && e.direction === 'inbound');
      const answer = events.find((e) => e.type === 'message' && e.direction === 'outbound');
      return opener && answer ? (Date.parse(answer.occurredAt) - Date.parse(opener.occurredAt)) / 60_000 : undefined;
    };
    // The mean, not the median: the signal is in the slow tail (slow agents take ~8× as long).
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const gaps = (type: string) =>
      [...byLead.values()].filter((events) => events.some((e) => e.type === type)).flatMap((events) => firstAnswer(events) ?? []);
    const [won, lost] = [gaps('deal_won'), gaps('deal_lost')];
    expect(won.length).toBeGreaterThan(200);
    expect(lost.length).toBeGreaterThan(200);
    expect(mean(won)).toBeLessThan(0.8 * mean(lost));
  });

  it('replays the same sequence for the same seed, and another for another seed', () => {
    expect(take(11, 3000)).toEqual(stream.slice(0, 3000));
    expect(take(12, 3000)).not.toEqual(stream.slice(0, 3000));
  });
});

describe('createSimulator', () => {
  function collector() {
    const sent: AgentEvent[] = [];
    const client = {
      send: (event: AgentEvent | readonly AgentEvent[]): Promise<SendResult> => {
        const events = Array.isArray(event) ? event : [event as AgentEvent];
        sent.push(...events);
        return Promise.resolve({ accepted: events.map((e) => e.eventId), rejected: [] });
      }
    };
    return { client, sent };
  }

  it('sends the seeded stream through the client, no faster than ratePerSecond', async () => {
    const { client, sent } = collector();
    const simulator = createSimulator({ client, seed: 11, ratePerSecond: 400, tickMs: 5, now: fixedNow });
    const startedAt = performance.now();
    simulator.start();
    await vi.waitFor(() => expect(sent.length).toBeGreaterThanOrEqual(50));
    await simulator.stop();
    const elapsedSeconds = (performance.now() - startedAt) / 1000;
    expect(sent.length).toBeLessThanOrEqual(400 * elapsedSeconds + 1);
    expect(sent).toEqual(stream.slice(0, sent.length));
    expect(simulator.stats()).toMatchObject({ emitted: sent.length, accepted: sent.length, failed: 0, outstanding: 0 });
  });

  it('pauses at maxOutstanding while the client does not answer, and stop() waits for those sends', async () => {
    const release: (() => void)[] = [];
    const client = {
      send: (event: AgentEvent) =>
        new Promise<SendResult>((resolve) => release.push(() => resolve({ accepted: [event.eventId], rejected: [] })))
    };
    const simulator = createSimulator({ client, seed: 5, ratePerSecond: 1000, tickMs: 5, maxOutstanding: 10, now: fixedNow });
    simulator.start();
    await vi.waitFor(() => expect(release).toHaveLength(10));
    // Freeing one slot lets exactly one more event out: the bound, not the rate, was holding it back.
    release.shift()!();
    await vi.waitFor(() => expect(release).toHaveLength(10));
    expect(simulator.stats()).toMatchObject({ emitted: 11, outstanding: 10 });

    const stopping = simulator.stop().then(() => 'stopped');
    for (const answer of release.splice(0, 9)) answer();
    // setImmediate runs after pending promise callbacks, so a stop() that did not wait would have won.
    const beforeLast = await Promise.race([stopping, new Promise((resolve) => setImmediate(resolve, 'waiting'))]);
    expect(beforeLast).toBe('waiting');
    release.splice(0).forEach((answer) => answer());
    expect(await stopping).toBe('stopped');
    expect(simulator.stats()).toMatchObject({ emitted: 11, accepted: 11, outstanding: 0 });
  });

  it('counts a failed send and keeps going', async () => {
    let calls = 0;
    const client = {
      send: (event: AgentEvent) =>
        ++calls === 1 ? Promise.reject(new Error('boom')) : Promise.resolve({ accepted: [event.eventId], rejected: [] })
    };
    const errors: unknown[] = [];
    const simulator = createSimulator({ client, seed: 9, ratePerSecond: 500, tickMs: 5, now: fixedNow, onError: (e) => errors.push(e) });
    simulator.start();
    await vi.waitFor(() => expect(calls).toBeGreaterThanOrEqual(5));
    await simulator.stop();
    expect(simulator.stats()).toMatchObject({ failed: 1, accepted: calls - 1 });
    expect(errors).toEqual([new Error('boom')]);
  });
});

describe('replayHistory', () => {
  it('sends the requested events in batches, stamped evenly across the window, in time order', async () => {
    const sent: AgentEvent[][] = [];
    const sink = {
      async send(events: AgentEvent | readonly AgentEvent[]) {
        const list = Array.isArray(events) ? [...events] : [events as AgentEvent];
        sent.push(list);
        return { accepted: list.map((e) => e.eventId), rejected: [] };
      }
    };
    let clock = 0;
    const source = createEventSource({ seed: 3, leads: 20, now: () => clock });
    const fromMs = Date.parse('2026-11-01T00:00:00Z');
    const accepted = await replayHistory(sink, source, {
      fromMs,
      toMs: fromMs + 1_000_000,
      events: 1_050,
      batchSize: 500,
      setClock: (ms) => (clock = ms)
    });
    expect(accepted).toBe(1_050);
    expect(sent.map((b) => b.length)).toEqual([500, 500, 50]);
    const times = sent.flat().map((e) => Date.parse(e.occurredAt));
    expect(times[0]).toBeGreaterThan(fromMs);
    expect(times.at(-1)).toBe(fromMs + 1_000_000);
    expect(times.every((t, i) => i === 0 || t >= times[i - 1]!)).toBe(true);
  });
});
