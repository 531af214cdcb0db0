/**
 * `npm run eval:real`: trains logreg and mlp on the two public lead datasets with their fixed
 * splits, through the same trainAndEvaluate the app uses, and prints the holdout figures beside
 * the scikit-learn reference results from the data README. Data dir: PIPEWALL_REAL_DATA, else
 * ../shared/data/real beside the repo root (the working directory).
 */
import { existsSync } from 'node:fs';
import type { LabelledExample, ModelMetrics } from '../src/lib/contracts/model';
import { tfReady } from './backend';
import { loadOlist } from './datasets/olist';
import { resolveRealDataDir, type FixedSplit } from './datasets/split-file';
import { loadXEducation } from './datasets/x-education';
import { trainAndEvaluate } from './train';

type Figures = Pick<ModelMetrics, 'rocAuc' | 'prAuc' | 'logLoss' | 'brier' | 'ece'>;

/** ../shared/data/real/README.md, "Fixed splits and reference results on them". */
const REFERENCE: Record<string, [string, Figures][]> = {
  Olist: [
    ['constant', { rocAuc: 0.5, prAuc: 0.096, logLoss: 0.317, brier: 0.087, ece: 0.011 }],
    ['logistic regression', { rocAuc: 0.702, prAuc: 0.19, logLoss: 0.297, brier: 0.083, ece: 0.015 }],
    ['gradient boosting', { rocAuc: 0.679, prAuc: 0.167, logLoss: 0.301, brier: 0.084, ece: 0.016 }]
  ],
  'X Education, with Asymmetrique': [
    ['logistic regression', { rocAuc: 0.873, prAuc: 0.819, logLoss: 0.434, brier: 0.138, ece: 0.033 }],
    ['gradient boosting', { rocAuc: 0.893, prAuc: 0.849, logLoss: 0.4, brier: 0.126, ece: 0.014 }]
  ],
  'X Education, without Asymmetrique': [
    ['logistic regression', { rocAuc: 0.857, prAuc: 0.791, logLoss: 0.461, brier: 0.148, ece: 0.032 }],
    ['gradient boosting', { rocAuc: 0.864, prAuc: 0.801, logLoss: 0.445, brier: 0.143, ece: 0.026 }]
  ]
};

const DATASETS: [string, (dir: string) => Promise<{ examples: LabelledExample[]; split: FixedSplit }>][] = [
  ['Olist', loadOlist],
  ['X Education, with Asymmetrique', (dir) => loadXEducation(dir, { asymmetrique: true })],
  ['X Education, without Asymmetrique', (dir) => loadXEducation(dir, { asymmetrique: false })]
];

const SEED = 1;

const cells = (f: Figures) => [f.rocAuc, f.prAuc, f.logLoss, f.brier, f.ece].map((v) => v.toFixed(3));

async function main(): Promise<number> {
  const dataDir = resolveRealDataDir(process.cwd(), process.env.PIPEWALL_REAL_DATA);
  if (!existsSync(dataDir)) {
    console.error(`eval:real: no data at ${dataDir}. Put the public datasets there (a copy of ../shared/data/real with its splits/), or set PIPEWALL_REAL_DATA to their directory.`);
    return 2;
  }
  const backend = await tfReady();
  const lines = ['| Dataset | Source | Model | ROC AUC | PR AUC | Log loss | Brier | ECE | Train s | Epochs |', '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |'];
  for (const [name, load] of DATASETS) {
    const { examples, split } = await load(dataDir);
    const result = await trainAndEvaluate(examples, { seed: SEED, split, kinds: ['logreg', 'mlp'] });
    const { counts } = result;
    console.error(`${name}: ${counts.train} fit / ${counts.validation} validation / ${counts.holdout} test (${counts.holdoutPositives} won), ${result.spec.width} columns`);
    for (const c of result.candidates) {
      lines.push(`| ${name} | pipewall (tfjs ${backend}) | ${c.kind}${c === result.best ? ' (best)' : ''} | ${cells(c.metrics).join(' | ')} | ${c.trainSeconds.toFixed(1)} | ${c.epochs} |`);
      c.model.dispose();
    }
    for (const [model, figures] of REFERENCE[name] ?? []) lines.push(`| ${name} | reference (scikit-learn) | ${model} | ${cells(figures).join(' | ')} | | |`);
  }
  console.log(lines.join('\n'));
  return 0;
}

main().then(
  (code) => (process.exitCode = code),
  (err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  }
);
