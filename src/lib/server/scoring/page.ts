import type { Drift, LiveAccuracy, ModelPage, ModelVersion, TrainingRun } from '../../contracts/model-registry';
import { brier, expectedCalibrationError, rocAuc } from '../../../../ml/evaluate';
import type { ClickHouseClient } from '../db/clickhouse';
import {
  activeVersionId,
  listDecisions,
  listModelVersions,
  outcomeCounts,
  recentScores,
  scoredOutcomes,
  type StoredVersion
} from '../db/queries/models';
import { psi, scoreBins } from './describe';

/** The model page's data (issue 6 item 9), from the registry and the score history. */

const DRIFT_WINDOW_MS = 7 * 86_400_000;
const PSI_FLAG = 0.2;
/** Holdout pairs travel only for the newest versions; older ones keep their figures and curves. */
const VERSIONS_WITH_HOLDOUT = 3;

function status(v: StoredVersion, activeId: string | null, decided: Map<string, string>): ModelVersion['status'] {
  if (v.versionId === activeId) return 'active';
  const d = decided.get(v.versionId);
  if (d === 'rejected') return 'rejected';
  return d ? 'retired' : 'candidate';
}

export function liveAccuracy(rows: readonly { versionId: string; label: 0 | 1; score: number }[]): LiveAccuracy[] {
  const byVersion = new Map<string, { labels: number[]; scores: number[] }>();
  for (const r of rows) {
    const v = byVersion.get(r.versionId) ?? { labels: [], scores: [] };
    v.labels.push(r.label);
    v.scores.push(r.score);
    byVersion.set(r.versionId, v);
  }
  return [...byVersion].map(([versionId, { labels, scores }]) => {
    const positives = labels.filter((l) => l === 1).length;
    // AUC needs both classes; calibration figures need at least a handful of outcomes.
    const both = positives > 0 && positives < labels.length;
    return {
      versionId,
      outcomes: labels.length,
      positives,
      rocAuc: both ? rocAuc(labels, scores) : null,
      brier: labels.length ? brier(labels, scores) : null,
      ece: labels.length >= 10 ? expectedCalibrationError(labels, scores) : null
    };
  });
}

export function driftByChannel(reference: StoredVersion['reference'], recent: readonly { channel: string; score: number }[]): Drift[] {
  const byChannel = new Map<string, number[]>();
  for (const r of recent) {
    const list = byChannel.get(r.channel) ?? [];
    list.push(r.score);
    byChannel.set(r.channel, list);
  }
  return [...byChannel]
    .map(([channel, scores]) => {
      const value = psi(reference.byChannel[channel] ?? reference.overall, scoreBins(scores));
      return { channel, leads: scores.length, psi: value, flagged: value > PSI_FLAG };
    })
    .sort((a, b) => b.psi - a.psi);
}

export async function buildModelPage(
  client: ClickHouseClient,
  orgId: string,
  minimum: { minWon: number; minLost: number },
  training: TrainingRun | null,
  now: number
): Promise<ModelPage> {
  const [versions, decisions, outcomes, scored] = await Promise.all([
    listModelVersions(client, orgId),
    listDecisions(client, orgId),
    outcomeCounts(client, orgId),
    scoredOutcomes(client, orgId)
  ]);
  const activeId = activeVersionId(decisions);
  const active = versions.find((v) => v.versionId === activeId);
  const decided = new Map(decisions.map((d) => [d.versionId, d.decision]));
  const drift = active ? driftByChannel(active.reference, await recentScores(client, orgId, active.versionId, now - DRIFT_WINDOW_MS)) : [];
  const keepHoldout = new Set(versions.slice(-VERSIONS_WITH_HOLDOUT).map((v) => v.versionId).concat(activeId ?? []));
  return {
    activeVersionId: activeId,
    scoredBy: active ? active.scope : 'none',
    outcomes,
    needed: { won: Math.max(0, minimum.minWon - outcomes.won), lost: Math.max(0, minimum.minLost - outcomes.lost) },
    versions: versions.map((v) => ({
      versionId: v.versionId,
      kind: v.kind,
      createdAt: v.createdAt,
      scope: v.scope,
      status: status(v, activeId, decided),
      backend: v.backend,
      trainWindow: v.trainWindow,
      counts: v.counts,
      trainingMs: v.trainingMs,
      metrics: v.metrics,
      baseline: v.baseline,
      features: v.features,
      holdout: keepHoldout.has(v.versionId) ? v.holdout : []
    })),
    promotions: decisions,
    live: liveAccuracy(scored),
    drift,
    training
  };
}
