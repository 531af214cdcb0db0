import type { LedgerEvent } from '../../contracts/events';
import { ledgerEventFromEventRow, type EventRow } from '../db/queries/events';

/**
 * Recently scored leads' histories and last scores, kept in memory so that rescoring a lead after
 * its own events (issue 6: "< 50 ms from event to new score") needs no ClickHouse read: committed
 * rows are appended here as they are pushed. A lead not held here is read from ClickHouse once.
 *
 * Only the active trainer scores (issue 8), and every process's committed rows reach it
 * (cluster/bus.ts), so what it holds stays whole; a process that becomes the trainer starts empty
 * (Scorer.reset).
 * Leads involved in a merge are dropped: their canonical history changes shape.
 */
export interface LeadHistories {
  get(orgId: string, leadId: string): LedgerEvent[] | undefined;
  /** Store a history read from ClickHouse (with rows noted while it was being read merged in). */
  put(orgId: string, leadId: string, events: LedgerEvent[]): void;
  /** Mark leads as being read, so rows committed meanwhile are kept for `put`. */
  reading(orgId: string, leadIds: readonly string[]): void;
  /** The read is over: stop keeping rows for leads it did not `put`. */
  doneReading(orgId: string, leadIds: readonly string[]): void;
  /** Committed ledger rows: appended to held leads, merges drop theirs. */
  note(rows: readonly EventRow[]): void;
  lastScore(orgId: string, leadId: string): number | undefined;
  setScore(orgId: string, leadId: string, score: number): void;
  readonly size: number;
}

const key = (orgId: string, leadId: string) => `${orgId}\n${leadId}`;

export function createLeadHistories(maxLeads = 5_000): LeadHistories {
  const held = new Map<string, { events: LedgerEvent[]; ids: Set<string>; score?: number }>();
  const whileReading = new Map<string, LedgerEvent[]>();

  const touch = (k: string) => {
    const entry = held.get(k);
    if (entry) {
      held.delete(k);
      held.set(k, entry); // Map order is the LRU order
    }
    return entry;
  };

  return {
    get(orgId, leadId) {
      return touch(key(orgId, leadId))?.events;
    },
    put(orgId, leadId, events) {
      const k = key(orgId, leadId);
      const extra = whileReading.get(k) ?? [];
      whileReading.delete(k);
      const ids = new Set(events.map((e) => e.eventId));
      const all = [...events, ...extra.filter((e) => !ids.has(e.eventId))];
      for (const e of extra) ids.add(e.eventId);
      held.set(k, { events: all, ids, score: held.get(k)?.score });
      while (held.size > maxLeads) held.delete(held.keys().next().value!);
    },
    reading(orgId, leadIds) {
      for (const id of leadIds) if (!whileReading.has(key(orgId, id))) whileReading.set(key(orgId, id), []);
    },
    doneReading(orgId, leadIds) {
      for (const id of leadIds) whileReading.delete(key(orgId, id));
    },
    note(rows) {
      for (const row of rows) {
        const orgId = String(row.org_id);
        const leadId = String(row.lead_id);
        const k = key(orgId, leadId);
        if (row.type === 'leads_merged') {
          held.delete(k);
          const merged = (JSON.parse(String(row.properties)) as { mergedLeadId?: string }).mergedLeadId;
          if (merged) held.delete(key(orgId, merged));
          continue;
        }
        // This runs for every committed row: convert only rows of leads held or being read.
        const entry = held.get(k);
        const reading = whileReading.get(k);
        if (!entry && !reading) continue;
        const event = ledgerEventFromEventRow(row);
        if (entry && !entry.ids.has(event.eventId)) {
          entry.events.push(event);
          entry.ids.add(event.eventId);
        }
        reading?.push(event);
      }
    },
    lastScore(orgId, leadId) {
      return held.get(key(orgId, leadId))?.score;
    },
    setScore(orgId, leadId, score) {
      const entry = held.get(key(orgId, leadId));
      if (entry) entry.score = score;
    },
    get size() {
      return held.size;
    }
  };
}
