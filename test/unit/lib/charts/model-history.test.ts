import { describe, expect, it } from 'vitest';
import { aucHistoryGeometry, driftBars, featureBars, liveGeometry, PSI_FLAG } from '../../../../src/lib/charts/model-history';
import { PLOT_MARGIN } from '../../../../src/lib/charts/model-plot';
import { buildMetrics, buildModelVersion, FIXTURE_NOW } from '../../../fixtures/model';

/** Pixels and shares to a millionth: float noise is not a behaviour. */
const r6 = (v: number | null) => (v === null ? null : Math.round(v * 1e6) / 1e6);
const box = { width: PLOT_MARGIN.left + 100 + PLOT_MARGIN.right, height: PLOT_MARGIN.top + 100 + PLOT_MARGIN.bottom };
const metrics = buildMetrics();
const version = (versionId: string, createdAt: number, rocAuc: number, status: 'active' | 'retired' | 'rejected' = 'retired') =>
  buildModelVersion({ versionId, createdAt, status, metrics: { ...metrics, rocAuc }, holdout: [] });

describe('aucHistoryGeometry', () => {
  const versions = [version('v2', FIXTURE_NOW, 0.75, 'rejected'), version('v1', FIXTURE_NOW - 86_400_000, 0.5), version('v3', FIXTURE_NOW + 86_400_000, 1, 'active')];

  it('orders versions by time, spaces them by time and marks the active one', () => {
    const g = aucHistoryGeometry(versions, 'v3', box);
    expect(g.dots.map((d) => [d.versionId, d.isActive, d.status])).toEqual([
      ['v1', false, 'retired'],
      ['v2', false, 'rejected'],
      ['v3', true, 'active']
    ]);
    const [a, b, c] = g.dots.map((d) => d.cx);
    expect(b! - a!).toBeCloseTo(c! - b!, 6);
    expect(a).toBeLessThan(c!);
  });

  it('starts the AUC axis at chance (0.5) so small gains are not blown up', () => {
    const g = aucHistoryGeometry(versions, 'v3', box);
    expect(g.dots.map((d) => d.cy)).toEqual([PLOT_MARGIN.top + 100, PLOT_MARGIN.top + 50, PLOT_MARGIN.top]);
    expect(g.frame.yTicks[0]?.label).toBe('0.5');
  });

  it('lowers the axis for a version worse than chance', () => {
    const g = aucHistoryGeometry([version('v1', FIXTURE_NOW, 0.3)], null, box);
    expect(g.frame.yTicks[0]?.label).toBe('0.3');
  });

  it('keeps time labels at least 140 units apart, however narrow or wide the chart', () => {
    for (const width of [120, 260, 600, 1400]) {
      const wide = { ...box, width: PLOT_MARGIN.left + width + PLOT_MARGIN.right };
      for (const list of [[version('v1', FIXTURE_NOW, 0.8)], versions]) {
        const ticks = aucHistoryGeometry(list, null, wide).frame.xTicks.map((t) => t.at);
        expect(ticks.length).toBeGreaterThan(0);
        for (let i = 1; i < ticks.length; i++) expect(ticks[i]! - ticks[i - 1]!).toBeGreaterThanOrEqual(140);
      }
    }
  });

  it('puts a single version mid-axis with no line', () => {
    const g = aucHistoryGeometry([version('v1', FIXTURE_NOW, 0.8)], 'v1', box);
    expect(g.line).toBe('');
    expect(g.dots[0]?.cx).toBeCloseTo(PLOT_MARGIN.left + 50, 6);
  });

  it('has nothing to draw without versions', () => {
    expect(aucHistoryGeometry([], null, box).dots).toEqual([]);
  });
});

describe('liveGeometry', () => {
  const versions = [version('v1', FIXTURE_NOW - 10, 0.8), version('v2', FIXTURE_NOW, 0.9, 'active'), version('v0', FIXTURE_NOW - 20, 0.7)];

  it('pairs training and live AUC per version with outcomes, newest first', () => {
    const g = liveGeometry(
      versions,
      [
        { versionId: 'v1', outcomes: 100, positives: 20, rocAuc: 0.6, brier: 0.2, ece: 0.1 },
        { versionId: 'v2', outcomes: 4, positives: 0, rocAuc: null, brier: 0.1, ece: null },
        { versionId: 'v0', outcomes: 0, positives: 0, rocAuc: null, brier: null, ece: null },
        { versionId: 'gone', outcomes: 9, positives: 3, rocAuc: 0.7, brier: 0.2, ece: 0.1 }
      ],
      'v2',
      PLOT_MARGIN.left + 100 + PLOT_MARGIN.right
    );
    expect(g.rows.map((r) => [r.versionId, r.isActive, r.trainingAuc, r.liveAuc, r.outcomes, r6(r.trainingX), r6(r.liveX)])).toEqual([
      ['v2', true, 0.9, null, 4, PLOT_MARGIN.left + 80, null],
      ['v1', false, 0.8, 0.6, 100, PLOT_MARGIN.left + 60, PLOT_MARGIN.left + 20]
    ]);
  });
});

describe('featureBars', () => {
  it('sorts by strength and scales to the strongest, keeping at most `limit`', () => {
    const bars = featureBars(
      [
        { feature: 'a', label: 'A', weight: 0.5 },
        { feature: 'b', label: 'B', weight: 2 },
        { feature: 'c', label: 'C', weight: 1 }
      ],
      2
    );
    expect(bars.map((b) => [b.feature, b.share])).toEqual([
      ['b', 1],
      ['c', 0.5]
    ]);
  });

  it('gives zero-length bars, not NaN, when every weight is zero', () => {
    expect(featureBars([{ feature: 'a', label: 'A', weight: 0 }]).map((b) => b.share)).toEqual([0]);
  });
});

describe('driftBars', () => {
  it('sorts channels by PSI on an axis that keeps the 0.2 flag line inside', () => {
    const d = driftBars([
      { channel: 'web', leads: 10, psi: 0.15, flagged: false },
      { channel: 'phone', leads: 5, psi: 0.03, flagged: false }
    ]);
    expect(d.max).toBeCloseTo(0.3, 9);
    expect(d.flagAt).toBeCloseTo(PSI_FLAG / 0.3, 9);
    expect(d.bars.map((b) => [b.channel, r6(b.share)])).toEqual([
      ['web', 0.5],
      ['phone', 0.1]
    ]);
  });

  it('stretches the axis to the largest PSI', () => {
    const d = driftBars([{ channel: 'web', leads: 10, psi: 0.8, flagged: true }]);
    expect([d.max, d.flagAt, d.bars[0]?.share]).toEqual([0.8, 0.25, 1]);
  });
});
