import { fork } from 'node:child_process';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { setPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { modelKindSchema, type ModelKind, type ModelMetrics, type TrainingProgress } from '../src/lib/contracts/model';
import type { TfBackend } from './backend';
import type { FeatureSpec } from './normalize';
import type { TrainingResult } from './train';

// The protocol between runTrainingJob and the child (ml/train-job.ts) lives here, beside the
// side that starts it; the child imports it.
const labelledExampleSchema = z.object({
  id: z.string(),
  label: z.union([z.literal(0), z.literal(1)]),
  at: z.number(),
  features: z.object({
    // null: a NaN that went through JSON; the normaliser treats it as missing.
    numeric: z.record(z.string(), z.number().nullable()),
    categorical: z.record(z.string(), z.string())
  })
});

export const trainingJobSchema = z.object({
  /** Where the artifacts go; created if absent. */
  outDir: z.string().min(1),
  seed: z.number().int(),
  kinds: z.array(modelKindSchema).min(1).optional(),
  holdoutFraction: z.number().gt(0).lt(1).optional(),
  maxEpochs: z.number().int().min(1).optional(),
  /** Fixed train/test ids; otherwise a time split. */
  split: z.object({ train: z.array(z.string()), test: z.array(z.string()) }).optional(),
  examples: z.array(labelledExampleSchema)
});
export type TrainingJob = z.input<typeof trainingJobSchema>;
export type ParsedTrainingJob = z.output<typeof trainingJobSchema>;

export interface TrainingJobResult {
  outDir: string;
  backend: TfBackend;
  best: ModelKind;
  spec: FeatureSpec;
  candidates: { kind: ModelKind; dir: string; metrics: ModelMetrics; trainSeconds: number; epochs: number }[];
  holdoutIds: string[];
  trainWindow: TrainingResult['trainWindow'];
  counts: TrainingResult['counts'];
}

export type TrainingJobMessage =
  | { type: 'progress'; progress: TrainingProgress }
  | { type: 'result'; result: TrainingJobResult }
  | { type: 'error'; message: string };

export interface RunOptions {
  onProgress?: (p: TrainingProgress) => void;
  /** Aborting kills the child and rejects with the signal's reason. */
  signal?: AbortSignal;
  /**
   * The repo root holding ml/train-job.ts. Not derived from import.meta.url: inside the
   * SvelteKit bundle that points into build/, where no .ts sibling exists. The app runs from the
   * repo root, so the working directory is the default.
   */
  root?: string;
}

const STDERR_TAIL = 4_000;
const EXAMPLES_PER_WRITE = 2_000;

/**
 * The job as one JSON document, the examples stringified a slice at a time with an await between
 * slices: one JSON.stringify of 100k examples holds the app's event loop for 0.3–1 s here.
 */
async function writeJobFile(path: string, job: TrainingJob): Promise<void> {
  const { examples, ...rest } = job;
  const file = await open(path, 'w');
  try {
    await file.write(`${JSON.stringify(rest).slice(0, -1)},"examples":[`);
    for (let i = 0; i < examples.length; i += EXAMPLES_PER_WRITE) {
      const slice = examples.slice(i, i + EXAMPLES_PER_WRITE).map((e) => JSON.stringify(e));
      await file.write((i > 0 ? ',' : '') + slice.join(','));
    }
    await file.write(']}');
  } finally {
    await file.close();
  }
}

/**
 * Trains in a child process (`node --import tsx ml/train-job.ts`) and resolves with its result.
 * The job goes through a temporary file rather than IPC: 100k examples are ~16 MB of JSON, which
 * the child reads and parses in one go.
 */
export async function runTrainingJob(job: TrainingJob, opts: RunOptions = {}): Promise<TrainingJobResult> {
  opts.signal?.throwIfAborted();
  const root = opts.root ?? process.env.PIPEWALL_ROOT ?? process.cwd();
  const tmp = await mkdtemp(join(tmpdir(), 'pipewall-train-'));
  const jobPath = join(tmp, 'job.json');
  try {
    await writeJobFile(jobPath, job);
    return await new Promise<TrainingJobResult>((resolve, reject) => {
      const child = fork(join(root, 'ml', 'train-job.ts'), [jobPath], {
        cwd: root,
        execArgv: ['--import', 'tsx'],
        stdio: ['ignore', 'ignore', 'pipe', 'ipc']
      });
      // Lowest CPU priority: on a small machine a training run must not delay socket pushes
      // or ingest acknowledgements, which run at normal priority in the parent.
      try {
        if (child.pid !== undefined) setPriority(child.pid, 19);
      } catch {
        // not permitted here: training still runs, only at normal priority
      }
      let stderr = '';
      let outcome: { ok: true; result: TrainingJobResult } | { ok: false; error: Error } | undefined;
      child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-STDERR_TAIL)));
      const onAbort = () => {
        outcome ??= { ok: false, error: opts.signal?.reason instanceof Error ? opts.signal.reason : new Error('training aborted') };
        child.kill('SIGKILL');
      };
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      child.on('message', (m: TrainingJobMessage) => {
        if (m.type === 'progress') opts.onProgress?.(m.progress);
        else if (m.type === 'result') outcome ??= { ok: true, result: m.result };
        else outcome ??= { ok: false, error: new Error(`training failed: ${m.message}`) };
      });
      child.on('error', (err) => {
        outcome ??= { ok: false, error: new Error(`training process failed: ${err.message}`, { cause: err }) };
      });
      // Settle on exit, not on the result message, so the temporary files are never removed
      // under a child that is still reading or writing.
      child.on('exit', (code, signal) => {
        opts.signal?.removeEventListener('abort', onAbort);
        if (outcome?.ok) resolve(outcome.result);
        else reject(outcome?.error ?? new Error(`training process exited (${signal ?? `code ${code}`}) without a result: ${stderr.trim() || 'no output'}`));
      });
    });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
