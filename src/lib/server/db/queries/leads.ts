import { stages } from '../../../contracts/events';
import type { LeadSummary, TimelineEntry } from '../../../contracts/leads';
import { queryRows, type ClickHouseClient } from '../clickhouse';
import { limit, sql, trustedSql, type SqlFragment } from '../sql';
import { canonicalLeadId, canonicalLeads } from './contacts';

/**
 * Leads are not a table: a lead is the fold of its events in the ledger. Current stage is the
 * latest stage_changed by occurred_at (ties to the later stage), the owner the latest
 * lead_assigned by a person. Every query is scoped by the caller's organisation.
 */
const leadFold = (orgId: string) => sql`SELECT
    if(canonical = '', lead_id, canonical) AS lead,
    argMaxIf(stage, tuple(occurred_at, indexOf(${[...stages]}, stage)), type = 'stage_changed') AS stage,
    argMaxIf(channel, occurred_at, channel != '') AS channel,
    argMaxIf(visitParamExtractString(properties, 'ownerId'), occurred_at, type = 'lead_assigned') AS owner_id,
    argMaxIf(intent, occurred_at, intent != '') AS intent,
    max(occurred_at) AS last_activity_at,
    argMax(type, occurred_at) AS last_type,
    uniqExact(event_id) AS events
  FROM events ANY LEFT JOIN ${canonicalLeads(orgId)} USING lead_id
  WHERE org_id = ${orgId}`;

/** Events of a canonical lead and of every lead merged into it. */
const ofLead = (orgId: string, canonical: string) =>
  sql`(lead_id = ${canonical} OR lead_id IN (SELECT lead_id FROM ${canonicalLeads(orgId)} WHERE canonical = ${canonical}))`;

interface LeadRow {
  lead: string;
  stage: string;
  channel: string;
  owner_id: string;
  intent: string;
  last_activity_at: string;
  last_type: string;
  events: string;
}

const toLead = (r: LeadRow): LeadSummary => ({
  leadId: r.lead,
  stage: r.stage,
  channel: r.channel,
  ownerId: r.owner_id,
  intent: r.intent,
  lastActivityAt: Number(r.last_activity_at),
  lastType: r.last_type,
  events: Number(r.events)
});

/**
 * One lead of the organisation, or null if it has no events there (another org's lead included).
 * A merged lead's id finds the lead it was merged into.
 */
export async function findLead(client: ClickHouseClient, orgId: string, leadId: string): Promise<LeadSummary | null> {
  const canonical = await canonicalLeadId(client, orgId, leadId);
  const rows = await queryRows<LeadRow>(client, sql`${leadFold(orgId)} AND ${ofLead(orgId, canonical)} GROUP BY lead HAVING lead = ${canonical}`);
  return rows[0] ? toLead(rows[0]) : null;
}

/** The most recently active leads, optionally only those owned by one user. */
export async function listLeads(
  client: ClickHouseClient,
  orgId: string,
  options: { ownerId?: string; count: number }
): Promise<LeadSummary[]> {
  const having: SqlFragment = options.ownerId !== undefined ? sql`HAVING owner_id = ${options.ownerId}` : trustedSql('');
  const rows = await queryRows<LeadRow>(
    client,
    sql`${leadFold(orgId)} GROUP BY lead ${having}
        ORDER BY last_activity_at DESC LIMIT ${limit(options.count)}`
  );
  return rows.map(toLead);
}

/** A row's properties JSON as flat scalars; anything else (nested, unreadable) is left out. */
function flatProperties(json: string): TimelineEntry['properties'] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return {}; // a damaged properties string costs that row its details, not the whole timeline
  }
  const out: TimelineEntry['properties'] = {};
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return out;
  for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = v;
  }
  return out;
}

/**
 * A canonical lead's events (its merged leads' too) in the order they happened, each once. A
 * history longer than `count` keeps its latest events: what happened last is what a reviewer needs.
 */
export async function leadTimeline(client: ClickHouseClient, orgId: string, leadId: string, count = 500): Promise<TimelineEntry[]> {
  const rows = await queryRows<{
    event_id: string;
    type: string;
    channel: string;
    stage: string;
    intent: string;
    actor: string;
    summary: string;
    text: string;
    value: number;
    currency: string;
    occurred_at: string;
    properties: string;
  }>(
    client,
    // The LIMIT outside the de-duplicating subquery: 18.16 on a Distributed table applies a LIMIT
    // in the same SELECT on each shard before LIMIT 1 BY, and returns too few rows (issue 8).
    sql`SELECT * FROM (
          SELECT event_id, type, channel, stage, intent, actor, summary, visitParamExtractString(properties, 'text') AS text,
                 value, currency, occurred_at, properties
          FROM events
          WHERE org_id = ${orgId} AND ${ofLead(orgId, leadId)}
          ORDER BY occurred_at DESC, event_id DESC
          LIMIT 1 BY event_id
        )
        ORDER BY occurred_at DESC, event_id DESC
        LIMIT ${limit(count)}`
  );
  return rows.reverse().map((r) => ({
    eventId: r.event_id,
    type: r.type,
    channel: r.channel,
    stage: r.stage,
    intent: r.intent,
    actor: r.actor,
    summary: r.summary,
    text: r.text,
    value: Number(r.value),
    currency: r.currency,
    occurredAt: Number(r.occurred_at),
    properties: flatProperties(r.properties)
  }));
}

/**
 * The intents the organisation's leads carry, most used first: offered when a person corrects
 * an intent, so "Teeth whitening" and "teeth whitening" do not become two categories to the model.
 */
export async function knownIntents(client: ClickHouseClient, orgId: string, count = 50): Promise<string[]> {
  const rows = await queryRows<{ intent: string }>(
    client,
    sql`SELECT intent FROM events WHERE org_id = ${orgId} AND intent != '' GROUP BY intent ORDER BY count() DESC, intent LIMIT ${limit(count)}`
  );
  return rows.map((r) => r.intent);
}
