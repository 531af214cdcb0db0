import type { AgentEvent, LedgerEvent } from '../../../contracts/events';
import type { TickerItem } from '../../../contracts/wall';
import { insertRowsTsv, type ClickHouseClient } from '../clickhouse';

/** Columns of the `events` ledger, in insert order. */
export const EVENT_COLUMNS = [
  'org_id',
  'event_id',
  'lead_id',
  'contact_id',
  'type',
  'channel',
  'stage',
  'intent',
  'actor',
  'agent_id',
  'value',
  'currency',
  'summary',
  'occurred_at',
  'received_at',
  'properties'
] as const;

export type EventRow = Record<(typeof EVENT_COLUMNS)[number], string | number>;

/** Committed rows per organisation, each in the order given: what every consumer of a batch does first. */
export function rowsByOrg(rows: readonly EventRow[]): Map<string, EventRow[]> {
  const byOrg = new Map<string, EventRow[]>();
  for (const r of rows) {
    const list = byOrg.get(String(r.org_id));
    if (list) list.push(r);
    else byOrg.set(String(r.org_id), [r]);
  }
  return byOrg;
}

/** Fields with their own column; everything else an event carries goes to `properties`. */
const COLUMN_FIELDS = new Set([
  'type',
  'eventId',
  'leadId',
  'contactId',
  'occurredAt',
  'agentId',
  'channel',
  'summary',
  'stage',
  'intent',
  'value',
  'currency'
]);

/**
 * Money as Decimal(18,2) takes it: the contract allows float noise such as 0.1 + 0.2 (within
 * 1e-6 of whole cents), but 18.16 refuses a third decimal ("Decimal value is too small"), which
 * would fail the whole batch with every other request's rows in it. A number read back from two
 * decimals prints with at most two (and without an exponent below 1e21).
 */
const cents = (value: number) => Number(value.toFixed(2));

/**
 * The ledger row for an accepted agent event. The organisation comes from the API key, never
 * from the payload; `receivedAt` is the server's clock in epoch milliseconds.
 */
export function toEventRow(
  event: AgentEvent,
  orgId: string,
  receivedAt: number,
  derived?: Record<string, string | boolean>
): EventRow {
  const properties: Record<string, unknown> = {};
  // for…in, not Object.entries: no [key, value] array per field (this runs for every event).
  for (const k in event) {
    const v = event[k as keyof AgentEvent];
    if (v !== undefined && !COLUMN_FIELDS.has(k)) properties[k] = v;
  }
  if (derived) Object.assign(properties, derived);
  const actor = event.type === 'message' && event.direction === 'inbound' ? 'customer' : 'agent';
  return {
    org_id: orgId,
    event_id: event.eventId,
    lead_id: event.leadId,
    contact_id: event.contactId ?? '',
    type: event.type,
    channel: event.channel ?? '',
    stage: event.type === 'stage_changed' ? event.stage : '',
    intent: event.type === 'lead_qualified' ? event.intent : '',
    actor,
    agent_id: event.agentId ?? '',
    value: (event.type === 'deal_won' || event.type === 'deal_lost') && event.value !== undefined ? cents(event.value) : 0,
    currency: (event.type === 'deal_won' || event.type === 'deal_lost') && event.currency ? event.currency : '',
    summary: event.summary ?? '',
    occurred_at: Date.parse(event.occurredAt),
    received_at: receivedAt,
    // Compact JSON with flat keys, so visitParamExtract* can read it on 18.16 (§4.4).
    properties: JSON.stringify(properties)
  };
}

/**
 * A ledger row for an action a person took in the app (assignment, claims, notes, corrections).
 * Same table as agents' events, so timelines and history show who did what. `stage` and
 * `intent` fill their columns only for a person's correction of what the AI wrote (a corrected
 * stage is a `stage_changed` row, so every stage fold takes it); otherwise they stay ''.
 */
export function humanEventRow(input: {
  orgId: string;
  eventId: string;
  leadId: string;
  type: string;
  userId: string;
  summary: string;
  properties: Record<string, string | number>;
  at: number;
  stage?: string;
  intent?: string;
}): EventRow {
  return {
    org_id: input.orgId,
    event_id: input.eventId,
    lead_id: input.leadId,
    contact_id: '',
    type: input.type,
    channel: '',
    stage: input.stage ?? '',
    intent: input.intent ?? '',
    actor: `human:${input.userId}`,
    agent_id: '',
    value: 0,
    currency: '',
    summary: input.summary,
    occurred_at: input.at,
    received_at: input.at,
    properties: JSON.stringify(input.properties)
  };
}

/**
 * The ledger row of a lead merge, on the surviving lead. Its id is derived from the pair, so a
 * retried request that finds the same merge writes the same event and the ledger folds it.
 */
export function mergeEventRow(orgId: string, merge: { into: string; merged: string; signal: string; at: string }, receivedAt: number): EventRow {
  return {
    ...humanEventRow({
      orgId,
      eventId: `merge:${merge.merged}:${merge.into}`,
      leadId: merge.into,
      type: 'leads_merged',
      userId: '',
      summary: `Same ${merge.signal} as lead ${merge.merged}: merged into this lead`,
      properties: { mergedLeadId: merge.merged, signal: merge.signal },
      at: Date.parse(merge.at)
    }),
    actor: 'system',
    received_at: receivedAt
  };
}

/** Rendered as TSV, not JSONEachRow: cheaper here and in ClickHouse (clickhouse-18.16.md §10). */
/**
 * The ledger is partitioned by month of `occurred_at`, and each insert makes one part per month
 * it touches. Modern ClickHouse refuses an insert block spanning more than
 * `max_partitions_per_insert_block` (100) partitions, which would make a backfill batch a poison
 * batch (retried, spooled, replayed, refused forever); 18.16 has no such limit but still pays a
 * part per month. So a batch is sent as inserts of at most this many months each.
 */
export const MAX_MONTHS_PER_INSERT = 50;

/** UTC year*100+month of an epoch-ms time, as the partition key `toYYYYMM(toDateTime(…))` computes it. */
export function partitionMonth(ms: number): number {
  const d = new Date(ms);
  return d.getUTCFullYear() * 100 + d.getUTCMonth() + 1;
}

/**
 * Rows grouped so that each group spans at most `maxMonths` partitions, in month order. One group
 * (the rows as given) in the usual case of a batch within a few months.
 */
export function groupByPartition(rows: readonly EventRow[], maxMonths = MAX_MONTHS_PER_INSERT): (readonly EventRow[])[] {
  const byMonth = new Map<number, EventRow[]>();
  for (const row of rows) {
    const month = partitionMonth(Number(row.occurred_at));
    const list = byMonth.get(month);
    if (list) list.push(row);
    else byMonth.set(month, [row]);
  }
  if (byMonth.size <= maxMonths) return [rows];
  const months = [...byMonth.keys()].sort((a, b) => a - b);
  const groups: EventRow[][] = [];
  for (let i = 0; i < months.length; i += maxMonths) groups.push(months.slice(i, i + maxMonths).flatMap((m) => byMonth.get(m) ?? []));
  return groups;
}

/**
 * Store rows in the ledger. A batch over many months goes as several inserts; if one fails after
 * another committed, the writer retries the whole batch, and the copies fold by event_id.
 */
export async function insertEventRows(client: ClickHouseClient, rows: readonly EventRow[]): Promise<void> {
  for (const group of groupByPartition(rows)) await insertRowsTsv(client, 'events', EVENT_COLUMNS, group);
}

/**
 * What the ticker says about an event: the agent's summary, or else the start of the message
 * text (agents often send messages without a summary, and the words are what a manager reads).
 */
export function tickerSummary(summary: string, text: string): string {
  if (summary) return summary;
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 140 ? `${line.slice(0, 139)}…` : line;
}

function messageText(propertiesJson: string): string {
  const text = (JSON.parse(propertiesJson) as { text?: unknown }).text;
  return typeof text === 'string' ? text : '';
}

export function tickerItemFromRow(row: EventRow): TickerItem {
  return {
    eventId: String(row.event_id),
    leadId: String(row.lead_id),
    type: String(row.type),
    channel: String(row.channel),
    stage: String(row.stage),
    actor: String(row.actor),
    value: Number(row.value),
    currency: String(row.currency),
    summary: tickerSummary(String(row.summary), row.type === 'message' ? messageText(String(row.properties)) : ''),
    occurredAt: Number(row.occurred_at),
    receivedAt: Number(row.received_at)
  };
}

/** A row as read back (64-bit integers arrive as strings, §8.3). */
export interface StoredEventRow {
  org_id: string;
  event_id: string;
  lead_id: string;
  contact_id: string;
  type: string;
  channel: string;
  stage: string;
  intent: string;
  actor: string;
  agent_id: string;
  value: number;
  currency: string;
  summary: string;
  occurred_at: string;
  received_at: string;
  properties: string;
}

export function ledgerEventFromRow(r: StoredEventRow): LedgerEvent {
  return {
    eventId: r.event_id,
    orgId: r.org_id,
    leadId: r.lead_id,
    contactId: r.contact_id,
    type: r.type,
    channel: r.channel,
    stage: r.stage,
    intent: r.intent,
    actor: r.actor,
    agentId: r.agent_id,
    value: Number(r.value),
    currency: r.currency,
    summary: r.summary,
    occurredAt: Number(r.occurred_at),
    receivedAt: Number(r.received_at),
    properties: JSON.parse(r.properties) as Record<string, unknown>
  };
}

/** A row this process built (before or after inserting it) as the app reads it back. */
export function ledgerEventFromEventRow(row: EventRow): LedgerEvent {
  const stored = Object.fromEntries(Object.entries(row).map(([k, v]) => [k, k === 'value' ? Number(v) : String(v)]));
  return ledgerEventFromRow(stored as unknown as StoredEventRow);
}
