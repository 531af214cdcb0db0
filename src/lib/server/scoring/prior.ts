import type { LedgerEvent } from '../../contracts/events';
import { createEventSource } from '../../../../ingest/simulator';
import { examplesFromLeads, type LeadExample } from '../../../../ml/dataset';
import { ledgerEventFromEventRow, toEventRow } from '../db/queries/events';

/**
 * Training data for the prior model: the generic model that scores an organisation's leads until
 * it has outcomes enough for its own (issue 6 item 4). It learns from synthetic journeys of the
 * demo's AI agents (ingest/simulator.ts, with its documented planted signal), never from another
 * organisation's ledger: one customer's outcomes must not score another's leads.
 */

/** ~4,000 examples: enough for a stable generic model, trained in seconds (once per MODEL_DIR). */
const PRIOR_LEADS = 1_500;
const MINUTE = 60_000;

export function priorExamples(seed: number): LeadExample[] {
  let clock = Date.UTC(2026, 0, 1);
  const source = createEventSource({ seed, leads: 200, runId: 'prior', now: () => clock });
  const leads = new Map<string, LedgerEvent[]>();
  // Events a minute apart, so response times and days look like a small business's. Journeys
  // still going when the last one has started stay open and give no examples.
  while (source.leadsStarted < PRIOR_LEADS) {
    clock += MINUTE;
    const event = source.next();
    const list = leads.get(event.leadId) ?? [];
    list.push(ledgerEventFromEventRow(toEventRow(event, 'prior', clock)));
    leads.set(event.leadId, list);
  }
  return examplesFromLeads(leads, { seed });
}
