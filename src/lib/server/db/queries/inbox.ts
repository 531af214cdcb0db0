import { stages } from '../../../contracts/events';
import { leadEventTypes } from '../../../contracts/leads';
import type { LeadFilter } from '../../../contracts/lead-query';
import { queryRows, type ClickHouseClient } from '../clickhouse';
import { inList, join, limit, sql, type SqlFragment } from '../sql';
import { canonicalLeads } from './contacts';

const DAY = 86_400_000;
const STAGES = [...stages];

/** One lead as the inbox needs it, folded from the ledger as of `now`. */
export interface InboxLeadRow {
  leadId: string;
  /** Current stage, outcomes included: a deal_won/deal_lost newer than the last stage change closes the lead. */
  stage: string;
  channel: string;
  ownerId: string;
  intent: string;
  name: string;
  /** The latest qualification's summary, else the latest agent summary. */
  summary: string;
  lastActivityAt: number;
  lastActivityType: string;
  createdAt: number;
  snoozedUntil: number;
  reviewedAt: number;
}

/** Which leads, by owner, before the filter: decided by the caller's role and view. */
export type OwnerScope = { kind: 'any' } | { kind: 'owners'; ownerIds: string[] };

interface Row {
  lead: string;
  current_stage: string;
  channel: string;
  owner_id: string;
  intent: string;
  name: string;
  qual_summary: string;
  agent_summary: string;
  last_activity_at: string;
  last_activity_type: string;
  created_at: string;
  snoozed_until: string;
  reviewed_at: string;
}

/**
 * Customers and agents are activity; people's bookkeeping (claims, notes, corrections) is not, so
 * "no activity in 14 days" stays true while a rep reviews the lead.
 */
const ACTIVITY = sql`actor IN ('agent', 'customer')`;

/**
 * Every lead's inbox facts, as of `now`, through the same canonical-lead fold as the rest of the
 * app (merged leads count once, under the surviving lead). Only aggregate states that duplicates
 * cannot move (argMax, max, min), so a re-sent event changes nothing.
 */
function foldQuery(orgId: string, now: number): SqlFragment {
  return sql`
    SELECT if(canonical = '', lead_id, canonical) AS lead,
      argMaxIf(stage, tuple(occurred_at, indexOf(${STAGES}, stage)), type = 'stage_changed') AS stage,
      maxIf(occurred_at, type = 'stage_changed') AS stage_at,
      argMaxIf(type, occurred_at, type IN ('deal_won', 'deal_lost')) AS outcome,
      maxIf(occurred_at, type IN ('deal_won', 'deal_lost')) AS outcome_at,
      argMaxIf(channel, occurred_at, channel != '') AS channel,
      argMaxIf(visitParamExtractString(properties, 'ownerId'), occurred_at, type = ${leadEventTypes.assigned}) AS owner_id,
      argMaxIf(intent, occurred_at, intent != '') AS intent,
      argMaxIf(visitParamExtractString(properties, 'name'), occurred_at,
               type = 'contact_enriched' AND visitParamExtractString(properties, 'name') != '') AS name,
      argMaxIf(summary, occurred_at, type = 'lead_qualified' AND summary != '') AS qual_summary,
      argMaxIf(summary, occurred_at, actor = 'agent' AND summary != '') AS agent_summary,
      maxIf(occurred_at, ${ACTIVITY}) AS last_activity_at,
      argMaxIf(type, occurred_at, ${ACTIVITY}) AS last_activity_type,
      min(occurred_at) AS created_at,
      argMaxIf(visitParamExtractUInt(properties, 'until'), occurred_at, type = ${leadEventTypes.snoozed}) AS snoozed_until,
      maxIf(occurred_at, type = ${leadEventTypes.reviewed}) AS reviewed_at
    FROM events ANY LEFT JOIN ${canonicalLeads(orgId)} USING lead_id
    WHERE org_id = ${orgId} AND occurred_at <= ${now}
    GROUP BY lead`;
}

/** The filter's SQL-side conditions (value, score band and exception kind are applied after, in JS). */
function conditions(filter: LeadFilter, scope: OwnerScope, now: number, includeHidden: boolean): SqlFragment[] {
  const where: SqlFragment[] = [];
  where.push(filter.stages ? sql`current_stage IN ${inList(filter.stages)}` : sql`current_stage NOT IN ('won', 'lost')`);
  if (filter.channels) where.push(sql`channel IN ${inList(filter.channels)}`);
  if (scope.kind === 'owners') where.push(sql`owner_id IN ${inList(scope.ownerIds)}`);
  if (filter.inactiveDays !== undefined) where.push(sql`last_activity_at <= ${now - filter.inactiveDays * DAY}`);
  if (filter.activeWithinDays !== undefined) where.push(sql`last_activity_at >= ${now - filter.activeWithinDays * DAY}`);
  if (filter.createdFrom) where.push(sql`created_at >= ${Date.parse(filter.createdFrom)}`);
  if (filter.createdTo) where.push(sql`created_at < ${Date.parse(filter.createdTo) + DAY}`);
  if (filter.intent) where.push(sql`positionCaseInsensitiveUTF8(intent, ${filter.intent}) > 0`);
  if (!includeHidden) {
    // Snoozed until later, or reviewed with nothing new since: out of the way until that changes.
    where.push(sql`snoozed_until <= ${now}`);
    where.push(sql`NOT (reviewed_at > 0 AND reviewed_at >= last_activity_at)`);
  }
  // A lead that only has people's rows (e.g. a note on a merged id) has no activity to show.
  where.push(sql`last_activity_at > 0`);
  return where;
}

/**
 * Leads of the organisation matching the SQL side of a filter, most recently active first, at
 * most `max`. Values are rendered by the `sql` template, identifiers come from this file only.
 */
export async function inboxLeads(
  client: ClickHouseClient,
  orgId: string,
  now: number,
  options: { filter: LeadFilter; scope: OwnerScope; includeHidden: boolean; max: number }
): Promise<InboxLeadRow[]> {
  const where = conditions(options.filter, options.scope, now, options.includeHidden);
  const rows = await queryRows<Row>(
    client,
    sql`SELECT lead,
          multiIf(outcome_at > stage_at, if(outcome = 'deal_won', 'won', 'lost'), stage = '', 'enquired', stage) AS current_stage,
          channel, owner_id, intent, name, qual_summary, agent_summary, last_activity_at, last_activity_type, created_at,
          snoozed_until, reviewed_at
        FROM (${foldQuery(orgId, now)})
        WHERE ${join(where, ' AND ')}
        ORDER BY last_activity_at DESC, lead
        LIMIT ${limit(options.max)}`
  );
  return rows.map((r) => ({
    leadId: r.lead,
    stage: r.current_stage,
    channel: r.channel,
    ownerId: r.owner_id,
    intent: r.intent,
    name: r.name,
    summary: r.qual_summary || r.agent_summary,
    lastActivityAt: Number(r.last_activity_at),
    lastActivityType: r.last_activity_type,
    createdAt: Number(r.created_at),
    snoozedUntil: Number(r.snoozed_until),
    reviewedAt: Number(r.reviewed_at)
  }));
}
