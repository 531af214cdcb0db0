import { describe, expect, it } from 'vitest';
import { createEventSource } from '../../../ingest/simulator';
import { examplesFromLeads, sampleCutoffs, splitByOutcomeTime, type LeadExample } from '../../../ml/dataset';
import { leadFeatures, leadOutcome } from '../../../ml/features';
import type { LedgerEvent } from '../../../src/lib/contracts/events';
import { ledgerEventFromRow, toEventRow, type StoredEventRow } from '../../../src/lib/server/db/queries/events';

const HOUR = 3_600_000;

/** A simulated history as the ledger returns it: through the row shape the app stores. */
function simulatedLeads(seed: number, events: number): Map<string, LedgerEvent[]> {
  let clock = Date.UTC(2026, 0, 5);
  const source = createEventSource({ seed, leads: 60, now: () => clock });
  const leads = new Map<string, LedgerEvent[]>();
  for (let i = 0; i < events; i++) {
    clock += 5 * 60_000;
    const row = toEventRow(source.next(), 'org-a', clock);
    const e = ledgerEventFromRow({ ...row, value: Number(row.value), occurred_at: String(row.occurred_at), received_at: String(row.received_at) } as StoredEventRow);
    leads.set(e.leadId, [...(leads.get(e.leadId) ?? []), e]);
  }
  return leads;
}

const leads = simulatedLeads(21, 6000);
const examples = examplesFromLeads(leads, { seed: 5 });
const byLead = new Map<string, LeadExample[]>();
for (const e of examples) byLead.set(e.id, [...(byLead.get(e.id) ?? []), e]);

describe('examplesFromLeads', () => {
  it('labels every closed lead with its first outcome and skips open ones', () => {
    const closed = [...leads].filter(([, events]) => leadOutcome(events));
    expect(closed.length).toBeGreaterThan(100);
    expect(closed.length).toBeLessThan(leads.size); // some leads are still open at the end of the run
    expect([...byLead.keys()].sort()).toEqual(closed.map(([id]) => id).sort());
    for (const [id, list] of byLead) {
      const outcome = leadOutcome(leads.get(id)!)!;
      expect(list.every((e) => e.label === outcome.label && e.outcomeAt === outcome.at && e.outcomeEventId === outcome.eventId)).toBe(true);
    }
  });

  it('cuts strictly after the first event and strictly before the outcome, up to 3 times per lead', () => {
    for (const [id, list] of byLead) {
      const first = Math.min(...leads.get(id)!.map((e) => e.occurredAt));
      expect(list.length).toBeGreaterThanOrEqual(1);
      expect(list.length).toBeLessThanOrEqual(3);
      for (const e of list) {
        expect(e.at).toBeGreaterThan(first);
        expect(e.at).toBeLessThan(e.outcomeAt);
      }
    }
  });

  it('describes each lead as it was at the cutoff', () => {
    for (const e of examples.slice(0, 200)) expect(e.features).toEqual(leadFeatures(leads.get(e.id)!, e.at).features);
  });

  it('puts at least one cutoff after qualification when the lead was qualified before its outcome', () => {
    let checked = 0;
    for (const [id, list] of byLead) {
      const q = leads.get(id)!.find((e) => e.type === 'lead_qualified');
      if (!q || q.occurredAt + 1 >= list[0]!.outcomeAt) continue;
      checked++;
      expect(list.some((e) => e.at > q.occurredAt)).toBe(true);
    }
    expect(checked).toBeGreaterThan(50);
  });

  it('is the same for a seed whatever the order of the leads, and differs for another seed', () => {
    const reversed = new Map([...leads].reverse());
    const key = (list: LeadExample[]) => list.map((e) => `${e.id}@${e.at}`).sort();
    expect(key(examplesFromLeads(reversed, { seed: 5 }))).toEqual(key(examples));
    expect(key(examplesFromLeads(leads, { seed: 6 }))).not.toEqual(key(examples));
  });

  it("labels a lead a person corrected with the person's outcome, cut before the correction (issue 7)", () => {
    const [id, events] = [...leads].find(([, list]) => leadOutcome(list)?.label === 1)!;
    const agentOutcome = leadOutcome(events)!;
    const correctedAt = agentOutcome.at + 24 * HOUR;
    const correction: LedgerEvent = {
      ...events[0]!,
      eventId: 'correction-1',
      type: 'stage_changed',
      stage: 'lost',
      intent: '',
      actor: 'human:u1',
      agentId: '',
      channel: '',
      occurredAt: correctedAt,
      receivedAt: correctedAt,
      properties: { correction: 'stage', from: 'won' }
    };
    const list = examplesFromLeads(new Map([[id, [...events, correction]]]), { seed: 5, cutoffsPerLead: 5 });
    expect(list.length).toBeGreaterThan(0);
    for (const e of list) {
      expect([e.label, e.outcomeAt, e.outcomeEventId]).toEqual([0, correctedAt, 'correction-1']);
      expect(e.at).toBeLessThan(correctedAt);
      // The correction is the outcome itself: never a feature of its own examples.
      expect(e.features.numeric.correctedByHuman).toBe(0);
    }
  });

  it('takes as many cutoffs as asked', () => {
    const one = examplesFromLeads(leads, { seed: 5, cutoffsPerLead: 1 });
    expect(one).toHaveLength(byLead.size);
  });
});

describe('sampleCutoffs', () => {
  const lead = (times: number[]): LedgerEvent[] =>
    times.map((t, i) => ({ ...leads.values().next().value![0]!, eventId: `x${i}`, type: 'message', occurredAt: t }));

  it('has no room when the outcome is within a millisecond of the first event', () => {
    expect(sampleCutoffs(lead([1000]), 1001, () => 0.5, 3)).toEqual([]);
    expect(sampleCutoffs(lead([1000]), 1002, () => 0.5, 3)).toEqual([1001]);
  });

  it('draws uniformly inside the open interval', () => {
    // lo + 1 + floor(r × (hi − lo − 1)): r = 0 → lo + 1; r just under 1 → hi − 1; r = 0.5 → the middle.
    const draws = [0, 1 - 2 ** -40, 0.5];
    let i = 0;
    expect(sampleCutoffs(lead([0, 5 * HOUR]), 10 * HOUR, () => draws[i++]!, 3)).toEqual([1, 5 * HOUR, 10 * HOUR - 1]);
  });
});

describe('splitByOutcomeTime', () => {
  it('puts whole leads on one side, the latest outcomes in the test set', () => {
    const { train, test } = splitByOutcomeTime(examples, 0.25);
    expect([...train].filter((id) => test.has(id))).toEqual([]);
    expect(train.size + test.size).toBe(byLead.size);
    expect(test.size).toBe(Math.round(byLead.size * 0.25));
    const outcomeOf = (id: string) => byLead.get(id)![0]!.outcomeAt;
    const lastTrain = Math.max(...[...train].map(outcomeOf));
    const firstTest = Math.min(...[...test].map(outcomeOf));
    expect(firstTest).toBeGreaterThanOrEqual(lastTrain);
  });
});
