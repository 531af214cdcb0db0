import type { LedgerEvent } from '../src/lib/contracts/events';
import type { LabelledExample } from '../src/lib/contracts/model';
import { leadFeatures, leadOutcome } from './features';
import { seededRandom } from './random';

/**
 * Training examples from the ledger (issue 6). A closed lead gives several examples: its features
 * at a few moments before its outcome, each labelled with that outcome.
 *
 * Why several cutoffs per lead: the live model scores open leads at every point of their life,
 * from the first message to the day after the visit. One example per lead (say, just before the
 * outcome) would teach it only what a lead looks like at the end, where the stage alone gives the
 * answer away; random moments across the lead's life match what it will be asked.
 *
 * Why the split must be by lead: a lead's examples share most of their features and all of their
 * label, so the same lead in train and test makes the holdout score a memory test. Each example
 * carries `leadId`-as-`id` and its lead's `outcomeAt`; `splitByOutcomeTime` puts whole leads on
 * one side, the leads that closed first in training and the latest in the holdout, which is how
 * the model is used (trained on the past, scoring leads that close later). Splitting examples by
 * `at` alone would put a lead's early cutoffs in train and its late ones in test.
 */

/** A labelled example that also says when its lead's outcome happened (for the split). */
export interface LeadExample extends LabelledExample {
  /** Epoch ms of the lead's first outcome, the same for all examples of a lead. */
  outcomeAt: number;
  /** The event the label comes from. */
  outcomeEventId: string;
}

/** A generator seeded per lead (FNV-1a of the id), so Map order never matters. */
function rngFor(seed: number, leadId: string): () => number {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  for (let i = 0; i < leadId.length; i++) h = Math.imul(h ^ leadId.charCodeAt(i), 0x01000193);
  return seededRandom(h);
}

const isQualification = (e: LedgerEvent): boolean => e.type === 'lead_qualified' || (e.type === 'stage_changed' && e.stage === 'qualified');

/**
 * Cutoffs in (lo, hi), both exclusive, as integers: `count` uniform draws. Empty when the gap
 * holds no whole millisecond.
 */
function drawBetween(rng: () => number, lo: number, hi: number, count: number): number[] {
  if (hi - lo < 2) return [];
  return Array.from({ length: count }, () => lo + 1 + Math.floor(rng() * (hi - lo - 1)));
}

/**
 * Cutoff moments for one closed lead: `count` moments strictly after its first event (so the
 * features see at least one event) and strictly before its outcome, one of them after
 * qualification when the lead was qualified before the outcome. Sorted, without repeats.
 */
export function sampleCutoffs(events: readonly LedgerEvent[], outcomeAt: number, rng: () => number, count: number): number[] {
  const before = events.filter((e) => e.occurredAt < outcomeAt);
  if (before.length === 0 || count < 1) return [];
  // reduce, not Math.min(...spread): a long lead would overflow the argument stack.
  const firstAt = before.reduce((m, e) => Math.min(m, e.occurredAt), Infinity);
  const qualifiedAt = before.filter(isQualification).reduce((m, e) => Math.min(m, e.occurredAt), Infinity);
  const afterQualification = Number.isFinite(qualifiedAt) ? drawBetween(rng, qualifiedAt, outcomeAt, 1) : [];
  const rest = drawBetween(rng, firstAt, outcomeAt, count - afterQualification.length);
  return [...new Set([...afterQualification, ...rest])].sort((a, b) => a - b);
}

/**
 * Examples for every lead with an outcome; open leads give none (they have no label yet).
 * `cutoffsPerLead` (default 3) moments per lead; deterministic for a seed, whatever the Map order.
 */
export function examplesFromLeads(
  leads: ReadonlyMap<string, readonly LedgerEvent[]>,
  opts: { seed: number; cutoffsPerLead?: number }
): LeadExample[] {
  const count = opts.cutoffsPerLead ?? 3;
  const out: LeadExample[] = [];
  for (const [leadId, events] of leads) {
    const outcome = leadOutcome(events);
    if (!outcome) continue;
    for (const at of sampleCutoffs(events, outcome.at, rngFor(opts.seed, leadId), count)) {
      out.push({
        id: leadId,
        features: leadFeatures(events, at).features,
        label: outcome.label,
        at,
        outcomeAt: outcome.at,
        outcomeEventId: outcome.eventId
      });
    }
  }
  return out;
}

/**
 * Whole leads into train and test for trainAndEvaluate's `split`: leads ordered by outcome time
 * (ties by id), the last `holdoutFraction` of them the test set. No lead is on both sides.
 */
export function splitByOutcomeTime(
  examples: readonly Pick<LeadExample, 'id' | 'outcomeAt'>[],
  holdoutFraction = 0.2
): { train: Set<string>; test: Set<string> } {
  const outcomeOf = new Map<string, number>();
  for (const e of examples) outcomeOf.set(e.id, e.outcomeAt);
  const ordered = [...outcomeOf].sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([id]) => id);
  const testCount = Math.round(ordered.length * Math.min(1, Math.max(0, holdoutFraction)));
  const cut = ordered.length - testCount;
  return { train: new Set(ordered.slice(0, cut)), test: new Set(ordered.slice(cut)) };
}
