import { describe, expect, it } from 'vitest';
import { modelPageSchema } from '../../../../src/lib/contracts/model-registry';
import {
  actorLabel,
  comparisonText,
  defaultVersionId,
  outcomesText,
  promotionRows,
  scoredByText,
  trainingView,
  versionLabel
} from '../../../../src/lib/charts/model-summary';
import { buildModelPage, buildModelVersion, buildPriorModelPage, buildTrainingRun, FIXTURE_NOW } from '../../../fixtures/model';

const HOUR = 3_600_000;

describe('the fixtures', () => {
  it('build pages the contract accepts', () => {
    expect(modelPageSchema.safeParse(buildModelPage({ training: buildTrainingRun() })).success).toBe(true);
    expect(modelPageSchema.safeParse(buildPriorModelPage()).success).toBe(true);
  });

  it('build a holdout whose stored figures separate wins from losses', () => {
    const v = buildModelVersion({}, { separation: 1.5 });
    expect(v.metrics.rocAuc).toBeGreaterThan(0.7);
    expect(v.metrics.rocAuc).toBeLessThan(0.95);
    expect(v.metrics.n).toBe(v.holdout.length);
  });
});

describe('scoredByText', () => {
  it("names the organisation's own active model, its kind and when it became active", () => {
    expect(scoredByText(buildModelPage(), FIXTURE_NOW)).toBe('Your own model v3 (logistic regression), promoted 3 h ago');
  });

  it('says rolled back when that is how the version became active', () => {
    const page = buildModelPage({
      activeVersionId: 'v1',
      promotions: [...buildModelPage().promotions, { at: FIXTURE_NOW - 2 * HOUR, versionId: 'v1', decision: 'rolled_back', reason: 'live AUC fell', actor: 'human:u1' }]
    });
    expect(scoredByText(page, FIXTURE_NOW)).toBe('Your own model v1 (logistic regression), rolled back to 2 h ago');
  });

  it('says how many outcomes are missing while the prior model scores', () => {
    expect(scoredByText(buildPriorModelPage(), FIXTURE_NOW)).toBe(
      'Scored by the prior (generic) model: 23 more won and 11 more lost outcomes needed for your own model'
    );
    expect(scoredByText(buildPriorModelPage({ needed: { won: 0, lost: 4 } }), FIXTURE_NOW)).toBe(
      'Scored by the prior (generic) model: 4 more lost outcomes needed for your own model'
    );
  });

  it('says so when nothing scores yet', () => {
    expect(scoredByText(buildModelPage({ scoredBy: 'none', activeVersionId: null, versions: [] }), FIXTURE_NOW)).toBe('No model scores this organisation yet');
  });

  it('counts outcomes with grouping', () => {
    expect(outcomesText({ won: 1_412, lost: 7 })).toBe('1,412 won · 7 lost outcomes');
  });
});

describe('defaultVersionId', () => {
  const v = (versionId: string, createdAt: number) => buildModelVersion({ versionId, createdAt, holdout: [] });

  it('opens on the active version, else the newest, else none', () => {
    expect(defaultVersionId({ activeVersionId: 'a', versions: [v('a', 1), v('b', 2)] })).toBe('a');
    expect(defaultVersionId({ activeVersionId: null, versions: [v('a', 1), v('b', 2)] })).toBe('b');
    expect(defaultVersionId({ activeVersionId: 'gone', versions: [v('a', 1)] })).toBe('a');
    expect(defaultVersionId({ activeVersionId: null, versions: [] })).toBeNull();
  });
});

describe('trainingView', () => {
  it('shows the phase, kind, epochs as a fraction and the losses while a run trains', () => {
    expect(trainingView(buildTrainingRun(), [])).toEqual({
      isRunning: true,
      title: 'Training · logistic regression · started by hand',
      progress: 0.3,
      epochs: 'epoch 12 / 40',
      losses: 'loss 0.412 · val loss 0.437',
      result: null
    });
  });

  it('has no progress bar in a phase without epochs', () => {
    const view = trainingView(buildTrainingRun({ progress: { phase: 'prepare' } }), []);
    expect([view.title, view.progress, view.epochs, view.losses]).toEqual(['Preparing data · started by hand', null, '', '']);
  });

  it('words a promotion with the AUC against the baseline', () => {
    const page = buildModelPage();
    const v3 = page.versions.find((v) => v.versionId === 'v3')!;
    const run = buildTrainingRun({ progress: { phase: 'done' }, result: { versionId: 'v3', decision: 'promoted', reason: '' } });
    expect(trainingView(run, page.versions).result).toEqual({
      tone: 'good',
      text: `v3 promoted: AUC ${v3.metrics.rocAuc.toFixed(2)} vs ${v3.baseline!.metrics.rocAuc.toFixed(2)}`
    });
  });

  it('words a rejection, a failure and a skip with their reasons', () => {
    const result = (decision: 'rejected' | 'failed' | 'skipped', versionId: string | null) =>
      trainingView(buildTrainingRun({ progress: { phase: 'done' }, result: { versionId, decision, reason: 'why' } }), []).result;
    expect([result('rejected', 'v9'), result('failed', null), result('skipped', null)]).toEqual([
      { tone: 'bad', text: 'v9 rejected: why' },
      { tone: 'bad', text: 'Training failed: why' },
      { tone: 'neutral', text: 'Training skipped: why' }
    ]);
  });
});

describe('comparisonText', () => {
  it('compares with the active version on the same holdout', () => {
    const base = buildModelVersion();
    const v = buildModelVersion({
      versionId: 'v2',
      metrics: { ...base.metrics, rocAuc: 0.84, brier: 0.121, ece: 0.03 },
      baseline: { versionId: 'v1', metrics: { ...base.metrics, rocAuc: 0.81, brier: 0.13, ece: 0.045 } }
    });
    expect(comparisonText(v, 'v1')).toBe('vs active v1: AUC 0.84 vs 0.81 (+0.03) · Brier 0.121 vs 0.130 · ECE 0.030 vs 0.045');
    expect(comparisonText(v, 'v2').startsWith('vs baseline v1:')).toBe(true);
  });

  it('is empty without a baseline', () => {
    expect(comparisonText(buildModelVersion({ baseline: null }), null)).toBe('');
  });
});

describe('promotionRows', () => {
  it('lists newest first and offers a roll back only to earlier active versions, once each', () => {
    const page = buildModelPage({
      promotions: [
        { at: 1, versionId: 'v1', decision: 'promoted', reason: 'first', actor: 'system' },
        { at: 2, versionId: 'v2', decision: 'rejected', reason: 'worse', actor: 'system' },
        { at: 3, versionId: 'v3', decision: 'promoted', reason: 'better', actor: 'system' },
        { at: 4, versionId: 'v1', decision: 'rolled_back', reason: 'live AUC fell', actor: 'human:u7' },
        { at: 5, versionId: 'v3', decision: 'promoted', reason: 'fixed', actor: 'human:u7' },
        { at: 6, versionId: 'v-deleted', decision: 'promoted', reason: 'gone', actor: 'system' }
      ],
      activeVersionId: 'v3'
    });
    expect(promotionRows(page).map((r) => [r.at, r.versionId, r.decisionLabel, r.who, r.canRollBack])).toEqual([
      [6, 'v-deleted', 'Promoted', 'System', false],
      [5, 'v3', 'Promoted', 'u7', false],
      [4, 'v1', 'Rolled back to', 'u7', true],
      [3, 'v3', 'Promoted', 'System', false],
      [2, 'v2', 'Rejected', 'System', false],
      [1, 'v1', 'Promoted', 'System', false]
    ]);
  });

  it('names actors', () => {
    expect([actorLabel('system'), actorLabel('human:u1'), actorLabel('scheduler')]).toEqual(['System', 'u1', 'scheduler']);
  });

  it('labels versions with one v, and named ones as they are', () => {
    expect([versionLabel('7'), versionLabel('v7'), versionLabel('prior-2025.06')]).toEqual(['v7', 'v7', 'prior-2025.06']);
  });
});
