import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { LabelledExample } from '../../../src/lib/contracts/model';
import { loadOlist } from '../../../ml/datasets/olist';
import { resolveRealDataDir } from '../../../ml/datasets/split-file';
import { loadXEducation } from '../../../ml/datasets/x-education';
import { trainAndEvaluate } from '../../../ml/train';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const dataDir = resolveRealDataDir(root, process.env.PIPEWALL_REAL_DATA);
const positives = (xs: LabelledExample[]) => xs.reduce((n, e) => n + e.label, 0);
// Each file is read once per run; tests share the parsed result.
let olist: ReturnType<typeof loadOlist> | undefined;
let xEducation: ReturnType<typeof loadXEducation> | undefined;
const olistData = () => (olist ??= loadOlist(dataDir));
const xEducationData = () => (xEducation ??= loadXEducation(dataDir, { asymmetrique: false }));

// No skip when the files are absent: CI keeps ../shared beside the checkout, and a silent skip
// would hide a model that no longer matches the reference.
describe('public datasets', () => {
  it('are where the tests expect them', () => {
    expect(
      existsSync(dataDir),
      `public datasets not found at ${dataDir}: copy ../shared/data/real (see its README) there, or set PIPEWALL_REAL_DATA to their directory`
    ).toBe(true);
  });
});

describe('Olist adapter', () => {
  it('reads 8,000 MQLs, 842 won, split 6,400 / 1,600 with 154 won in test, MQL fields only', async () => {
    const { examples, split } = await olistData();
    expect(examples).toHaveLength(8_000);
    expect(positives(examples)).toBe(842);
    expect([split.train.size, split.test.size]).toEqual([6_400, 1_600]);
    expect(positives(examples.filter((e) => split.test.has(e.id)))).toBe(154);
    expect(new Set(examples.flatMap((e) => [...Object.keys(e.features.categorical), ...Object.keys(e.features.numeric)]))).toEqual(
      new Set(['origin', 'landing_page_id', 'weekday'])
    );
    const origins = new Map<string, number>();
    for (const e of examples) origins.set(e.features.categorical.origin!, (origins.get(e.features.categorical.origin!) ?? 0) + 1);
    expect([origins.get('organic_search'), origins.get('other_publicities'), origins.get('')]).toEqual([2_296, 65, 60]);
    // The split is by time: every test lead contacted no earlier than every train lead.
    const lastTrain = Math.max(...examples.filter((e) => split.train.has(e.id)).map((e) => e.at));
    const firstTest = Math.min(...examples.filter((e) => split.test.has(e.id)).map((e) => e.at));
    expect(firstTest).toBeGreaterThanOrEqual(lastTrain);
  });

  it('logistic regression lands near the reference holdout ROC AUC (0.702)', async () => {
    const { examples, split } = await olistData();
    const r = await trainAndEvaluate(examples, { seed: 1, split, kinds: ['logreg'] });
    r.best.model.dispose();
    expect(r.best.metrics.n).toBe(1_600);
    expect(r.best.metrics.rocAuc).toBeGreaterThan(0.62);
    expect(r.best.metrics.rocAuc).toBeLessThan(0.78);
  }, 60_000);
});

describe('X Education adapter', () => {
  it('reads 9,240 leads, 3,561 converted, split 6,468 / 2,772 with 1,068 converted in test, without the sales-filled columns', async () => {
    const { examples, split } = await xEducationData();
    expect(examples).toHaveLength(9_240);
    expect(positives(examples)).toBe(3_561);
    expect([split.train.size, split.test.size]).toEqual([6_468, 2_772]);
    expect(positives(examples.filter((e) => split.test.has(e.id)))).toBe(1_068);
    const names = new Set(examples.flatMap((e) => [...Object.keys(e.features.categorical), ...Object.keys(e.features.numeric)]));
    for (const leaky of ['Tags', 'Lead Quality', 'Lead Profile', 'Last Activity', 'Last Notable Activity', 'Prospect ID', 'Lead Number', 'Converted']) {
      expect(names.has(leaky), leaky).toBe(false);
    }
    expect([...names].some((n) => n.startsWith('Asymmetrique'))).toBe(false);
    // 37 columns − 2 ids − the label − 5 filled by sales − 4 Asymmetrique.
    expect(names.size).toBe(25);
    expect(examples.some((e) => Object.values(e.features.categorical).includes('Select'))).toBe(false);
    // City: 2,249 "Select" join the blanks as one category.
    expect(examples.filter((e) => e.features.categorical.City === '').length).toBeGreaterThanOrEqual(2_249);
  });

  it('adds the four Asymmetrique columns only when asked', async () => {
    const { examples } = await loadXEducation(dataDir, { asymmetrique: true });
    const first = examples[0]!.features;
    expect(Object.keys(first.numeric).filter((n) => n.startsWith('Asymmetrique')).sort()).toEqual(['Asymmetrique Activity Score', 'Asymmetrique Profile Score']);
    expect(Object.keys(first.categorical).filter((n) => n.startsWith('Asymmetrique')).sort()).toEqual(['Asymmetrique Activity Index', 'Asymmetrique Profile Index']);
  });

  it('logistic regression lands near the reference holdout ROC AUC (0.857 without Asymmetrique)', async () => {
    const { examples, split } = await xEducationData();
    const r = await trainAndEvaluate(examples, { seed: 1, split, kinds: ['logreg'] });
    r.best.model.dispose();
    expect(r.best.metrics.n).toBe(2_772);
    expect(r.best.metrics.rocAuc).toBeGreaterThan(0.8);
    expect(r.best.metrics.rocAuc).toBeLessThan(0.92);
  }, 60_000);
});
