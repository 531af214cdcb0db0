import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEventSource, replayHistory, type EventSink } from '../../../ingest/simulator';
import { examplesFromLeads, splitByOutcomeTime, type LeadExample } from '../../../ml/dataset';
import { explainScore } from '../../../ml/explain';
import { leadFeatures } from '../../../ml/features';
import { encode } from '../../../ml/normalize';
import { trainAndEvaluate, type TrainingResult } from '../../../ml/train';
import type { AgentEvent } from '../../../src/lib/contracts/events';
import { saveLinks } from '../../../src/lib/server/db/queries/contacts';
import { insertEventRows, toEventRow } from '../../../src/lib/server/db/queries/events';
import { loadOrgLeadEvents, streamOrgLeadEvents } from '../../../src/lib/server/db/queries/training-events';
import { createTestDatabase, type TestDatabase } from '../../helpers/clickhouse';

/*
 * A generated demo history (ingest/simulator.ts, with its planted signal: source, enrichment,
 * agent reply pace and intent confidence move the win chances) stored in a real ledger, read back
 * per lead, turned into examples and trained on. A second organisation with the same lead ids
 * must never leak into the first's reads.
 */
const ORG = 'org-ml-a';
const OTHER = 'org-ml-b';
const DAY = 86_400_000;
const FROM = Date.UTC(2026, 0, 1);

let db: TestDatabase;
/** What was sent to ORG, per lead, one entry per event id. */
const sent = new Map<string, Map<string, AgentEvent>>();

function ledgerSink(orgId: string, record?: (e: AgentEvent) => void): EventSink {
  return {
    async send(events) {
      const list = Array.isArray(events) ? (events as AgentEvent[]) : [events as AgentEvent];
      list.forEach((e) => record?.(e));
      // Received a minute after it happened: backfilled history, as replayHistory produces.
      await insertEventRows(db.client, list.map((e) => toEventRow(e, orgId, Date.parse(e.occurredAt) + 60_000)));
      return { accepted: list.map((e) => e.eventId), rejected: [] };
    }
  };
}

async function replay(orgId: string, seed: number, events: number, days: number, record?: (e: AgentEvent) => void): Promise<void> {
  let clock = FROM;
  // The same runId for both organisations, so their lead ids collide on purpose.
  const source = createEventSource({ seed, runId: 'demo', leads: 150, now: () => clock });
  await replayHistory(ledgerSink(orgId, record), source, {
    fromMs: FROM,
    toMs: FROM + days * DAY,
    events,
    batchSize: 5000,
    setClock: (ms) => (clock = ms)
  });
}

const firstBatch: AgentEvent[] = [];

beforeAll(async () => {
  db = await createTestDatabase('ml_dataset_test');
  await replay(ORG, 17, 40_000, 120, (e) => {
    if (firstBatch.length < 500) firstBatch.push(e);
    const lead = sent.get(e.leadId) ?? new Map<string, AgentEvent>();
    lead.set(e.eventId, e);
    sent.set(e.leadId, lead);
  });
  // At-least-once delivery: a batch arrives again, as a separate insert (its own part).
  await ledgerSink(ORG).send(firstBatch);
  await replay(OTHER, 99, 5_000, 30);
});

afterAll(async () => {
  await db?.drop();
});

describe('loadOrgLeadEvents', () => {
  it("returns every lead of the organisation once, each event once, in time order, and nothing of another organisation's", async () => {
    const started = performance.now();
    const leads = await loadOrgLeadEvents(db.client, ORG, { pageEvents: 4_000 }); // small pages: many round trips
    console.log(`loadOrgLeadEvents: ${leads.size} leads, ${[...leads.values()].reduce((n, l) => n + l.length, 0)} events in ${Math.round(performance.now() - started)} ms`);
    expect([...leads.keys()]).toEqual([...sent.keys()].sort());
    for (const [leadId, events] of leads) {
      expect(events.map((e) => e.eventId).sort()).toEqual([...sent.get(leadId)!.keys()].sort());
      expect(events.every((e) => e.orgId === ORG && e.leadId === leadId)).toBe(true);
      expect(events.every((e, i) => i === 0 || e.occurredAt >= events[i - 1]!.occurredAt)).toBe(true);
    }
    // Fields survive the round trip: the first event of a lead is its conversation start, with its source.
    const [leadId, events] = [...leads][0]!;
    const start = [...sent.get(leadId)!.values()].find((e) => e.type === 'conversation_started')!;
    expect(events[0]).toMatchObject({ type: 'conversation_started', occurredAt: Date.parse(start.occurredAt), properties: { source: start.type === 'conversation_started' ? start.source : '' } });
  });

  it('streams the same leads page by page', async () => {
    const seen: string[] = [];
    for await (const [leadId, events] of streamOrgLeadEvents(db.client, ORG, { pageEvents: 10_000 })) {
      seen.push(leadId);
      expect(events.length).toBe(sent.get(leadId)!.size);
    }
    expect(seen).toEqual([...sent.keys()].sort());
  });

  it('reads only the leads asked for, or those active since a moment', async () => {
    const some = [...sent.keys()].slice(3, 6);
    const chosen = await loadOrgLeadEvents(db.client, ORG, { leadIds: [...some, 'lead-nobody'] });
    expect([...chosen.keys()]).toEqual([...some].sort());

    const since = FROM + 110 * DAY;
    const recent = await loadOrgLeadEvents(db.client, ORG, { since });
    const expected = [...sent].filter(([, events]) => [...events.values()].some((e) => Date.parse(e.occurredAt) >= since)).map(([id]) => id);
    expect(expected.length).toBeGreaterThan(0);
    expect(expected.length).toBeLessThan(sent.size);
    expect([...recent.keys()]).toEqual(expected.sort());
    // Whole histories, not just the recent part.
    for (const [id, events] of recent) expect(events.length).toBe(sent.get(id)!.size);
  });

  it('folds a merged lead into the lead it was merged into', async () => {
    const [into, merged] = [...sent.keys()].sort().slice(10, 12) as [string, string];
    await saveLinks(db.client, ORG, [{ leadId: merged, canonicalLeadId: into, identity: 'email:same@example.com' }]);
    try {
      const leads = await loadOrgLeadEvents(db.client, ORG, { leadIds: [merged] });
      expect([...leads.keys()]).toEqual([into]);
      const events = leads.get(into)!;
      expect(events).toHaveLength(sent.get(into)!.size + sent.get(merged)!.size);
      expect(events.every((e, i) => i === 0 || e.occurredAt >= events[i - 1]!.occurredAt)).toBe(true);
    } finally {
      // Un-merge (a newer link pointing at itself) so the other tests see the leads as sent.
      await saveLinks(db.client, ORG, [{ leadId: merged, canonicalLeadId: merged, identity: 'email:same@example.com' }]);
    }
  });
});

describe('training on the demo history', () => {
  let examples: LeadExample[];
  let result: TrainingResult;

  beforeAll(async () => {
    const leads = await loadOrgLeadEvents(db.client, ORG);
    examples = examplesFromLeads(leads, { seed: 3 });
    const started = performance.now();
    result = await trainAndEvaluate(examples, { seed: 3, split: splitByOutcomeTime(examples, 0.25) });
    console.log(
      `trained on ${result.counts.train}+${result.counts.validation} examples, held out ${result.counts.holdout} (${new Set(result.holdoutIds).size} leads) in ${Math.round(performance.now() - started)} ms:`,
      result.candidates.map((c) => `${c.kind} AUC ${c.metrics.rocAuc.toFixed(3)}`).join(', ')
    );
  }, 240_000);

  afterAll(() => {
    for (const c of result?.candidates ?? []) c.model.dispose();
  });

  it('has enough closed leads of both outcomes', () => {
    expect(new Set(examples.map((e) => e.id)).size).toBeGreaterThan(1500);
    const wonShare = examples.filter((e) => e.label === 1).length / examples.length;
    expect(wonShare).toBeGreaterThan(0.1);
    expect(wonShare).toBeLessThan(0.5);
  });

  it('ranks held-out leads well above chance on the planted signal (ROC AUC > 0.8)', () => {
    expect(result.best.metrics.rocAuc).toBeGreaterThan(0.8);
  });

  it('explains a held-out score with reasons tied to ledger events', async () => {
    const holdout = examples.find((e) => result.holdoutIds.includes(e.id) && (e.features.numeric.stageReached ?? 0) >= 2)!;
    const leads = await loadOrgLeadEvents(db.client, ORG, { leadIds: [holdout.id] });
    const events = leads.get(holdout.id)!;
    const { features, evidence } = leadFeatures(events, holdout.at);
    expect(features).toEqual(holdout.features);
    const x = encode(result.spec, [features]);
    const { reasons } = explainScore({ contributions: result.best.model.contributions(x, 1), columns: result.spec.columns, features, evidence, top: 5 });
    expect(reasons).toHaveLength(5);
    const ids = new Set(events.map((e) => e.eventId));
    for (const r of reasons) {
      expect(r.text.length).toBeGreaterThan(5);
      if (r.eventId) expect(ids).toContain(r.eventId);
    }
  });
});
