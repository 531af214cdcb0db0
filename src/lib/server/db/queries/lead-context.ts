import { queryRows, type ClickHouseClient } from '../clickhouse';
import { limit, sql } from '../sql';
import { canonicalLeads } from './contacts';

/** What a follow-up draft is written from: the contact, the last messages, the next booking. */
export interface DraftFacts {
  name: string;
  language: string;
  bookingAt: number | null;
  /** Oldest first. */
  messages: { direction: 'inbound' | 'outbound'; text: string; at: number; channel: string }[];
}

/** Events of a canonical lead and of every lead merged into it (as leads.ts reads them). */
const ofLead = (orgId: string, canonical: string) =>
  sql`(lead_id = ${canonical} OR lead_id IN (SELECT lead_id FROM ${canonicalLeads(orgId)} WHERE canonical = ${canonical}))`;

export async function draftFacts(client: ClickHouseClient, orgId: string, leadId: string, messageCount = 10): Promise<DraftFacts> {
  const [contact, messages] = await Promise.all([
    queryRows<{ name: string; language: string; booking_at: string }>(
      client,
      sql`SELECT
            argMaxIf(visitParamExtractString(properties, 'name'), occurred_at, type = 'contact_enriched' AND visitParamExtractString(properties, 'name') != '') AS name,
            argMaxIf(visitParamExtractString(properties, 'language'), occurred_at, type = 'contact_enriched' AND visitParamExtractString(properties, 'language') != '') AS language,
            argMaxIf(visitParamExtractString(properties, 'startsAt'), occurred_at, type = 'booking_created') AS booking_at
          FROM events WHERE org_id = ${orgId} AND ${ofLead(orgId, leadId)}`
    ),
    queryRows<{ direction: string; text: string; at: string; channel: string }>(
      client,
      // The LIMIT outside the de-duplicating subquery (see leadTimeline: 18.16 on a Distributed table).
      sql`SELECT direction, text, at, channel FROM (
            SELECT direction, text, at, channel, event_id FROM (
              SELECT visitParamExtractString(properties, 'direction') AS direction, visitParamExtractString(properties, 'text') AS text,
                     occurred_at AS at, channel, event_id
              FROM events WHERE org_id = ${orgId} AND ${ofLead(orgId, leadId)} AND type = 'message'
              ORDER BY occurred_at DESC, event_id LIMIT 1 BY event_id
            ) ORDER BY at DESC, event_id LIMIT ${limit(messageCount)}
          ) ORDER BY at, event_id`
    )
  ]);
  const c = contact[0];
  return {
    name: c?.name ?? '',
    language: c?.language ?? '',
    // ISO text as the agent sent it (validated at ingest); parsed here, not by the server's parser.
    bookingAt: c?.booking_at ? Date.parse(c.booking_at) || null : null,
    messages: messages
      .filter((m) => m.direction === 'inbound' || m.direction === 'outbound')
      .map((m) => ({ direction: m.direction as 'inbound' | 'outbound', text: m.text, at: Number(m.at), channel: m.channel }))
  };
}
