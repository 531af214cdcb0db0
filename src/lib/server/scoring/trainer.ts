import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { LabelledExample, TrainingProgress } from '../../contracts/model';
import type { ModelPage, PromotionDecision, TrainingRun } from '../../contracts/model-registry';
import { pickBest } from '../../../../ml/train';
import { examplesFromLeads, splitByOutcomeTime } from '../../../../ml/dataset';
import { runTrainingJob, type TrainingJobResult } from '../../../../ml/train-runner';
import type { ClickHouseClient } from '../db/clickhouse';
import {
  activeVersionId,
  listDecisions,
  listModelVersions,
  outcomeCounts,
  recordDecision,
  saveModelVersion,
  type StoredVersion
} from '../db/queries/models';
import { loadOrgLeadEvents } from '../db/queries/training-events';
import type { Logger } from '../log';
import { describeOnHoldout } from './describe';
import { buildModelPage } from './page';
import { publishArtifacts } from './artifact-store';
import { priorExamples } from './prior';
import type { Scorer } from './scorer';

/**
 * Training runs, the promotion decision, rollbacks and the retraining triggers (issue 6 items
 * 4–6). One run per organisation at a time, in a child process (ml/train-runner.ts), so the
 * app's sockets and ingest stay responsive while it trains.
 */

export interface TrainerSettings {
  /**
   * Outcomes an organisation needs, of each kind, before its own model replaces the prior:
   * 40 won and 40 lost, Dynamics 365's documented minimum. With fewer, the 20 % holdout holds
   * under ten of a class, and its AUC moves by more than the gap a promotion decides on.
   */
  minWon: number;
  minLost: number;
  /** Retrain after this many new outcomes… */
  retrainAfterOutcomes: number;
  /** …and on this schedule. */
  retrainIntervalMs: number;
  seed: number;
}

export interface TrainerEvents {
  progressed(orgId: string, run: TrainingRun): void;
  changed(orgId: string, page: ModelPage): void;
  /** A new active version: every open lead needs a new score. */
  promoted(orgId: string): void;
}

export interface Trainer {
  /** Starts a run unless one is going; resolves with the run as it stands (not when it ends). */
  retrain(orgId: string, trigger: TrainingRun['trigger']): TrainingRun;
  /** Resolves when the organisation's current run (if any) has finished. */
  settled(orgId: string): Promise<void>;
  rollback(orgId: string, versionId: string, actor: string): Promise<{ ok: true } | { ok: false; reason: string }>;
  /**
   * The model page. `run` is the organisation's current run when another process is the active
   * trainer (issue 8); absent, this process's own.
   */
  page(orgId: string, run?: TrainingRun | null): Promise<ModelPage>;
  /** This process's current (or last) run of the organisation, if any. */
  currentRun(orgId: string): TrainingRun | null;
  /**
   * Abort the runs in flight and keep going (issue 8: this process lost the trainer lease, and
   * another trainer decides now); each ends as failed with `reason`.
   */
  halt(reason: string): void;
  /** Ledger rows were committed: counts outcomes toward the retraining trigger. */
  noteOutcomes(orgId: string, outcomes: number): void;
  /** Make sure the organisation has an active model (the prior until it has outcomes enough). */
  ensureModel(orgId: string): void;
  stop(): void;
}

const PRIOR_DIR = '_prior';
/** Bump when the prior's recipe (data, features) changes, so a stale prior on disk is not reused. */
const PRIOR_RECIPE = 'p2';

export function createTrainer(deps: {
  clickhouse: ClickHouseClient;
  log: Logger;
  modelDir: string;
  scorer: Scorer;
  settings: TrainerSettings;
  events: TrainerEvents;
  now?: () => number;
  /**
   * Whether this process is the active trainer now (issue 8: a lease). A process that lost the
   * lease neither starts scheduled runs nor records a promotion; absent, always.
   */
  isActive?: () => boolean;
}): Trainer {
  const { clickhouse, log, modelDir, scorer, settings, events } = deps;
  const now = deps.now ?? Date.now;
  const runs = new Map<string, { run: TrainingRun; done: Promise<void> }>();
  const pendingOutcomes = new Map<string, number>();
  const known = new Set<string>();
  let stopped = false;
  /** Aborts the training jobs in flight; replaced after a `halt`, so later runs start clean. */
  let abort = new AbortController();

  const isActive = deps.isActive ?? (() => true);
  const timer = setInterval(() => {
    if (!isActive()) return;
    for (const orgId of known) trainer.retrain(orgId, 'schedule');
  }, settings.retrainIntervalMs);
  timer.unref();

  async function page(orgId: string, elsewhere?: TrainingRun | null): Promise<ModelPage> {
    const run = elsewhere !== undefined ? elsewhere : (runs.get(orgId)?.run ?? null);
    return buildModelPage(clickhouse, orgId, { minWon: settings.minWon, minLost: settings.minLost }, run, now());
  }

  async function publish(orgId: string): Promise<void> {
    try {
      events.changed(orgId, await page(orgId));
    } catch (err) {
      log.warn({ err, orgId }, 'model page push failed');
    }
  }

  async function decide(orgId: string, decision: PromotionDecision): Promise<void> {
    // Another process may have become the trainer while this run trained; its decisions stand.
    if (!isActive()) throw new Error('this process is no longer the active trainer; the decision is left to it');
    await recordDecision(clickhouse, orgId, decision);
    if (decision.decision !== 'rejected') {
      scorer.forget(orgId);
      events.promoted(orgId);
    }
  }

  /** The prior's artifacts (trained once per MODEL_DIR on synthetic journeys) and its description. */
  async function priorVersion(progress: (p: TrainingProgress) => void, signal: AbortSignal): Promise<Omit<StoredVersion, 'versionId' | 'createdAt'>> {
    const dir = join(modelDir, PRIOR_DIR, PRIOR_RECIPE);
    const described = join(dir, 'version.json');
    if (existsSync(described)) return JSON.parse(await readFile(described, 'utf8')) as Omit<StoredVersion, 'versionId' | 'createdAt'>;
    const examples = priorExamples(settings.seed);
    const split = splitByOutcomeTime(examples);
    const started = performance.now();
    const result = await runTrainingJob(
      { outDir: dir, seed: settings.seed, examples, split: { train: [...split.train], test: [...split.test] } },
      { onProgress: progress, signal }
    );
    const version = await describeResult(PRIOR_DIR, result, examples.filter((e) => split.test.has(e.id)), 'prior', performance.now() - started);
    await writeFile(described, JSON.stringify(version));
    return version;
  }

  /** A finished job's best candidate as a registry row (without id and time). */
  async function describeResult(
    orgId: string,
    result: TrainingJobResult,
    holdout: LabelledExample[],
    scope: 'org' | 'prior',
    trainingMs: number
  ): Promise<Omit<StoredVersion, 'versionId' | 'createdAt'>> {
    const best = result.candidates.find((c) => c.kind === result.best) ?? pickBest(result.candidates);
    const artifactDir = relative(modelDir, best.dir);
    const draft = {
      kind: best.kind,
      scope,
      backend: result.backend,
      trainWindow: result.trainWindow,
      counts: {
        train: result.counts.train + result.counts.validation,
        holdout: result.counts.holdout,
        positives: result.counts.holdoutPositives,
        holdoutLeads: new Set(holdout.map((e) => e.id)).size,
        holdoutLeadsWon: new Set(holdout.filter((e) => e.label === 1).map((e) => e.id)).size
      },
      trainingMs,
      metrics: best.metrics,
      baseline: null,
      features: [],
      holdout: [],
      reference: { overall: [], byChannel: {} },
      artifactDir
    } satisfies Omit<StoredVersion, 'versionId' | 'createdAt'>;
    const loaded = await scorer.load(orgId, { ...draft, versionId: 'draft', createdAt: 0 });
    const view = describeOnHoldout(loaded, holdout, best.metrics.threshold);
    return { ...draft, features: view.features, holdout: view.holdout, reference: view.reference };
  }

  async function runOnce(orgId: string, run: TrainingRun, signal: AbortSignal): Promise<void> {
    const progress = (p: TrainingProgress) => {
      run.progress = p;
      events.progressed(orgId, { ...run });
    };
    const finish = (result: NonNullable<TrainingRun['result']>) => {
      run.result = result;
      run.progress = { phase: 'done' };
      events.progressed(orgId, { ...run });
    };
    progress({ phase: 'prepare' });
    const [outcomes, decisions, versions] = await Promise.all([
      outcomeCounts(clickhouse, orgId),
      listDecisions(clickhouse, orgId),
      listModelVersions(clickhouse, orgId)
    ]);
    const activeId = activeVersionId(decisions);
    const active = versions.find((v) => v.versionId === activeId);
    const nextId = `v${versions.length + 1}`;

    if (outcomes.won < settings.minWon || outcomes.lost < settings.minLost) {
      const needed = `${Math.max(0, settings.minWon - outcomes.won)} more won and ${Math.max(0, settings.minLost - outcomes.lost)} more lost outcomes`;
      if (active) {
        finish({ versionId: null, decision: 'skipped', reason: `Not enough outcomes for an own model yet: ${needed} needed.` });
        return;
      }
      const prior = await priorVersion(progress, signal);
      signal.throwIfAborted();
      const versionId = `${nextId}-prior`;
      // Files first, then the row that names them: whoever sees the row can fetch them.
      await publishArtifacts(clickhouse, modelDir, orgId, prior.artifactDir, now());
      await saveModelVersion(clickhouse, orgId, { ...prior, versionId, createdAt: now() });
      await decide(orgId, {
        at: now(), versionId, decision: 'promoted', actor: 'system',
        reason: `No model was active. The prior (trained on synthetic journeys) scores leads until this organisation has ${settings.minWon} won and ${settings.minLost} lost outcomes (${needed} needed).`
      });
      finish({ versionId, decision: 'promoted', reason: 'The prior model scores leads until there are enough outcomes.' });
      return;
    }

    const leads = await loadOrgLeadEvents(clickhouse, orgId);
    const examples = examplesFromLeads(leads, { seed: settings.seed });
    const split = splitByOutcomeTime(examples);
    const holdout = examples.filter((e) => split.test.has(e.id));
    const outDir = join(modelDir, orgId, `${nextId}-${randomUUID().slice(0, 8)}`);
    await mkdir(outDir, { recursive: true });
    const started = performance.now();
    const result = await runTrainingJob(
      { outDir, seed: settings.seed, examples, split: { train: [...split.train], test: [...split.test] } },
      { onProgress: progress, signal }
    );
    progress({ phase: 'evaluate' });
    const described = await describeResult(orgId, result, holdout, 'org', performance.now() - started);

    // The same holdout through the active model: a fair comparison, whatever it was trained on.
    let baseline: StoredVersion['baseline'] = null;
    if (active) {
      const current = await scorer.load(orgId, active);
      baseline = { versionId: active.versionId, metrics: describeOnHoldout(current, holdout, active.metrics.threshold).metrics };
    }
    const versionId = nextId;
    signal.throwIfAborted();
    await publishArtifacts(clickhouse, modelDir, orgId, described.artifactDir, now());
    await saveModelVersion(clickhouse, orgId, { ...described, baseline, versionId, createdAt: now() });
    const auc = (x: number) => x.toFixed(3);
    let decision: PromotionDecision;
    if (!baseline) {
      decision = { at: now(), versionId, decision: 'promoted', actor: 'system', reason: `First model: holdout AUC ${auc(described.metrics.rocAuc)}.` };
    } else {
      const wins = pickBest([{ id: 'active', metrics: baseline.metrics }, { id: 'new', metrics: described.metrics }]).id === 'new';
      const figures = `holdout AUC ${auc(described.metrics.rocAuc)} vs ${auc(baseline.metrics.rocAuc)} (${baseline.versionId}), log loss ${described.metrics.logLoss.toFixed(3)} vs ${baseline.metrics.logLoss.toFixed(3)}`;
      decision = wins
        ? { at: now(), versionId, decision: 'promoted', actor: 'system', reason: `Beats the active model on the same holdout: ${figures}.` }
        : { at: now(), versionId, decision: 'rejected', actor: 'system', reason: `Does not beat the active model on the same holdout: ${figures}.` };
    }
    await decide(orgId, decision);
    finish({ versionId, decision: decision.decision === 'promoted' ? 'promoted' : 'rejected', reason: decision.reason });
  }

  const trainer: Trainer = {
    retrain(orgId, trigger) {
      known.add(orgId);
      const going = runs.get(orgId);
      if (going && !going.run.result) return { ...going.run };
      const run: TrainingRun = { runId: randomUUID(), startedAt: now(), trigger, progress: { phase: 'prepare' }, result: null };
      pendingOutcomes.set(orgId, 0);
      // This run's own signal: a `halt` aborts it whatever step it is at, and not later runs.
      const signal = abort.signal;
      const done = (async () => {
        if (stopped) return;
        try {
          await runOnce(orgId, run, signal);
        } catch (err) {
          if (stopped) return;
          log.error({ err, orgId }, 'model training failed');
          run.result = { versionId: null, decision: 'failed', reason: err instanceof Error ? err.message : String(err) };
          run.progress = { phase: 'done' };
          events.progressed(orgId, { ...run });
        }
        if (!stopped) await publish(orgId);
      })();
      runs.set(orgId, { run, done });
      return { ...run };
    },
    async settled(orgId) {
      await runs.get(orgId)?.done;
    },
    async rollback(orgId, versionId, actor) {
      const [versions, decisions] = await Promise.all([listModelVersions(clickhouse, orgId), listDecisions(clickhouse, orgId)]);
      if (!versions.some((v) => v.versionId === versionId)) return { ok: false, reason: 'No such version.' };
      if (activeVersionId(decisions) === versionId) return { ok: false, reason: 'That version is already active.' };
      await decide(orgId, { at: now(), versionId, decision: 'rolled_back', actor, reason: `Rolled back to ${versionId} by hand.` });
      await publish(orgId);
      return { ok: true };
    },
    page,
    currentRun: (orgId) => {
      const run = runs.get(orgId)?.run;
      return run ? { ...run } : null;
    },
    noteOutcomes(orgId, outcomes) {
      known.add(orgId);
      const pending = (pendingOutcomes.get(orgId) ?? 0) + outcomes;
      pendingOutcomes.set(orgId, pending);
      if (pending >= settings.retrainAfterOutcomes) trainer.retrain(orgId, 'outcomes');
    },
    ensureModel(orgId) {
      if (known.has(orgId)) return;
      known.add(orgId);
      void listDecisions(clickhouse, orgId).then(
        (d) => {
          if (!activeVersionId(d)) trainer.retrain(orgId, 'start');
        },
        (err: unknown) => log.warn({ err, orgId }, 'could not read the model registry')
      );
    },
    halt(reason) {
      abort.abort(new Error(reason));
      abort = new AbortController();
    },
    stop() {
      stopped = true;
      clearInterval(timer);
      abort.abort(new Error('the app is stopping'));
    }
  };
  return trainer;
}
