import {
  funnelSteps as STEPS,
  type DropOffLead,
  type FunnelQuery,
  type FunnelResult,
  type FunnelStep,
  type FunnelStepFigure,
  type StopReasons
} from '../../../contracts/funnel';
import { bookkeepingEventTypes } from '../../../contracts/leads';
import { queryRows, type ClickHouseClient } from '../clickhouse';
import { inList, limit as limitOf, sql, trustedSql, type SqlFragment } from '../sql';
import { canonicalLeads } from './contacts';
import { tickerSummary } from './events';

/**
 * The drop-off funnel (issue 5 item 1), folded from `stage_changed` events. The choices:
 * - Cohort: a lead belongs to the window [from, to) when its FIRST funnel step (any of
 *   enquired..won, over its whole history) lies in it, so each lead is in one cohort and a lead
 *   that enquired last month is not re-counted today.
 * - Monotone: reaching step k implies passing every step before it. Step k's time is the first
 *   event at step k or later (t_k = minIf(occurred_at, step >= k)), so a lead booked without a
 *   `qualified` event passed qualified when it booked (0 ms qualified → booked). It also makes
 *   t_1 <= t_2 <= … hold, so a stage event delivered late or out of order cannot break the order.
 * - Conversion window: step k counts when t_k <= t_1 + window (as windowFunnel measures it).
 * - `lost` is not a step; a lost lead dropped where it was.
 * - Duplicates: every event is read once (FINAL) before it is counted.
 * - Merged leads count once, as the canonical lead (ANY LEFT JOIN on lead_links, as wall.ts).
 * - Split: a lead's channel (agent) is the first non-empty one on any of its events: where it
 *   came in and who took it, not who touched it last.
 * - Stop reasons and drop-off lists look at a lead's events up to the end of its own window, so
 *   a step taken after the window does not pose as the reason it stopped.
 *
 * Why minIf and not windowFunnel: src/bin/bench-funnel.ts on this machine's 18.16 (2 shared,
 * busy cores; 50k leads, 336k rows; median / fastest of 9 interleaved runs), step counts only:
 * minIf 238 / 108 ms, windowFunnel 233 / 110, groupArray arrays 227 / 162; windowFunnel plus
 * the minIf step times that the medians need 271 / 128. Over four bench runs windowFunnel's
 * median was 0–15% below minIf's, within this machine's noise, and a funnel built on it must
 * still compute the step times, which costs more than minIf alone. windowFunnel also wants
 * UInt32 seconds on 18.16 (UInt64 ms is refused) and there does not chain several conditions
 * met by one event (one `booked` event with step >= 1, >= 2, >= 3 gives level 1), so it cannot
 * express the monotone funnel portably. Folding copies costs more than the funnel itself:
 * FINAL 445 / 171 ms, GROUP BY lead_id, event_id 659 / 253 (same run).
 */

const stepList = (): string[] => [...STEPS];
const horizon = (q: FunnelQuery) => q.to + q.conversionWindowMs;

/**
 * The organisation's ledger rows that can matter (before `to + window`: a later step must lie
 * within the window of an entry before `to`), each event once, under its canonical lead.
 * `step` is 1..5 for a funnel stage_changed, else 0. Only stage_changed rows unless `allTypes`;
 * never bookkeeping events (claims, assignments, merges), which are not what the customer did.
 * FINAL folds copies of an event (same sort key org_id, lead_id, event_id) before anything is
 * counted; it measured about two thirds of the cost of GROUP BY lead_id, event_id here.
 * PREWHERE before FINAL is safe because copies of one event agree on org_id and type.
 */
export function ledgerRows(orgId: string, q: FunnelQuery, allTypes: boolean): SqlFragment {
  return sql`SELECT if(canonical = '', lead_id, canonical) AS lead, lead_id, event_id, type,
                    if(type = 'stage_changed', indexOf(${stepList()}, stage), 0) AS step,
                    type = 'stage_changed' AND stage = 'lost' AS lost,
                    channel, agent_id, intent, actor, occurred_at
    FROM (
      SELECT lead_id, event_id, type, stage, channel, agent_id, intent, actor, occurred_at
      FROM events FINAL
      PREWHERE org_id = ${orgId} AND (${allTypes} OR type = 'stage_changed') AND type NOT IN ${inList([...bookkeepingEventTypes])}
      WHERE occurred_at < ${horizon(q)}
    ) AS e
    ANY LEFT JOIN ${canonicalLeads(orgId)} AS links USING lead_id`;
}

/**
 * Per canonical lead of the organisation: its funnel facts from the `lead_funnel` states
 * (migration 5); minIf yields 0 when nothing matched. Most leads were never merged: for them
 * FINAL merges each lead's partial states as a sorted read, which measured 3–4× faster than
 * GROUP BY over the same rows on 18.16 (150k leads: ~120 vs ~410 ms). Only the few lead ids that
 * take part in a merge (either side of a link) are grouped under their canonical lead.
 */
function leadFacts(orgId: string): SqlFragment {
  const merged = sql`(SELECT lead_id FROM lead_links WHERE org_id = ${orgId}
                      UNION ALL SELECT canonical_lead_id AS lead_id FROM lead_links WHERE org_id = ${orgId})`;
  return sql`
    SELECT lead_id AS lead, finalizeAggregation(s_top) AS top,
           finalizeAggregation(s_t1) AS t1, finalizeAggregation(s_t2) AS t2, finalizeAggregation(s_t3) AS t3,
           finalizeAggregation(s_t4) AS t4, finalizeAggregation(s_t5) AS t5, finalizeAggregation(s_lost) AS lost_at,
           tupleElement(finalizeAggregation(s_channel), 3) AS first_channel,
           tupleElement(finalizeAggregation(s_agent), 3) AS first_agent
    FROM lead_funnel FINAL
    WHERE org_id = ${orgId} AND lead_id NOT IN ${merged}
    UNION ALL
    SELECT if(canonical = '', lead_id, canonical) AS lead, maxMerge(s_top) AS top,
           minIfMerge(s_t1) AS t1, minIfMerge(s_t2) AS t2, minIfMerge(s_t3) AS t3, minIfMerge(s_t4) AS t4,
           minIfMerge(s_t5) AS t5, maxIfMerge(s_lost) AS lost_at,
           tupleElement(minIfMerge(s_channel), 3) AS first_channel, tupleElement(minIfMerge(s_agent), 3) AS first_agent
    FROM (SELECT * FROM lead_funnel WHERE org_id = ${orgId} AND lead_id IN ${merged}) AS f
    ANY LEFT JOIN ${canonicalLeads(orgId)} AS links USING lead_id
    GROUP BY lead`;
}

/** `split_value` of a lead: the first channel or agent id it showed (empty without a split). */
function splitValue(q: FunnelQuery): SqlFragment {
  if (q.split === 'channel') return trustedSql('first_channel');
  if (q.split === 'agent') return trustedSql('first_agent');
  return trustedSql(`''`);
}

/**
 * One row per lead of the cohort: `entered_at` (t1), t2..t5, `level` (1..5: the last step
 * reached within the window), `lost_at` (0 when never lost) and `split_value`. Read from the
 * per-lead summary, not the ledger: duplicates and arrival order cannot change a min or a max.
 */
export function journeys(orgId: string, q: FunnelQuery): SqlFragment {
  const w = q.conversionWindowMs;
  const within = (k: number) => trustedSql(`(top >= ${k} AND t${k} <= t1 + ${w})`);
  const filter = q.splitValue !== undefined ? sql`AND split_value = ${q.splitValue}` : trustedSql('');
  return sql`SELECT lead, t1 AS entered_at, t2, t3, t4, t5, lost_at, split_value,
                    1 + ${within(2)} + ${within(3)} + ${within(4)} + ${within(5)} AS level
    FROM (SELECT *, ${splitValue(q)} AS split_value FROM (${leadFacts(orgId)}))
    WHERE top >= 1 AND t1 >= ${q.from} AND t1 < ${q.to} ${filter}`;
}

interface StepRow {
  is_split: number;
  value: string;
  c: string[];
  opens: string[];
  /** Per step after the first: the SPREAD quantiles of the time from the previous step. */
  med: string[][];
}

/** p10, p25, p50, p75, p90 of the time between steps (exact; the wall draws them as a box plot). */
const SPREAD = trustedSql('0.1, 0.25, 0.5, 0.75, 0.9');

const spreadOf = (q: readonly string[]) => {
  const [p10, p25, p50, p75, p90] = q.map(Number);
  return { p10: p10 ?? 0, p25: p25 ?? 0, p50: p50 ?? 0, p75: p75 ?? 0, p90: p90 ?? 0 };
};

const pct = (part: number, whole: number): number | null => (whole > 0 ? (part / whole) * 100 : null);

function toFigures(row: StepRow): FunnelStepFigure[] {
  const counts = row.c.map(Number);
  return STEPS.map((step, i) => {
    const count = counts[i] ?? 0;
    const last = i === STEPS.length - 1;
    const dropped = last ? 0 : count - (counts[i + 1] ?? 0);
    return {
      step,
      count,
      conversionPct: i === 0 ? null : pct(count, counts[i - 1] ?? 0),
      dropped,
      dropOffPct: last ? null : pct(dropped, count),
      stillOpen: last ? 0 : Number(row.opens[i] ?? 0),
      medianMsFromPrevious: i === 0 || count === 0 ? null : Number(row.med[i - 1]?.[2]),
      spreadMsFromPrevious: i === 0 || count === 0 ? null : spreadOf(row.med[i - 1] ?? [])
    };
  });
}

/**
 * Count, conversion, drop-off and median time per step for the cohort of `q`; with `q.split`
 * the same per channel or agent (each lead counts once overall and once in its split value).
 */
export async function funnelSteps(client: ClickHouseClient, orgId: string, q: FunnelQuery, now = Date.now()): Promise<FunnelResult> {
  const asOf = q.asOf ?? now;
  const w = q.conversionWindowMs;
  // One pass over the cohort: arrayJoin copies each lead into the total row and its split row.
  const parts = q.split ? trustedSql(`[tuple(0, ''), tuple(1, split_value)]`) : trustedSql(`[tuple(0, '')]`);
  const rows = await queryRows<StepRow>(
    client,
    sql`SELECT part.1 AS is_split, part.2 AS value,
               [countIf(level >= 1), countIf(level >= 2), countIf(level >= 3), countIf(level >= 4), countIf(level >= 5)] AS c,
               [countIf(level = 1 AND is_open), countIf(level = 2 AND is_open), countIf(level = 3 AND is_open),
                countIf(level = 4 AND is_open)] AS opens,
               [quantilesExactIf(${SPREAD})(t2 - entered_at, level >= 2), quantilesExactIf(${SPREAD})(t3 - t2, level >= 3),
                quantilesExactIf(${SPREAD})(t4 - t3, level >= 4), quantilesExactIf(${SPREAD})(t5 - t4, level >= 5)] AS med
        FROM (
          SELECT *, arrayJoin(${parts}) AS part, lost_at = 0 AND entered_at + ${w} > ${asOf} AS is_open
          FROM (${journeys(orgId, q)})
        )
        GROUP BY is_split, value
        ORDER BY is_split, value`
  );
  const total = rows.find((r) => Number(r.is_split) === 0);
  const empty: StepRow = { is_split: 0, value: '', c: [], opens: [], med: [] };
  const result: FunnelResult = { steps: toFigures(total ?? empty) };
  if (q.split) {
    result.splits = rows.filter((r) => Number(r.is_split) === 1).map((r) => ({ value: r.value, steps: toFigures(r) }));
  }
  return result;
}

/**
 * One row per lead that dropped (level < 5; only `step` when given), folded from its events up
 * to the end of its own conversion window: last event, intent, speaker and the agent's answer time.
 */
function droppedLeads(orgId: string, q: FunnelQuery, step?: number): SqlFragment {
  const only = step !== undefined ? sql`level = ${step}` : trustedSql('level < 5');
  return sql`SELECT lead, dropped_at, entered_at, last_event_id, last_lead_id, last_type, last_at, last_intent, channel, agent_id,
           multiIf(speaker = '', 'none', speaker = 'customer', 'customer', speaker LIKE 'human:%', 'human', 'agent') AS last_speaker,
           arrayFilter(x -> x > last_in, outs) AS replies,
           multiIf(inbound = 0, 'no_inbound', length(replies) = 0, 'unanswered',
                   arrayReduce('min', replies) - last_in < 60000, 'under_1m',
                   arrayReduce('min', replies) - last_in < 300000, '1m_5m',
                   arrayReduce('min', replies) - last_in < 3600000, '5m_1h',
                   arrayReduce('min', replies) - last_in < 86400000, '1h_24h', 'over_24h') AS response
    FROM (
      SELECT lead, any(j_level) AS dropped_at, any(j_entered) AS entered_at,
             argMax(event_id, tuple(occurred_at, event_id)) AS last_event_id,
             argMax(lead_id, tuple(occurred_at, event_id)) AS last_lead_id,
             argMax(type, tuple(occurred_at, event_id)) AS last_type,
             max(occurred_at) AS last_at,
             argMaxIf(intent, tuple(occurred_at, event_id), intent != '') AS last_intent,
             argMaxIf(actor, tuple(occurred_at, event_id), type = 'message') AS speaker,
             countIf(type = 'message' AND actor = 'customer') AS inbound,
             maxIf(occurred_at, type = 'message' AND actor = 'customer') AS last_in,
             groupArrayIf(occurred_at, type = 'message' AND actor != 'customer') AS outs,
             argMinIf(channel, tuple(occurred_at, event_id), channel != '') AS channel,
             argMinIf(agent_id, tuple(occurred_at, event_id), agent_id != '') AS agent_id
      FROM (${ledgerRows(orgId, q, true)}) AS ev
      ALL INNER JOIN (SELECT lead, level AS j_level, entered_at AS j_entered FROM (${journeys(orgId, q)}) WHERE ${only}) AS j USING lead
      WHERE occurred_at <= j_entered + ${q.conversionWindowMs}
      GROUP BY lead
    )`;
}

/** The distribution of why leads stopped, for each step but `won`. */
export async function stopReasons(client: ClickHouseClient, orgId: string, q: FunnelQuery): Promise<StopReasons[]> {
  const rows = await queryRows<{ dropped_at: number; dim: string; key: string; leads: string }>(
    client,
    sql`SELECT dropped_at, d.1 AS dim, d.2 AS key, count() AS leads
        FROM (
          SELECT dropped_at,
                 arrayJoin([tuple('type', last_type), tuple('intent', last_intent), tuple('speaker', last_speaker),
                            tuple('response', response)]) AS d
          FROM (${droppedLeads(orgId, q)})
        )
        GROUP BY dropped_at, dim, key
        ORDER BY dropped_at, dim, leads DESC, key`
  );
  return STEPS.slice(0, -1).map((step, i) => {
    const of = (dim: string) =>
      rows.filter((r) => Number(r.dropped_at) === i + 1 && r.dim === dim).map((r) => ({ key: r.key, leads: Number(r.leads) }));
    const lastEventType = of('type');
    return {
      step,
      dropped: lastEventType.reduce((n, b) => n + b.leads, 0),
      lastEventType,
      lastIntent: of('intent'),
      lastSpeaker: of('speaker'),
      agentResponse: of('response')
    };
  });
}

/** Who dropped at `step` (reached it, nothing later within the window), most recently active first. */
export async function dropOffLeads(
  client: ClickHouseClient,
  orgId: string,
  step: FunnelStep,
  q: FunnelQuery,
  count: number
): Promise<DropOffLead[]> {
  if (step === 'won') return []; // nothing follows won, so nobody drops there
  const leads = await queryRows<{
    lead: string;
    entered_at: string;
    last_event_id: string;
    last_lead_id: string;
    last_type: string;
    last_at: string;
    channel: string;
    agent_id: string;
  }>(client, sql`${droppedLeads(orgId, q, STEPS.indexOf(step) + 1)} ORDER BY last_at DESC, lead LIMIT ${limitOf(count)}`);
  if (leads.length === 0) return [];
  // Summary and message text only for the listed events: reading `properties` for the whole
  // ledger would cost more than the rest of the query.
  const texts = await queryRows<{ lead_id: string; event_id: string; summary: string; text: string }>(
    client,
    sql`SELECT lead_id, event_id, any(summary) AS summary, any(visitParamExtractString(properties, 'text')) AS text
        FROM events
        WHERE org_id = ${orgId} AND lead_id IN ${inList(leads.map((l) => l.last_lead_id))}
          AND event_id IN ${inList(leads.map((l) => l.last_event_id))}
        GROUP BY lead_id, event_id`
  );
  const byKey = new Map(texts.map((t) => [`${t.lead_id}\n${t.event_id}`, t]));
  return leads.map((l) => {
    const t = byKey.get(`${l.last_lead_id}\n${l.last_event_id}`);
    return {
      leadId: l.lead,
      enteredAt: Number(l.entered_at),
      lastEventType: l.last_type,
      lastSummary: t ? tickerSummary(t.summary, t.text) : '',
      lastEventAt: Number(l.last_at),
      channel: l.channel,
      agentId: l.agent_id
    };
  });
}
