import { stages } from '../../../contracts/events';
import type { StageCounts, TickerItem } from '../../../contracts/wall';
import { queryRows, type ClickHouseClient } from '../clickhouse';
import { canonicalLeads } from './contacts';
import { tickerSummary } from './events';
import { limit, sql } from '../sql';

/**
 * Leads by current stage. The current stage is the stage of the latest stage_changed event by
 * occurred_at, so late and out-of-order deliveries land right, and a duplicated event (same
 * event_id, same time) cannot change an argMax. Ties at the same millisecond go to the later
 * funnel stage. Merged leads count once, as their canonical lead.
 */
export async function countLeadsByStage(client: ClickHouseClient, orgId: string): Promise<StageCounts> {
  const rows = await queryRows<{ stage: string; leads: string }>(
    client,
    sql`SELECT stage, count() AS leads FROM (
          SELECT if(canonical = '', lead_id, canonical) AS lead,
                 argMax(stage, tuple(occurred_at, indexOf(${[...stages]}, stage))) AS stage
          FROM events ANY LEFT JOIN ${canonicalLeads(orgId)} USING lead_id
          WHERE org_id = ${orgId} AND type = 'stage_changed'
          GROUP BY lead
        ) GROUP BY stage`
  );
  const counts: StageCounts = { enquired: 0, qualified: 0, booked: 0, attended: 0, won: 0, lost: 0 };
  for (const r of rows) if (r.stage in counts) counts[r.stage as keyof StageCounts] = Number(r.leads);
  return counts;
}

/** The newest events by arrival, each event once even if it was delivered twice. */
export async function latestEvents(client: ClickHouseClient, orgId: string, count: number): Promise<TickerItem[]> {
  const rows = await queryRows<{
    event_id: string;
    lead_id: string;
    type: string;
    channel: string;
    stage: string;
    actor: string;
    value: number;
    currency: string;
    summary: string;
    text: string;
    occurred_at: string;
    received_at: string;
  }>(
    client,
    sql`SELECT event_id, lead_id, type, channel, stage, actor, value, currency, summary, occurred_at, received_at, text
        FROM (
          SELECT event_id, lead_id, type, channel, stage, actor, value, currency, summary, occurred_at, received_at,
                 visitParamExtractString(properties, 'text') AS text
          FROM events
          WHERE org_id = ${orgId}
          ORDER BY received_at DESC
          LIMIT 1 BY event_id
        )
        ORDER BY received_at DESC
        LIMIT ${limit(count)}`
  );
  return rows.map((r) => ({
    eventId: r.event_id,
    leadId: r.lead_id,
    type: r.type,
    channel: r.channel,
    stage: r.stage,
    actor: r.actor,
    value: Number(r.value),
    currency: r.currency,
    summary: tickerSummary(r.summary, r.text),
    occurredAt: Number(r.occurred_at),
    receivedAt: Number(r.received_at)
  }));
}
