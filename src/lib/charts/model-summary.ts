import type { ModelKind, ModelMetrics } from '$lib/contracts/model';
import type { ModelPage, ModelVersion, PromotionDecision, TrainingRun } from '$lib/contracts/model-registry';
import { formatAgo, formatCount } from './format';

/** The model page's sentences: who scores, how training goes, how versions compare. */

export const kindLabels: Readonly<Record<ModelKind, string>> = {
  logreg: 'logistic regression',
  mlp: 'neural network'
};

/** "v7" for a bare number "7"; any other id ("v7", "prior-2025.06") as it is. */
export function versionLabel(versionId: string): string {
  return /^\d/.test(versionId) ? `v${versionId}` : versionId;
}

/** Two decimals: the precision at which AUCs of two versions are worth comparing. */
export const formatAuc = (auc: number) => auc.toFixed(2);

/** The version the page opens on: the active one, else the newest; null when there is none. */
export function defaultVersionId(page: Pick<ModelPage, 'activeVersionId' | 'versions'>): string | null {
  if (page.activeVersionId && page.versions.some((v) => v.versionId === page.activeVersionId)) return page.activeVersionId;
  const newest = [...page.versions].sort((a, b) => b.createdAt - a.createdAt)[0];
  return newest?.versionId ?? null;
}

/** When the version became the active one: its latest promotion or roll-back to it. */
function activeSince(promotions: readonly PromotionDecision[], versionId: string): PromotionDecision | undefined {
  return promotions
    .filter((p) => p.versionId === versionId && p.decision !== 'rejected')
    .reduce<PromotionDecision | undefined>((latest, p) => (!latest || p.at >= latest.at ? p : latest), undefined);
}

const plural = (n: number, word: string) => `${formatCount(n)} more ${word}`;

/** The header's first line: who scores this organisation's leads now. */
export function scoredByText(page: ModelPage, now: number): string {
  const active = page.versions.find((v) => v.versionId === page.activeVersionId);
  const missing = [
    ...(page.needed.won > 0 ? [plural(page.needed.won, 'won')] : []),
    ...(page.needed.lost > 0 ? [plural(page.needed.lost, 'lost')] : [])
  ].join(' and ');
  if (page.scoredBy === 'org' && active) {
    const since = activeSince(page.promotions, active.versionId);
    const when = since
      ? `${since.decision === 'rolled_back' ? 'rolled back to' : 'promoted'} ${formatAgo(since.at, now)} ago`
      : `trained ${formatAgo(active.createdAt, now)} ago`;
    return `Your own model ${versionLabel(active.versionId)} (${kindLabels[active.kind]}), ${when}`;
  }
  if (page.scoredBy === 'prior') {
    return missing
      ? `Scored by the prior (generic) model: ${missing} outcomes needed for your own model`
      : 'Scored by the prior (generic) model: enough outcomes for your own model, which trains next';
  }
  if (page.scoredBy === 'org') return 'Your own model scores this organisation';
  return 'No model scores this organisation yet';
}

export function outcomesText(outcomes: ModelPage['outcomes']): string {
  return `${formatCount(outcomes.won)} won · ${formatCount(outcomes.lost)} lost outcomes`;
}

const phaseLabels: Readonly<Record<TrainingRun['progress']['phase'], string>> = {
  prepare: 'Preparing data',
  train: 'Training',
  evaluate: 'Evaluating on the holdout',
  save: 'Saving',
  done: 'Done'
};

const triggerLabels: Readonly<Record<TrainingRun['trigger'], string>> = {
  schedule: 'scheduled',
  outcomes: 'new outcomes',
  manual: 'started by hand',
  start: 'at start-up'
};

export interface TrainingView {
  isRunning: boolean;
  /** "Training · logistic regression · new outcomes" */
  title: string;
  /** Epoch progress 0..1 while a model trains; null when the phase has no epochs. */
  progress: number | null;
  /** "epoch 12 / 40" or '' */
  epochs: string;
  /** "loss 0.412 · val loss 0.437" or '' */
  losses: string;
  /** The outcome of a finished run, or null while it runs. */
  result: { tone: 'good' | 'bad' | 'neutral'; text: string } | null;
}

const loss = (v: number | undefined, name: string) => (v === undefined ? [] : [`${name} ${v.toFixed(3)}`]);

/** How a training run reads on the header, from its progress and, once ended, its result. */
export function trainingView(run: TrainingRun, versions: readonly ModelVersion[]): TrainingView {
  const p = run.progress;
  const hasEpochs = p.epoch !== undefined && p.maxEpochs !== undefined;
  return {
    isRunning: run.result === null,
    title: [phaseLabels[p.phase], ...(p.kind ? [kindLabels[p.kind]] : []), triggerLabels[run.trigger]].join(' · '),
    progress: hasEpochs ? Math.min(1, Math.max(0, p.epoch! / p.maxEpochs!)) : null,
    epochs: hasEpochs ? `epoch ${p.epoch} / ${p.maxEpochs}` : '',
    losses: [...loss(p.loss, 'loss'), ...loss(p.valLoss, 'val loss')].join(' · '),
    result: run.result === null ? null : resultView(run.result, versions)
  };
}

function resultView(result: NonNullable<TrainingRun['result']>, versions: readonly ModelVersion[]): NonNullable<TrainingView['result']> {
  const version = versions.find((v) => v.versionId === result.versionId);
  const name = result.versionId ? versionLabel(result.versionId) : 'The new model';
  const auc = version ? aucVersus(version.metrics, version.baseline?.metrics) : '';
  switch (result.decision) {
    case 'promoted':
      return { tone: 'good', text: `${name} promoted${auc ? `: ${auc}` : ''}${result.reason ? ` (${result.reason})` : ''}` };
    case 'rejected':
      return { tone: 'bad', text: `${name} rejected: ${[result.reason, auc].filter(Boolean).join('; ')}` };
    case 'failed':
      return { tone: 'bad', text: `Training failed: ${result.reason}` };
    case 'skipped':
      return { tone: 'neutral', text: `Training skipped: ${result.reason}` };
  }
}

/** "AUC 0.84 vs 0.81", or "AUC 0.84" with nothing to compare. */
function aucVersus(metrics: ModelMetrics, baseline: ModelMetrics | undefined): string {
  return baseline ? `AUC ${formatAuc(metrics.rocAuc)} vs ${formatAuc(baseline.rocAuc)}` : `AUC ${formatAuc(metrics.rocAuc)}`;
}

const signed = (d: number, digits: number) => `${d >= 0 ? '+' : '−'}${Math.abs(d).toFixed(digits)}`;

/**
 * The comparison line under the version picker, when the version was compared with the model
 * active at the time (on this version's holdout): AUC higher is better, Brier and ECE lower.
 */
export function comparisonText(version: ModelVersion, activeVersionId: string | null): string {
  if (!version.baseline) return '';
  const m = version.metrics;
  const b = version.baseline.metrics;
  const role = version.baseline.versionId === activeVersionId ? 'active' : 'baseline';
  return [
    `vs ${role} ${versionLabel(version.baseline.versionId)}: AUC ${formatAuc(m.rocAuc)} vs ${formatAuc(b.rocAuc)} (${signed(m.rocAuc - b.rocAuc, 2)})`,
    `Brier ${m.brier.toFixed(3)} vs ${b.brier.toFixed(3)}`,
    `ECE ${m.ece.toFixed(3)} vs ${b.ece.toFixed(3)}`
  ].join(' · ');
}

export interface PromotionRow {
  key: string;
  at: number;
  versionId: string;
  decision: PromotionDecision['decision'];
  decisionLabel: string;
  reason: string;
  who: string;
  /** Offer "Roll back to this version": an earlier active version, on its latest row only. */
  canRollBack: boolean;
}

const decisionLabels: Readonly<Record<PromotionDecision['decision'], string>> = {
  promoted: 'Promoted',
  rejected: 'Rejected',
  rolled_back: 'Rolled back to'
};

/** "System", or the user id of a person ("human:<userId>"); the page has no names for ids yet. */
export function actorLabel(actor: string): string {
  if (actor === 'system') return 'System';
  return actor.startsWith('human:') ? actor.slice('human:'.length) : actor;
}

/**
 * The promotion log newest first. A roll-back target is a version that was active before (it
 * was promoted or rolled back to), is not active now, and is still in the registry; its button
 * sits on its newest row so the same version is not offered twice.
 */
export function promotionRows(page: Pick<ModelPage, 'promotions' | 'versions' | 'activeVersionId'>): PromotionRow[] {
  const known = new Set(page.versions.map((v) => v.versionId));
  const offered = new Set<string>();
  return [...page.promotions]
    .sort((a, b) => b.at - a.at)
    .map((p, i) => {
      const canRollBack = p.decision !== 'rejected' && p.versionId !== page.activeVersionId && known.has(p.versionId) && !offered.has(p.versionId);
      if (canRollBack) offered.add(p.versionId);
      return {
        key: `${p.at}-${p.versionId}-${p.decision}-${i}`,
        at: p.at,
        versionId: p.versionId,
        decision: p.decision,
        decisionLabel: decisionLabels[p.decision],
        reason: p.reason,
        who: actorLabel(p.actor),
        canRollBack
      };
    });
}
