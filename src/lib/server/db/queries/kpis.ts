import type { WallKpis } from '../../../contracts/wall';
import { queryRows, type ClickHouseClient } from '../clickhouse';
import { canonicalLeads } from './contacts';
import { sql } from '../sql';

/** The funnel up to won; `lost` is not a step, so it reaches index 0 (not counted as progress). */
const FUNNEL = ['enquired', 'qualified', 'booked', 'attended', 'won'];
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/**
 * The wall's KPI tiles. A lead is "new" at its first event of any kind; it "reached" the
 * furthest funnel stage any of its stage_changed events named (a lead booked without an explicit
 * qualification has passed qualification). min/max are unchanged by a duplicated event, so these
 * need no event_id folding; the won value does, since sum would count a copy twice.
 * Days are UTC days: organisations have no time zone setting yet.
 */
export async function wallKpis(client: ClickHouseClient, orgId: string, now: number, windowMs = 7 * DAY_MS): Promise<WallKpis> {
  const windowStart = now - windowMs;
  const dayStart = Math.floor(now / DAY_MS) * DAY_MS;
  // Three independent reads: in parallel, so the tiles cost the slowest, not the sum.
  const [[leads], won, activity] = await Promise.all([
    queryRows<{ new_last_hour: string; in_window: string; qualified: string; booked: string }>(
      client,
      sql`SELECT countIf(first_at >= ${now - HOUR_MS} AND first_at <= ${now}) AS new_last_hour,
                 countIf(first_at >= ${windowStart} AND first_at <= ${now}) AS in_window,
                 countIf(first_at >= ${windowStart} AND first_at <= ${now} AND reached >= 2) AS qualified,
                 countIf(first_at >= ${windowStart} AND first_at <= ${now} AND reached >= 3) AS booked
          FROM (
            SELECT if(canonical = '', lead_id, canonical) AS lead,
                   min(occurred_at) AS first_at,
                   maxIf(indexOf(${FUNNEL}, stage), type = 'stage_changed') AS reached
            FROM events ANY LEFT JOIN ${canonicalLeads(orgId)} USING lead_id
            WHERE org_id = ${orgId}
            GROUP BY lead
          )`
    ),
    queryRows<{ currency: string; value: number; deals: string }>(
      client,
      sql`SELECT currency, sum(value) AS value, count() AS deals FROM (
            SELECT event_id, currency, value FROM events
            WHERE org_id = ${orgId} AND type = 'deal_won' AND occurred_at >= ${dayStart} AND occurred_at <= ${now}
            LIMIT 1 BY event_id
          ) GROUP BY currency ORDER BY value DESC`
    ),
    recentActivity(client, orgId, now)
  ]);
  const inWindow = Number(leads?.in_window ?? 0);
  const share = (n: string | undefined) => (inWindow > 0 ? Number(n ?? 0) / inWindow : 0);
  return {
    newLeadsLastHour: Number(leads?.new_last_hour ?? 0),
    leadsInWindow: inWindow,
    qualificationRate: share(leads?.qualified),
    bookingRate: share(leads?.booked),
    wonToday: won.map((w) => ({ currency: w.currency, value: Number(w.value), deals: Number(w.deals) })),
    windowMs,
    activity
  };
}

const BUCKET_MS = 60_000;
const BUCKETS = 60;

/**
 * Events received per minute over the last hour (by arrival, not occurred_at: this is the live
 * load on the agents). The current, partial minute is the last bucket.
 */
async function recentActivity(client: ClickHouseClient, orgId: string, now: number): Promise<WallKpis['activity']> {
  const from = (Math.floor(now / BUCKET_MS) - (BUCKETS - 1)) * BUCKET_MS;
  // An event counts once, at its first arrival: a retried copy received a minute later is not
  // more load on the agents.
  const rows = await queryRows<{ bucket: string; events: string; inbound: string; last_events: string; last_inbound: string }>(
    client,
    sql`SELECT intDiv(first - ${from}, ${BUCKET_MS}) AS bucket, count() AS events, countIf(actor = 'customer') AS inbound,
               countIf(first > ${now - BUCKET_MS}) AS last_events, countIf(first > ${now - BUCKET_MS} AND actor = 'customer') AS last_inbound
        FROM (
          SELECT event_id, min(received_at) AS first, any(actor) AS actor
          FROM events
          WHERE org_id = ${orgId} AND received_at >= ${from} AND received_at <= ${now}
          GROUP BY event_id
        )
        GROUP BY bucket`
  );
  const events = new Array<number>(BUCKETS).fill(0);
  const inbound = new Array<number>(BUCKETS).fill(0);
  const lastMinute = { events: 0, inbound: 0 };
  for (const r of rows) {
    lastMinute.events += Number(r.last_events);
    lastMinute.inbound += Number(r.last_inbound);
    const i = Number(r.bucket);
    if (i < 0 || i >= BUCKETS) continue;
    events[i] = Number(r.events);
    inbound[i] = Number(r.inbound);
  }
  return { from, bucketMs: BUCKET_MS, events, inbound, lastMinute };
}
