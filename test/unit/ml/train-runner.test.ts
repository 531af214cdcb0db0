import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TrainingProgress } from '../../../src/lib/contracts/model';
import { syntheticLeads } from '../../../ml/datasets/synthetic';
import { loadModel } from '../../../ml/model';
import { scoreRaw } from '../../../ml/train';
import { runTrainingJob } from '../../../ml/train-runner';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pipewall-runner-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const examples = syntheticLeads(400, 31);

// Concurrent: each test waits mostly on a child starting (tsx, tfjs), which overlap well.
describe.concurrent('runTrainingJob', () => {
  it('trains a job in a child process, reporting progress, and leaves loadable artifacts', async () => {
    const progress: TrainingProgress[] = [];
    const outDir = join(dir, 'ok');
    const result = await runTrainingJob({ outDir, seed: 3, kinds: ['logreg'], maxEpochs: 2, examples }, { onProgress: (p) => progress.push(p) });
    expect(result).toMatchObject({ outDir, best: 'logreg', counts: { train: 256, validation: 64, holdout: 80 } });
    expect(['tensorflow', 'wasm', 'cpu']).toContain(result.backend);
    expect(progress.map((p) => p.phase)).toEqual(expect.arrayContaining(['prepare', 'train', 'evaluate', 'save', 'done']));
    expect(progress.filter((p) => p.phase === 'train' && (p.epoch ?? 0) > 0)).toHaveLength(2);
    expect(JSON.parse(await readFile(join(outDir, 'result.json'), 'utf8'))).toEqual(result);
    const model = await loadModel(join(outDir, 'logreg'));
    try {
      const p = scoreRaw(result.spec, model, examples.slice(0, 3).map((e) => e.features));
      expect(p).toHaveLength(3);
      expect(p.every((v) => v > 0 && v < 1)).toBe(true);
    } finally {
      model.dispose();
    }
  }, 60_000);

  it("rejects with the child's error message when the job fails", async () => {
    await expect(runTrainingJob({ outDir: join(dir, 'bad'), seed: 1, holdoutFraction: 0.2, examples: examples.slice(0, 2) })).rejects.toThrow(
      'training failed: not enough examples to train'
    );
    await expect(runTrainingJob({ outDir: join(dir, 'bad'), seed: 1.5, examples: [] })).rejects.toThrow(/training failed: invalid training job: .*expected int.*seed/s);
  }, 60_000);

  it('kills the child and rejects when aborted', async () => {
    const controller = new AbortController();
    const started = performance.now();
    const run = runTrainingJob(
      { outDir: join(dir, 'aborted'), seed: 1, examples },
      { signal: controller.signal, onProgress: (p) => p.phase === 'prepare' && controller.abort(new Error('user cancelled')) }
    );
    await expect(run).rejects.toThrow('user cancelled');
    expect(performance.now() - started).toBeLessThan(30_000);
    await expect(readFile(join(dir, 'aborted', 'result.json'))).rejects.toThrow('ENOENT');
  }, 60_000);
});
