/**
 * Child-process entry for one training run, so training's seconds of CPU never block the app's
 * event loop: `node --import tsx ml/train-job.ts [job.json]` (stdin when no path). Writes each
 * model to `<outDir>/<kind>/` (model.json, weights.bin, meta.json with the feature spec and
 * holdout metrics) and `<outDir>/result.json`, and reports over IPC when there is a parent:
 * `{ type: 'progress', progress }`, then `{ type: 'result', result }` or `{ type: 'error', message }`.
 * Without IPC the result is printed to stdout.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { LabelledExample } from '../src/lib/contracts/model';
import { trainingJobSchema, type ParsedTrainingJob, type TrainingJobMessage, type TrainingJobResult } from './train-runner';

function send(message: TrainingJobMessage): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!process.send) return resolve();
    process.send(message, undefined, {}, (err: Error | null) => (err ? reject(err) : resolve()));
  });
}

async function readJob(): Promise<ParsedTrainingJob> {
  const path = process.argv[2];
  let text = '';
  if (path) text = await readFile(path, 'utf8');
  else for await (const chunk of process.stdin) text += String(chunk);
  const parsed = trainingJobSchema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error(`invalid training job: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

async function run(): Promise<TrainingJobResult> {
  const job = await readJob();
  // tfjs loads only for a valid job (1–3 s here), so a bad job is refused at once.
  const [{ tfReady }, { trainAndEvaluate }] = await Promise.all([import('./backend'), import('./train')]);
  const backend = await tfReady();
  const trained = await trainAndEvaluate(job.examples as LabelledExample[], {
    seed: job.seed,
    kinds: job.kinds,
    holdoutFraction: job.holdoutFraction,
    maxEpochs: job.maxEpochs,
    split: job.split && { train: new Set(job.split.train), test: new Set(job.split.test) },
    // Progress is fire-and-forget: a lost epoch report must not stop training.
    onProgress: (progress) => void send({ type: 'progress', progress }).catch(() => {})
  });
  try {
    void send({ type: 'progress', progress: { phase: 'save' } }).catch(() => {});
    const candidates: TrainingJobResult['candidates'] = [];
    for (const c of trained.candidates) {
      const dir = join(job.outDir, c.kind);
      await c.model.save(dir, { spec: trained.spec, metrics: c.metrics, trainWindow: trained.trainWindow, counts: trained.counts });
      candidates.push({ kind: c.kind, dir, metrics: c.metrics, trainSeconds: c.trainSeconds, epochs: c.epochs });
    }
    const result: TrainingJobResult = {
      outDir: job.outDir,
      backend,
      best: trained.best.kind,
      spec: trained.spec,
      candidates,
      holdoutIds: trained.holdoutIds,
      trainWindow: trained.trainWindow,
      counts: trained.counts
    };
    await mkdir(job.outDir, { recursive: true });
    await writeFile(join(job.outDir, 'result.json'), JSON.stringify(result));
    return result;
  } finally {
    for (const c of trained.candidates) c.model.dispose();
  }
}

try {
  const result = await run();
  if (process.send) await send({ type: 'result', result });
  else console.log(JSON.stringify(result));
  process.disconnect?.();
} catch (err) {
  const message = err instanceof Error ? err.message : String(err);
  if (process.send) await send({ type: 'error', message });
  else console.error(err);
  process.exitCode = 1;
  process.disconnect?.();
}
