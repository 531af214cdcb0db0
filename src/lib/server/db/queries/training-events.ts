import type { LedgerEvent } from '../../../contracts/events';
import { queryRows, type ClickHouseClient } from '../clickhouse';
import { inList, sql, type SqlFragment } from '../sql';
import { canonicalLeads } from './contacts';
import { ledgerEventFromRow, type StoredEventRow } from './events';

/**
 * Whole lead histories for training and scoring (issue 6): every event of each lead of one
 * organisation, each event once, grouped per lead in lead order and, within a lead, in
 * (occurred_at, event_id) order.
 *
 * Sized for ~100k leads (~1M events): one cheap listing query (lead ids with their event counts,
 * read from two columns), then pages of whole leads fetched by `lead_id IN (…)`, which the
 * primary key (org_id, lead_id, event_id) turns into index ranges. Each page is folded (LIMIT 1
 * BY lead_id, event_id: copies of a retried event are one row) and sorted on the server in a
 * bounded amount of memory, instead of one sort of the whole organisation.
 *
 * Merged leads fold into the lead they were merged into, as every lead-level read does: both
 * ids' events are in that lead's list (each event keeps its own leadId, the ledger's truth).
 *
 * People's rows come back with the agents' (issue 7): nothing here filters by type or actor,
 * because the label (ml/labels.ts) and the features read people's corrections (stage_changed by
 * `human:…`, intent_corrected, leads_unmerged). A correction is written at the time it is made,
 * so `since` also picks up a lead whose only recent event is a correction.
 */

export interface LeadEventsOptions {
  /** Only leads with at least one event at or after this epoch ms; their whole history comes back. */
  since?: number;
  /** Only these leads (canonical ids; a merged lead's id finds the lead it was merged into). */
  leadIds?: readonly string[];
  /** Events per page, roughly (a page holds whole leads). */
  pageEvents?: number;
}

// IN lists stay within 150 KB of rendered ids and 5,000 elements, inside max_query_size (256 KiB)
// and max_ast_elements (50,000) on 18.16 (clickhouse-18.16.md §9) even for 128-character ids.
const MAX_IDS_PER_QUERY = 5000;
const MAX_ID_BYTES_PER_QUERY = 150_000;
// Measured on a generated org of 92k leads / 1.2M events on the shared 2-core machine: the
// stream took 18–27 s with 50k-event pages (heap +250 MB at most) against 28 s with 20k-event
// pages (per-query overhead); loading all of it into a Map took 20–46 s and +520 MB of heap.
const DEFAULT_PAGE_EVENTS = 50_000;

/** Rendered size of an id in an IN list: quotes, escapes and the separator, roughly. */
const idBytes = (id: string) => Buffer.byteLength(id) + 4;

interface LeadGroup {
  lead: string;
  ids: string[];
  events: number;
}

/** Ids in lists that each fit one IN clause. */
function chunkIds(ids: readonly string[]): string[][] {
  const out: string[][] = [];
  let part: string[] = [];
  let bytes = 0;
  for (const id of ids) {
    if (part.length > 0 && (part.length >= MAX_IDS_PER_QUERY || bytes + idBytes(id) > MAX_ID_BYTES_PER_QUERY)) {
      out.push(part);
      part = [];
      bytes = 0;
    }
    part.push(id);
    bytes += idBytes(id);
  }
  if (part.length > 0) out.push(part);
  return out;
}

async function loadLinks(client: ClickHouseClient, orgId: string): Promise<Map<string, string>> {
  const rows = await queryRows<{ lead_id: string; canonical: string }>(
    client,
    sql`SELECT lead_id, canonical FROM ${canonicalLeads(orgId)} WHERE canonical != lead_id AND canonical != ''`
  );
  return new Map(rows.map((r) => [r.lead_id, r.canonical]));
}

/** Raw lead ids with their (unfolded) event counts and last activity, in lead order. */
async function listLeads(
  client: ClickHouseClient,
  orgId: string,
  only: SqlFragment
): Promise<{ lead_id: string; events: string; last_at: string }[]> {
  return queryRows(
    client,
    sql`SELECT lead_id, count() AS events, max(occurred_at) AS last_at
        FROM events WHERE org_id = ${orgId} AND ${only}
        GROUP BY lead_id ORDER BY lead_id`
  );
}

/** The organisation's leads (canonical), each with the raw ids whose events it folds. */
async function leadGroups(client: ClickHouseClient, orgId: string, opts: LeadEventsOptions): Promise<LeadGroup[]> {
  const links = await loadLinks(client, orgId);
  const canonical = (id: string) => links.get(id) ?? id;
  let listed: { lead_id: string; events: string; last_at: string }[];
  if (opts.leadIds) {
    const wanted = new Set(opts.leadIds.map(canonical));
    const ids = [...wanted, ...[...links].filter(([, c]) => wanted.has(c)).map(([id]) => id)];
    const parts = await Promise.all(chunkIds(ids).map((part) => listLeads(client, orgId, sql`lead_id IN ${inList(part)}`)));
    listed = parts.flat();
  } else {
    listed = await listLeads(client, orgId, sql`1`);
  }
  const groups = new Map<string, LeadGroup & { lastAt: number }>();
  for (const r of listed) {
    const lead = canonical(r.lead_id);
    const g = groups.get(lead) ?? { lead, ids: [], events: 0, lastAt: 0 };
    g.ids.push(r.lead_id);
    g.events += Number(r.events);
    g.lastAt = Math.max(g.lastAt, Number(r.last_at));
    groups.set(lead, g);
  }
  const since = opts.since;
  return [...groups.values()]
    .filter((g) => since === undefined || g.lastAt >= since)
    .sort((a, b) => (a.lead < b.lead ? -1 : a.lead > b.lead ? 1 : 0));
}

/** Whole leads per page: about `pageEvents` events, and ids that fit one IN clause. */
function pages(groups: readonly LeadGroup[], pageEvents: number): LeadGroup[][] {
  const out: LeadGroup[][] = [];
  let page: LeadGroup[] = [];
  let events = 0;
  let ids = 0;
  let bytes = 0;
  for (const g of groups) {
    const gBytes = g.ids.reduce((n, id) => n + idBytes(id), 0);
    const full = events + g.events > pageEvents || ids + g.ids.length > MAX_IDS_PER_QUERY || bytes + gBytes > MAX_ID_BYTES_PER_QUERY;
    if (page.length > 0 && full) {
      out.push(page);
      page = [];
      events = 0;
      ids = 0;
      bytes = 0;
    }
    page.push(g);
    events += g.events;
    ids += g.ids.length;
    bytes += gBytes;
  }
  if (page.length > 0) out.push(page);
  return out;
}

const byTime = (a: LedgerEvent, b: LedgerEvent) =>
  a.occurredAt - b.occurredAt || (a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0);

async function fetchPage(client: ClickHouseClient, orgId: string, page: readonly LeadGroup[]): Promise<[string, LedgerEvent[]][]> {
  const ids = page.flatMap((g) => g.ids);
  const rows = await queryRows<StoredEventRow>(
    client,
    sql`SELECT org_id, event_id, lead_id, contact_id, type, channel, stage, intent, actor, agent_id,
               value, currency, summary, occurred_at, received_at, properties
        FROM events
        WHERE org_id = ${orgId} AND lead_id IN ${inList(ids)}
        ORDER BY lead_id, occurred_at, event_id
        LIMIT 1 BY lead_id, event_id`
  );
  const byRawLead = new Map<string, LedgerEvent[]>();
  for (const r of rows) {
    const list = byRawLead.get(r.lead_id);
    const e = ledgerEventFromRow(r);
    if (list) list.push(e);
    else byRawLead.set(r.lead_id, [e]);
  }
  return page.map((g) => {
    if (g.ids.length === 1) return [g.lead, byRawLead.get(g.ids[0]!) ?? []];
    return [g.lead, g.ids.flatMap((id) => byRawLead.get(id) ?? []).sort(byTime)];
  });
}

/**
 * The organisation's leads one at a time, in lead order, each with its folded events in time
 * order. Memory stays at about one page; use this for very large organisations.
 */
export async function* streamOrgLeadEvents(
  client: ClickHouseClient,
  orgId: string,
  opts: LeadEventsOptions = {}
): AsyncGenerator<[leadId: string, events: LedgerEvent[]]> {
  const groups = await leadGroups(client, orgId, opts);
  for (const page of pages(groups, opts.pageEvents ?? DEFAULT_PAGE_EVENTS)) yield* await fetchPage(client, orgId, page);
}

/** Every lead of the organisation (or those asked for) → its folded events, in lead order. */
export async function loadOrgLeadEvents(client: ClickHouseClient, orgId: string, opts: LeadEventsOptions = {}): Promise<Map<string, LedgerEvent[]>> {
  const out = new Map<string, LedgerEvent[]>();
  for await (const [lead, events] of streamOrgLeadEvents(client, orgId, opts)) out.set(lead, events);
  return out;
}
