/**
 * The `ml` part of `npm run bench` (BENCH_ONLY=ml): the lead-scoring model on 100,000 synthetic
 * leads with a planted signal (ml/datasets/synthetic.ts), in this process, on whichever tfjs
 * backend loads here. Goals (issue 6, 2 cores): training a kind < 30 s, scoring 100,000 < 2 s.
 */
import { readFileSync } from 'node:fs';
import { tfReady } from '../../ml/backend';
import { syntheticLeads } from '../../ml/datasets/synthetic';
import { scoreRaw, trainAndEvaluate } from '../../ml/train';
import { trainingJobSchema } from '../../ml/train-runner';

const LEADS = Number(process.env.BENCH_ML_LEADS ?? 100_000);
const TRAIN_GOAL_S = 30;
const SCORE_GOAL_S = 2;
const SCORE_RUNS = 3;

/** This process's resident memory in MiB: now (VmRSS) or the peak so far (VmHWM). */
const memoryMiB = (field: 'VmRSS' | 'VmHWM') => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync('/proc/self/status', 'utf8'))?.[1]) / 1024;

const seconds = (since: number) => (performance.now() - since) / 1000;

export async function benchMl(record: (what: string, figure: string) => void): Promise<void> {
  const backend = await tfReady();
  record(
    'ml: tfjs backend',
    backend === 'tensorflow' ? 'tensorflow (tfjs-node)' : `${backend} (tfjs-node not available: its install script downloads libtensorflow from outside the npm registry)`
  );
  let peakRss = memoryMiB('VmRSS');
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, memoryMiB('VmRSS'))), 50);
  try {
    const examples = syntheticLeads(LEADS, 1);
    const fresh = syntheticLeads(LEADS, 2).map((e) => e.features);

    // The training job's input as the runner hands it to the child: JSON in a file.
    let t = performance.now();
    const json = JSON.stringify({ outDir: '/tmp/unused', seed: 1, examples });
    const stringify = seconds(t);
    t = performance.now();
    trainingJobSchema.parse(JSON.parse(json));
    record(
      `ml: training job input, ${LEADS.toLocaleString('en')} examples as JSON`,
      `${(json.length / 2 ** 20).toFixed(1)} MiB; stringify ${stringify.toFixed(2)} s, parse + validate ${seconds(t).toFixed(2)} s`
    );

    for (const kind of ['logreg', 'mlp'] as const) {
      t = performance.now();
      const result = await trainAndEvaluate(examples, { seed: 1, kinds: [kind] });
      const total = seconds(t);
      const c = result.best;
      record(
        `ml: train ${kind} on ${LEADS.toLocaleString('en')} leads (${result.counts.train} fit, ${result.counts.validation} validation; goal < ${TRAIN_GOAL_S} s)`,
        `${c.trainSeconds.toFixed(1)} s fit (${c.epochs} epochs, ${(c.trainSeconds / TRAIN_GOAL_S).toFixed(2)} of goal), ` +
          `${total.toFixed(1)} s with encoding and evaluation; holdout ROC AUC ${c.metrics.rocAuc.toFixed(3)}`
      );
      const times: number[] = [];
      for (let run = 0; run < SCORE_RUNS; run++) {
        t = performance.now();
        const p = scoreRaw(result.spec, c.model, fresh);
        times.push(seconds(t));
        if (p.length !== fresh.length) throw new Error(`scored ${p.length} of ${fresh.length}`);
      }
      const median = [...times].sort((a, b) => a - b)[Math.floor(SCORE_RUNS / 2)] as number;
      record(
        `ml: score ${LEADS.toLocaleString('en')} leads with ${kind}, encode + predict in one batch (goal < ${SCORE_GOAL_S} s)`,
        `${median.toFixed(2)} s median of ${SCORE_RUNS} (${times.map((s) => s.toFixed(2)).join(' / ')}), ${(median / SCORE_GOAL_S).toFixed(2)} of goal`
      );
      c.model.dispose();
    }
  } finally {
    clearInterval(sampler);
  }
  record('ml: peak RSS of the bench process (sampled every 50 ms / VmHWM)', `${peakRss.toFixed(0)} / ${memoryMiB('VmHWM').toFixed(0)} MiB`);
}
