import { stages } from '../../../contracts/events';
import { exceptionEventTypes, type ExceptionSettings } from '../../../contracts/exceptions';
import { inList, sql, type SqlFragment } from '../sql';
import { canonicalLeads } from './contacts';

/**
 * The SQL behind exceptions (issue 5, item 2). Portable to 18.16 and 24+: one JOIN per level,
 * arrays instead of window functions, visitParamExtract* on the compact JSON properties.
 *
 * Every read is "as of `now`": events with occurred_at after `now` are ignored, so a query at
 * time T answers what was true at T whatever the arrival order, and tests can move the clock.
 * Duplicates of an event_id fold: the lead fold uses only argMax/max/groupUniqArray, which a
 * copy cannot change; in the stage history a copy sorts next to its original (same time, stage
 * and id) and is collapsed into the same run, so it cannot add a stay. (A `LIMIT 1 BY` there was
 * measured at about 20% of the stalled query on 1M events and folded nothing more.)
 * Stage positions are 1-based indexOf over the funnel: enquired 1 … attended 4, won 5, lost 6.
 */

const HOUR = 3_600_000;
const STAGES = [...stages];
const ms = (hours: number) => Math.round(hours * HOUR);

/** A lead id folded into the lead it was merged into, as wall.ts does. */
const canonicalLead = sql`if(canonical = '', lead_id, canonical)`;

/**
 * One row per open lead with a silent / not-attended / no-outcome exception, with the facts and
 * evidence each needs. "Closed" means won or lost (by stage, or a deal outcome newer than the last
 * stage change); closed leads raise nothing.
 */
export function leadFactsQuery(orgId: string, now: number, s: ExceptionSettings): SqlFragment {
  const folded = sql`
    SELECT ${canonicalLead} AS lead,
      argMaxIf(stage, tuple(occurred_at, indexOf(${STAGES}, stage)), type = 'stage_changed') AS cur_stage,
      maxIf(occurred_at, type = 'stage_changed') AS stage_at,
      maxIf(occurred_at, type IN ('deal_won', 'deal_lost')) AS outcome_at,
      argMaxIf(intent, occurred_at, intent != '') AS intent,
      -- Qualification: lead_qualified, or a stage change to qualified; at the same ms the former.
      argMaxIf(tuple(occurred_at, event_id, type, summary), tuple(occurred_at, type = 'lead_qualified', event_id),
               type = 'lead_qualified' OR (type = 'stage_changed' AND stage = 'qualified')) AS qualified,
      maxIf(occurred_at, type = 'message' AND actor = 'customer') AS last_inbound_at,
      argMaxIf(tuple(occurred_at, event_id, type, summary, booking_id, starts_at), tuple(occurred_at, event_id),
               type = 'booking_created') AS booking,
      groupUniqArrayIf(booking_id, type = 'booking_cancelled') AS cancelled,
      groupUniqArrayIf(tuple(occurred_at, booking_id, attended), type = 'attendance_recorded') AS attendances,
      argMaxIf(tuple(occurred_at, event_id, type, summary), tuple(occurred_at, event_id),
               (type = 'attendance_recorded' AND attended = 1) OR (type = 'stage_changed' AND stage = 'attended')) AS visit
    FROM (
      SELECT lead_id, event_id, type, stage, intent, actor, summary, occurred_at,
             visitParamExtractString(properties, 'bookingId') AS booking_id,
             visitParamExtractString(properties, 'startsAt') AS starts_raw,
             -- '' would parse as some fixed date on 18.16, so guard it; seconds are precise enough here.
             if(starts_raw = '', toUInt64(0), toUInt64(toUnixTimestamp(parseDateTimeBestEffortOrZero(starts_raw))) * 1000) AS starts_at,
             visitParamExtractBool(properties, 'attended') AS attended
      FROM events
      WHERE org_id = ${orgId} AND occurred_at <= ${now}
        AND type IN ('stage_changed', 'deal_won', 'deal_lost', 'lead_qualified', 'message',
                     'booking_created', 'booking_cancelled', 'attendance_recorded')
    ) AS e
    ANY LEFT JOIN ${canonicalLeads(orgId)} AS links USING lead_id
    GROUP BY lead`;

  const silentMs = ms(s.silentAfterHours);
  const graceMs = ms(s.attendanceGraceHours);
  const outcomeMs = ms(s.outcomeAfterDays * 24);
  return sql`
    SELECT lead, cur_stage, intent,
      q_at, tupleElement(qualified, 2) AS q_event, tupleElement(qualified, 3) AS q_type, tupleElement(qualified, 4) AS q_summary,
      q_at > 0 AND stage_pos <= 2 AND last_inbound_at <= q_at AND q_at + ${silentMs} <= ${now} AS silent,
      tupleElement(booking, 1) AS b_at, tupleElement(booking, 2) AS b_event, tupleElement(booking, 4) AS b_summary,
      b_starts, att_at, att_at > 0 AND att_ok = 0 AS no_show,
      b_starts > 0 AND stage_pos <= 3 AND NOT has(cancelled, b_id) AND att_ok = 0
        AND (b_starts + ${graceMs} <= ${now} OR att_at > 0) AS not_attended,
      v_at, tupleElement(visit, 2) AS v_event, tupleElement(visit, 3) AS v_type, tupleElement(visit, 4) AS v_summary,
      v_at > 0 AND v_at + ${outcomeMs} <= ${now} AS no_outcome
    FROM (
      SELECT *,
        indexOf(${STAGES}, cur_stage) AS stage_pos,
        tupleElement(qualified, 1) AS q_at,
        tupleElement(booking, 5) AS b_id,
        tupleElement(booking, 6) AS b_starts,
        -- The latest attendance record of the latest booking (a correction replaces the first record).
        arrayElement(arraySort(arrayFilter(x -> tupleElement(x, 2) = b_id, attendances)), -1) AS b_att,
        tupleElement(b_att, 1) AS att_at,
        tupleElement(b_att, 3) AS att_ok,
        tupleElement(visit, 1) AS v_at
      FROM (${folded})
      WHERE cur_stage NOT IN ('won', 'lost') AND NOT (outcome_at > 0 AND outcome_at >= stage_at)
    )
    WHERE silent OR not_attended OR no_outcome`;
}

/**
 * Per lead: its stage runs, i.e. stage changes sorted by (occurred_at, funnel position) with
 * repeats of the same stage collapsed into the first, as tuples (entered_at, stage_pos, event_id,
 * summary); plus the time of its latest deal outcome.
 */
function stageRuns(orgId: string, now: number): SqlFragment {
  return sql`
    SELECT lead, outcome_at,
      arrayFilter((x, i) -> i = 1 OR tupleElement(x, 2) != tupleElement(seq[i - 1], 2), seq, arrayEnumerate(seq)) AS runs
    FROM (
      SELECT ${canonicalLead} AS lead,
        arraySort(groupArrayIf(tuple(occurred_at, indexOf(${STAGES}, stage), event_id, summary), type = 'stage_changed')) AS seq,
        maxIf(occurred_at, type != 'stage_changed') AS outcome_at
      FROM (
        SELECT lead_id, event_id, type, stage, summary, occurred_at
        FROM events
        WHERE org_id = ${orgId} AND occurred_at <= ${now} AND type IN ('stage_changed', 'deal_won', 'deal_lost')
      ) AS sc
      ANY LEFT JOIN ${canonicalLeads(orgId)} AS links USING lead_id
      GROUP BY lead
    )`;
}

/**
 * Completed stays per stage (a run followed by another run), with the 75th percentile by the
 * nearest-rank rule: the smallest stay such that at least 75% of stays are no longer. Defined
 * this way (not quantile(), which interpolates differently across versions) so it is exact and
 * checkable by hand.
 */
function stageHistory(orgId: string, now: number): SqlFragment {
  return sql`
    SELECT stage_pos, length(d) AS samples, arrayElement(d, toUInt64(ceil(0.75 * length(d)))) AS p75
    FROM (
      SELECT tupleElement(stay, 1) AS stage_pos, arraySort(groupArray(tupleElement(stay, 2))) AS d
      FROM (
        SELECT arrayMap(i -> tuple(tupleElement(runs[i], 2), tupleElement(runs[i + 1], 1) - tupleElement(runs[i], 1)),
                        arraySlice(arrayEnumerate(runs), 1, length(runs) - 1)) AS stays
        FROM (${stageRuns(orgId, now)})
      )
      ARRAY JOIN stays AS stay
      GROUP BY stage_pos
    )`;
}

/** Open leads (enquired … attended) whose current run is longer than its stage's p75. */
export function stalledQuery(orgId: string, now: number, s: ExceptionSettings): SqlFragment {
  return sql`
    SELECT lead, stage_pos, entered_at, event_id, summary, samples, p75
    FROM (
      SELECT lead, outcome_at,
        tupleElement(last_run, 1) AS entered_at, tupleElement(last_run, 2) AS stage_pos,
        tupleElement(last_run, 3) AS event_id, tupleElement(last_run, 4) AS summary
      FROM (SELECT lead, outcome_at, arrayElement(runs, -1) AS last_run FROM (${stageRuns(orgId, now)}) WHERE length(runs) > 0)
    ) AS cur
    ANY LEFT JOIN (${stageHistory(orgId, now)}) AS hist USING stage_pos
    WHERE stage_pos BETWEEN 1 AND 4 AND outcome_at < entered_at
      AND samples >= ${s.stalledMinSamples} AND entered_at + p75 < ${now}`;
}

const ACTION_TYPES = Object.values(exceptionEventTypes);

/** The latest acknowledge, snooze and claim/unclaim per exception id, from human events. */
export function humanMarksQuery(orgId: string, now: number): SqlFragment {
  return sql`
    SELECT exception_id,
      tupleElement(ack, 1) AS ack_actor, tupleElement(ack, 2) AS ack_at,
      tupleElement(snooze, 1) AS snooze_actor, tupleElement(snooze, 2) AS snooze_at, tupleElement(snooze, 3) AS snooze_until,
      tupleElement(claim, 1) AS claim_actor, tupleElement(claim, 2) AS claim_at, tupleElement(claim, 3) AS claim_type
    FROM (
      SELECT exception_id,
        argMaxIf(tuple(actor, occurred_at), tuple(occurred_at, event_id), type = ${exceptionEventTypes.acknowledge}) AS ack,
        argMaxIf(tuple(actor, occurred_at, until_ms), tuple(occurred_at, event_id), type = ${exceptionEventTypes.snooze}) AS snooze,
        argMaxIf(tuple(actor, occurred_at, type), tuple(occurred_at, event_id),
                 type IN (${exceptionEventTypes.claim}, ${exceptionEventTypes.unclaim})) AS claim
      FROM (
        SELECT visitParamExtractString(properties, 'exceptionId') AS exception_id,
               visitParamExtractUInt(properties, 'until') AS until_ms, actor, type, occurred_at, event_id
        FROM events
        WHERE org_id = ${orgId} AND occurred_at <= ${now} AND type IN ${inList(ACTION_TYPES)}
      )
      GROUP BY exception_id
    )`;
}

/**
 * Deal value per lead among `leadIds` (every lead when null): the lead's latest non-zero value,
 * and the median won value (nearest rank, lower middle) of leads with the same intent, as a fallback.
 */
export function leadValuesQuery(orgId: string, now: number, leadIds: readonly string[] | null): SqlFragment {
  const perLead = sql`
    SELECT ${canonicalLead} AS lead,
      argMaxIf(intent, occurred_at, intent != '') AS intent,
      argMaxIf(toFloat64(value), occurred_at, value > 0) AS own_value,
      argMaxIf(currency, occurred_at, value > 0) AS own_currency,
      argMaxIf(toFloat64(value), occurred_at, type = 'deal_won') AS won_value,
      argMaxIf(currency, occurred_at, type = 'deal_won') AS won_currency,
      max(type = 'deal_won') AS won
    FROM events ANY LEFT JOIN ${canonicalLeads(orgId)} AS links USING lead_id
    WHERE org_id = ${orgId} AND occurred_at <= ${now}
    GROUP BY lead`;
  return sql`
    SELECT lead, intent, own_value, own_currency, intent_value, intent_currency
    FROM (SELECT lead, intent, own_value, own_currency FROM (${perLead}) WHERE ${leadIds ? sql`lead IN ${inList(leadIds)}` : sql`1`}) AS l
    ANY LEFT JOIN (
      SELECT intent, arrayElement(arraySort(groupArray(won_value)), toUInt64(ceil(0.5 * count()))) AS intent_value,
             topK(1)(won_currency)[1] AS intent_currency
      FROM (${perLead})
      WHERE won = 1 AND intent != '' AND won_value > 0
      GROUP BY intent
    ) AS by_intent USING intent`;
}

/** A sharp fall: this many probability points from the lead's peak in the window to its latest score. */
export const SCORE_DROP_POINTS = 0.2;
export const SCORE_DROP_WINDOW_MS = 7 * 24 * HOUR;

/**
 * Open leads whose latest score is SCORE_DROP_POINTS or more below their highest score of the
 * last week (issue 6 feeds lead_scores). Leads with an outcome are closed and left out.
 */
export function scoreDropsQuery(orgId: string, now: number): SqlFragment {
  return sql`
    SELECT lead_id, tupleElement(latest, 1) AS at, tupleElement(latest, 2) AS score, tupleElement(latest, 3) AS reasons,
           peak, peak_at
    FROM (
      SELECT lead_id, argMax(tuple(scored_at, score, reasons), scored_at) AS latest, max(score) AS peak,
             argMax(scored_at, tuple(score, scored_at)) AS peak_at
      FROM lead_scores
      WHERE org_id = ${orgId} AND scored_at <= ${now} AND scored_at > ${now - SCORE_DROP_WINDOW_MS}
        AND lead_id NOT IN (SELECT lead_id FROM events WHERE org_id = ${orgId} AND type IN ('deal_won', 'deal_lost'))
      GROUP BY lead_id
    )
    WHERE peak - tupleElement(latest, 2) >= ${SCORE_DROP_POINTS}`;
}
