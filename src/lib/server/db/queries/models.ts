import { z } from 'zod';
import {
  modelVersionSchema,
  promotionDecisionSchema,
  type LeadScore,
  type PromotionDecision
} from '../../../contracts/model-registry';
import { insertRows, queryRows, type ClickHouseClient } from '../clickhouse';
import { inList, sql, type SqlFragment } from '../sql';
import { canonicalLeads } from './contacts';

/**
 * The model registry (migration 6): versions, the promotion log and lead scores. Rows become
 * camelCase here and JSON columns are validated with the shared schemas on the way out.
 */

/** Ten score bins' shares, overall and per channel, of the holdout: the reference for drift (PSI). */
export const scoreReferenceSchema = z.object({
  overall: z.array(z.number()),
  byChannel: z.record(z.string(), z.array(z.number()))
});
export type ScoreReference = z.infer<typeof scoreReferenceSchema>;

/** A version as stored: the page's version without its derived status, plus drift reference and artifacts. */
export const storedVersionSchema = modelVersionSchema.omit({ status: true }).extend({
  reference: scoreReferenceSchema,
  /** Relative to MODEL_DIR. */
  artifactDir: z.string()
});
export type StoredVersion = z.infer<typeof storedVersionSchema>;

interface VersionRow {
  version_id: string;
  created_at: string;
  kind: string;
  scope: string;
  backend: string;
  train_from: string;
  train_to: string;
  n_train: number;
  n_holdout: number;
  positives: number;
  holdout_leads: number;
  holdout_leads_won: number;
  training_ms: number;
  metrics: string;
  baseline: string;
  features: string;
  holdout: string;
  reference: string;
  artifact_dir: string;
}

export async function saveModelVersion(client: ClickHouseClient, orgId: string, v: StoredVersion): Promise<void> {
  await insertRows(
    client,
    'model_versions',
    ['org_id', 'version_id', 'created_at', 'kind', 'scope', 'backend', 'train_from', 'train_to', 'n_train', 'n_holdout', 'positives',
     'holdout_leads', 'holdout_leads_won', 'training_ms', 'metrics', 'baseline', 'features', 'holdout', 'reference', 'artifact_dir'],
    [{
      org_id: orgId, version_id: v.versionId, created_at: v.createdAt, kind: v.kind, scope: v.scope, backend: v.backend,
      train_from: v.trainWindow.from, train_to: v.trainWindow.to, n_train: v.counts.train, n_holdout: v.counts.holdout,
      positives: v.counts.positives, holdout_leads: v.counts.holdoutLeads, holdout_leads_won: v.counts.holdoutLeadsWon, training_ms: Math.round(v.trainingMs), metrics: JSON.stringify(v.metrics),
      baseline: v.baseline ? JSON.stringify(v.baseline) : '', features: JSON.stringify(v.features),
      holdout: JSON.stringify(v.holdout), reference: JSON.stringify(v.reference), artifact_dir: v.artifactDir
    }]
  );
}

/**
 * Every version of the organisation, oldest first. A row that no longer parses (a shape changed
 * since it was written) is skipped, not fatal: one bad row must not take the model page down.
 */
export async function listModelVersions(client: ClickHouseClient, orgId: string): Promise<StoredVersion[]> {
  const rows = await queryRows<VersionRow>(
    client,
    sql`SELECT version_id, created_at, kind, scope, backend, train_from, train_to, n_train, n_holdout, positives, holdout_leads,
               holdout_leads_won, training_ms,
               metrics, baseline, features, holdout, reference, artifact_dir
        FROM model_versions WHERE org_id = ${orgId}
        ORDER BY created_at, version_id LIMIT 1 BY version_id`
  );
  const out: StoredVersion[] = [];
  for (const r of rows) {
    const parsed = storedVersionSchema.safeParse({
      versionId: r.version_id,
      createdAt: Number(r.created_at),
      kind: r.kind,
      scope: r.scope,
      backend: r.backend,
      trainWindow: { from: Number(r.train_from), to: Number(r.train_to) },
      counts: {
        train: Number(r.n_train),
        holdout: Number(r.n_holdout),
        positives: Number(r.positives),
        holdoutLeads: Number(r.holdout_leads),
        holdoutLeadsWon: Number(r.holdout_leads_won)
      },
      trainingMs: Number(r.training_ms),
      metrics: safeJson(r.metrics),
      baseline: r.baseline ? safeJson(r.baseline) : null,
      features: safeJson(r.features),
      holdout: safeJson(r.holdout),
      reference: safeJson(r.reference),
      artifactDir: r.artifact_dir
    });
    if (parsed.success) out.push(parsed.data);
  }
  return out;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export async function recordDecision(client: ClickHouseClient, orgId: string, d: PromotionDecision): Promise<void> {
  await insertRows(client, 'model_decisions', ['org_id', 'at', 'version_id', 'decision', 'reason', 'actor'], [
    { org_id: orgId, at: d.at, version_id: d.versionId, decision: d.decision, reason: d.reason, actor: d.actor }
  ]);
}

/** The promotion log, oldest first. */
export async function listDecisions(client: ClickHouseClient, orgId: string): Promise<PromotionDecision[]> {
  const rows = await queryRows<{ at: string; version_id: string; decision: string; reason: string; actor: string }>(
    client,
    sql`SELECT at, version_id, decision, reason, actor FROM model_decisions WHERE org_id = ${orgId}
        ORDER BY at, version_id LIMIT 1 BY at, version_id, decision`
  );
  return rows.flatMap((r) => {
    const parsed = promotionDecisionSchema.safeParse({ at: Number(r.at), versionId: r.version_id, decision: r.decision, reason: r.reason, actor: r.actor });
    return parsed.success ? [parsed.data] : [];
  });
}

/** The version scoring the organisation now: the latest promoted or rolled-back one. */
export function activeVersionId(decisions: readonly PromotionDecision[]): string | null {
  let active: PromotionDecision | undefined;
  for (const d of decisions) if (d.decision !== 'rejected' && (!active || d.at >= active.at)) active = d;
  return active?.versionId ?? null;
}

export interface ScoreRow {
  leadId: string;
  scoredAt: number;
  versionId: string;
  score: number;
  channel: string;
  reasons: LeadScore['reasons'];
}

export async function insertLeadScores(client: ClickHouseClient, orgId: string, rows: readonly ScoreRow[]): Promise<void> {
  await insertRows(
    client,
    'lead_scores',
    ['org_id', 'lead_id', 'scored_at', 'version_id', 'score', 'channel', 'reasons'],
    rows.map((r) => ({
      org_id: orgId, lead_id: r.leadId, scored_at: r.scoredAt, version_id: r.versionId, score: r.score, channel: r.channel,
      reasons: JSON.stringify(r.reasons)
    }))
  );
}

const reasonsSchema = z.array(
  z.object({ text: z.string(), direction: z.enum(['up', 'down']), weight: z.number(), eventId: z.string().optional() })
);

/** The latest two scores of each lead among `leadIds` (every scored lead when null). */
export async function latestScores(
  client: ClickHouseClient,
  orgId: string,
  leadIds: readonly string[] | null
): Promise<Map<string, Omit<LeadScore, 'scope'>>> {
  const rows = await queryRows<{ lead_id: string; scores: [string, string, number, string][] }>(
    client,
    sql`SELECT lead_id, arraySlice(arrayReverseSort(groupArray(tuple(scored_at, version_id, score, reasons))), 1, 2) AS scores
        FROM lead_scores
        WHERE org_id = ${orgId} ${leadIds ? sql`AND lead_id IN ${inList([...leadIds])}` : sql``}
        GROUP BY lead_id`
  );
  const out = new Map<string, Omit<LeadScore, 'scope'>>();
  for (const r of rows) {
    const [latest, before] = r.scores;
    if (!latest) continue;
    const reasons = reasonsSchema.safeParse(safeJson(latest[3]));
    out.set(r.lead_id, {
      leadId: r.lead_id,
      scoredAt: Number(latest[0]),
      versionId: latest[1],
      score: Number(latest[2]),
      previous: before ? Number(before[2]) : null,
      reasons: reasons.success ? reasons.data : []
    });
  }
  return out;
}

/** A lead's score history, oldest first (the lead page's sparkline). */
export async function scoreHistory(client: ClickHouseClient, orgId: string, leadId: string, count = 200): Promise<{ at: number; score: number }[]> {
  const rows = await queryRows<{ scored_at: string; score: number }>(
    client,
    sql`SELECT scored_at, score FROM (
          SELECT scored_at, score FROM lead_scores WHERE org_id = ${orgId} AND lead_id = ${leadId} ORDER BY scored_at DESC LIMIT ${count}
        ) ORDER BY scored_at`
  );
  return rows.map((r) => ({ at: Number(r.scored_at), score: Number(r.score) }));
}

/** Outcome rows as ml/labels.ts leadOutcome reads them: deal events and stage changes to won/lost. */
const OUTCOME = sql`(type IN ('deal_won', 'deal_lost') OR (type = 'stage_changed' AND stage IN ('won', 'lost')))`;
const WON = sql`(type = 'deal_won' OR stage = 'won')`;
/** A person's stage correction (issue 7): any stage change whose actor is `human:<userId>`. */
const BY_PERSON = sql`(type = 'stage_changed' AND actor LIKE 'human:%')`;

/**
 * One row per lead that has a label, by the rule of ml/labels.ts leadOutcome: a person's latest
 * stage correction to won/lost is the outcome; a person's latest correction to an open stage
 * retracts the agent's outcomes up to it, leaving the first agent outcome after it (if any);
 * without corrections, the first outcome. Ties as there: a deal event beats a stage change at the
 * same millisecond, then the event id; copies of an id count once (the earliest, as preferCopy).
 *
 * Columns: `lead`; `label` (1 won, 0 lost); `outcome_at`; `received` (epoch ms when the label
 * became what it is: when the deciding row arrived, or the reopening correction if it arrived
 * later, so a correction counts as a new outcome for the retraining trigger).
 *
 * `fold: 'canonical'` groups merged leads under the lead they were merged into, as training reads
 * them (training-events.ts); 'raw' keeps each lead id. Where SQL may differ from leadOutcome: two
 * copies of one event id with different type, stage or actor (never written: copies are retries of
 * one row) keep the earliest here and may keep another there; event ids are compared as bytes here
 * and as UTF-16 there, which agree for the ASCII ids the contracts allow.
 *
 * `after` is the agents' outcomes after the person's latest stage correction (all of them when
 * there is none), sorted so the first comes first and, at a tie, a deal event before a stage
 * change (the tuple's second element), then the id. Its lambda sits in the same SELECT as
 * `since`, not one level out: 18.16 prunes a subquery column that only a lambda uses, then fails
 * with "Unknown identifier" (checked on 18.16.1).
 */
function leadLabels(orgId: string, fold: 'canonical' | 'raw'): SqlFragment {
  const rows = sql`(SELECT lead_id, event_id, type, stage, occurred_at, received_at, ${BY_PERSON} AS by_person, ${WON} AS won
                    FROM events WHERE org_id = ${orgId} AND (${OUTCOME} OR ${BY_PERSON})
                    ORDER BY lead_id, event_id, occurred_at, received_at LIMIT 1 BY lead_id, event_id) AS e`;
  const columns = sql`event_id, type, stage, occurred_at, received_at, by_person, won`;
  const source =
    fold === 'canonical'
      ? sql`SELECT if(canonical = '', lead_id, canonical) AS lead, ${columns} FROM ${rows} ANY LEFT JOIN ${canonicalLeads(orgId)} AS links USING lead_id`
      : sql`SELECT lead_id AS lead, ${columns} FROM ${rows}`;
  return sql`(
    SELECT lead,
           if(closed_by_person, toUInt8(p_stage = 'won'), toUInt8(tupleElement(first, 4))) AS label,
           if(closed_by_person, p_at, tupleElement(first, 1)) AS outcome_at,
           if(closed_by_person, p_received, greatest(tupleElement(first, 5), p_received)) AS received
    FROM (
      SELECT lead, p_stage, p_at, p_received, after[1] AS first, notEmpty(after) AS has_after,
             has_person AND p_stage IN ('won', 'lost') AS closed_by_person
      FROM (
        SELECT lead,
               countIf(by_person) > 0 AS has_person,
               argMaxIf(stage, tuple(occurred_at, event_id), by_person) AS p_stage,
               maxIf(occurred_at, by_person) AS p_at,
               argMaxIf(received_at, tuple(occurred_at, event_id), by_person) AS p_received,
               if(has_person, toInt64(p_at), toInt64(-1)) AS since,
               groupArrayIf(tuple(occurred_at, type = 'stage_changed', event_id, won, received_at), NOT by_person) AS agent,
               arraySort(arrayFilter(o -> toInt64(tupleElement(o, 1)) > since, agent)) AS after
        FROM (${source})
        GROUP BY lead
      )
    )
    WHERE closed_by_person OR has_after
  )`;
}

/**
 * Leads with an outcome, counted once each under their canonical lead, by their label as
 * leadOutcome gives it (leadLabels), so a person's correction moves a lead between won and lost or
 * out of the counts. `receivedSince` counts only leads whose label became what it is after it (the
 * "N new outcomes" retraining trigger): a correction counts as a new outcome.
 */
export async function outcomeCounts(client: ClickHouseClient, orgId: string, receivedSince = 0): Promise<{ won: number; lost: number }> {
  const rows = await queryRows<{ won: string; lost: string }>(
    client,
    sql`SELECT countIf(label = 1) AS won, countIf(label = 0) AS lost
        FROM ${leadLabels(orgId, 'canonical')} AS labels
        WHERE received > ${receivedSince}`
  );
  return { won: Number(rows[0]?.won ?? 0), lost: Number(rows[0]?.lost ?? 0) };
}

/**
 * For every lead that has an outcome and was scored before it: the version and score of its last
 * score before the outcome, with the label (corrected by people, as leadLabels gives it, per raw
 * lead id as before issue 7). Live accuracy is computed from these.
 */
export async function scoredOutcomes(client: ClickHouseClient, orgId: string): Promise<{ versionId: string; label: 0 | 1; score: number }[]> {
  const rows = await queryRows<{ version_id: string; label: number; score: number }>(
    client,
    sql`SELECT tupleElement(last_score, 2) AS version_id, label, tupleElement(last_score, 3) AS score
        FROM (
          SELECT lead_id, label,
                 argMaxIf(tuple(scored_at, version_id, score), scored_at, scored_at < outcome_at) AS last_score
          FROM (SELECT lead AS lead_id, label, outcome_at FROM ${leadLabels(orgId, 'raw')} AS labels) AS o
          ALL INNER JOIN (SELECT lead_id, scored_at, version_id, score FROM lead_scores WHERE org_id = ${orgId}) AS s USING lead_id
          GROUP BY lead_id, label
        )
        WHERE tupleElement(last_score, 1) > 0`
  );
  return rows.map((r) => ({ versionId: r.version_id, label: Number(r.label) === 1 ? 1 : 0, score: Number(r.score) }));
}

/** The latest score of each lead scored by `versionId` since `since`, with its channel (drift). */
export async function recentScores(client: ClickHouseClient, orgId: string, versionId: string, since: number): Promise<{ channel: string; score: number }[]> {
  const rows = await queryRows<{ channel: string; score: number }>(
    client,
    sql`SELECT argMax(channel, scored_at) AS channel, argMax(score, scored_at) AS score
        FROM lead_scores WHERE org_id = ${orgId} AND version_id = ${versionId} AND scored_at >= ${since}
        GROUP BY lead_id`
  );
  return rows.map((r) => ({ channel: r.channel, score: Number(r.score) }));
}
