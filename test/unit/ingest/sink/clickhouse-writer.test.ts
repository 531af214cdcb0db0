import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createBatchWriter } from '../../../../ingest/sink/clickhouse-writer';
import { openSpool } from '../../../../ingest/sink/spool';
import { waitFor } from '../../../helpers/wait';
import { OverloadedError, ShuttingDownError, StoreUnavailableError } from '../../../../src/lib/server/errors';

function recordingInsert(failures = 0) {
  const batches: number[][] = [];
  let failed = 0;
  return {
    batches,
    async insert(rows: number[]) {
      if (failed < failures) {
        failed++;
        throw new Error('Code: 210, connection refused');
      }
      batches.push([...rows]);
    }
  };
}

describe('createBatchWriter', () => {
  it('groups concurrent writes into one insert and resolves each only after it is committed', async () => {
    const sink = recordingInsert();
    const writer = createBatchWriter<number>({ insert: sink.insert, maxRows: 100, maxDelayMs: 5, maxBuffered: 1_000 });
    await Promise.all([writer.write([1, 2]), writer.write([3]), writer.write([4, 5])]);
    expect(sink.batches).toEqual([[1, 2, 3, 4, 5]]);
    expect(writer.stats()).toEqual({ buffered: 0, committedRows: 5, failedBatches: 0 });
  });

  it('flushes as soon as maxRows are waiting, without waiting for the timer', async () => {
    const sink = recordingInsert();
    const writer = createBatchWriter<number>({ insert: sink.insert, maxRows: 3, maxDelayMs: 60_000, maxBuffered: 1_000 });
    await writer.write([1, 2, 3]);
    expect(sink.batches).toEqual([[1, 2, 3]]);
  });

  it('retries a failed insert with the same rows and stores them once', async () => {
    const sink = recordingInsert(2);
    const retries: number[] = [];
    const writer = createBatchWriter<number>({
      insert: sink.insert,
      maxRows: 10,
      maxDelayMs: 1,
      maxBuffered: 100,
      retryDelaysMs: [1, 1, 1],
      onRetry: (_e, attempt) => retries.push(attempt)
    });
    await writer.write([7, 8]);
    expect(sink.batches).toEqual([[7, 8]]);
    expect(retries).toEqual([1, 2]);
  });

  it('rejects every waiter with StoreUnavailableError when retries run out, and acknowledges nothing', async () => {
    const sink = recordingInsert(99);
    const writer = createBatchWriter<number>({ insert: sink.insert, maxRows: 10, maxDelayMs: 1, maxBuffered: 100, retryDelaysMs: [1] });
    const results = await Promise.allSettled([writer.write([1]), writer.write([2])]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect((results[0] as PromiseRejectedResult).reason).toBeInstanceOf(StoreUnavailableError);
    expect(sink.batches).toEqual([]);
    expect(writer.stats()).toEqual({ buffered: 0, committedRows: 0, failedBatches: 1 });
  });

  it('refuses with OverloadedError instead of buffering beyond maxBuffered', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const writer = createBatchWriter<number>({ insert: () => gate, maxRows: 2, maxDelayMs: 1, maxBuffered: 3 });
    const first = writer.write([1, 2]);
    await expect(writer.write([3, 4])).rejects.toBeInstanceOf(OverloadedError);
    release();
    await first;
  });

  it('flushes what it holds on close and refuses new rows afterwards', async () => {
    const sink = recordingInsert();
    const writer = createBatchWriter<number>({ insert: sink.insert, maxRows: 100, maxDelayMs: 60_000, maxBuffered: 100 });
    const pending = writer.write([1, 2]);
    await writer.close();
    await pending;
    expect(sink.batches).toEqual([[1, 2]]);
    await expect(writer.write([3])).rejects.toBeInstanceOf(ShuttingDownError);
  });
});

const spoolRoot = mkdtempSync(join(tmpdir(), 'pipewall-writer-unit-'));
afterAll(() => rmSync(spoolRoot, { recursive: true, force: true }));
let spools = 0;
const spoolDir = () => join(spoolRoot, `s${++spools}`);

/** An insert that fails while `down` is true, like a stopped ClickHouse. */
function switchableInsert() {
  const state = { down: true, attempts: 0, batches: [] as number[][] };
  return {
    state,
    async insert(rows: number[]) {
      state.attempts++;
      if (state.down) throw new Error('connect ECONNREFUSED 127.0.0.1:8123');
      state.batches.push([...rows]);
    }
  };
}

describe('createBatchWriter with a spool', () => {
  const fast = { maxRows: 10, maxDelayMs: 1, maxBuffered: 100, retryDelaysMs: [1, 1] };

  it('acknowledges a batch ClickHouse refuses once it is in the spool, and commits it when ClickHouse is back', async () => {
    const sink = switchableInsert();
    const spool = openSpool<number>(spoolDir(), { maxBytes: 1_000_000 });
    const committed: number[][] = [];
    const writer = createBatchWriter<number>({
      ...fast,
      insert: sink.insert,
      spool,
      replayIntervalMs: 5,
      onCommitted: (rows) => committed.push(rows)
    });
    await writer.write([1, 2]);
    expect(sink.state.batches).toEqual([]);
    expect(spool.pendingRows()).toBe(2);
    sink.state.down = false;
    await waitFor(() => spool.pendingRows() === 0, 2_000, 'the spool to drain');
    expect(sink.state.batches).toEqual([[1, 2]]);
    expect(committed).toEqual([[1, 2]]);
    expect(writer.stats()).toEqual({
      buffered: 0,
      committedRows: 0,
      failedBatches: 0,
      spool: { spooledRows: 2, replayedRows: 2, pendingRows: 0 }
    });
    await writer.close();
  });

  it('sends new batches straight to the spool while ClickHouse is known to be down', async () => {
    const sink = switchableInsert();
    const spool = openSpool<number>(spoolDir(), { maxBytes: 1_000_000 });
    const writer = createBatchWriter<number>({ ...fast, insert: sink.insert, spool, replayIntervalMs: 60_000 });
    await writer.write([1]);
    const attemptsForFirst = sink.state.attempts;
    expect(attemptsForFirst).toBe(3);
    await writer.write([2]);
    await writer.write([3]);
    expect(sink.state.attempts).toBe(attemptsForFirst);
    expect(spool.pendingRows()).toBe(3);
    await writer.close();
  });

  it('refuses with StoreUnavailableError only when the spool refuses too', async () => {
    const sink = switchableInsert();
    const spool = openSpool<string>(spoolDir(), { maxBytes: 40 });
    const writer = createBatchWriter<string>({ ...fast, insert: async (rows) => sink.insert(rows.map(Number)), spool, replayIntervalMs: 60_000 });
    await writer.write(['1']);
    const results = await Promise.allSettled([writer.write(['x'.repeat(50)])]);
    expect(results[0]?.status).toBe('rejected');
    expect((results[0] as PromiseRejectedResult).reason).toBeInstanceOf(StoreUnavailableError);
    expect(writer.stats()).toMatchObject({ failedBatches: 1, spool: { spooledRows: 1, pendingRows: 1 } });
    await writer.close();
  });

  it('gives up on an insert that hangs after retryBudgetMs and spools the batch', async () => {
    const spool = openSpool<number>(spoolDir(), { maxBytes: 1_000_000 });
    const writer = createBatchWriter<number>({
      ...fast,
      insert: () => new Promise<void>(() => {}),
      spool,
      retryBudgetMs: 50,
      replayIntervalMs: 60_000
    });
    const started = Date.now();
    await writer.write([1]);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(spool.pendingRows()).toBe(1);
    await writer.close();
  });

  it('spools on close what ClickHouse does not take, and the next writer replays it at start', async () => {
    const dir = spoolDir();
    const sink = switchableInsert();
    const writer = createBatchWriter<number>({
      ...fast,
      maxDelayMs: 60_000,
      insert: sink.insert,
      spool: openSpool<number>(dir, { maxBytes: 1_000_000 }),
      replayIntervalMs: 60_000
    });
    const pending = writer.write([1, 2, 3]);
    await writer.close();
    await pending;
    expect(sink.state.batches).toEqual([]);

    sink.state.down = false;
    const committed: number[][] = [];
    const restarted = createBatchWriter<number>({
      ...fast,
      insert: sink.insert,
      spool: openSpool<number>(dir, { maxBytes: 1_000_000 }),
      onCommitted: (rows) => committed.push(rows)
    });
    await waitFor(() => committed.length > 0, 2_000, 'the leftover spool to be replayed');
    expect(sink.state.batches).toEqual([[1, 2, 3]]);
    expect(committed).toEqual([[1, 2, 3]]);
    await restarted.close();
  });

  it('replays the spool right after a direct insert succeeds, without waiting for its timer', async () => {
    const dir = spoolDir();
    const leftover = openSpool<number>(dir, { maxBytes: 1_000_000 });
    await leftover.append([1]);
    await leftover.close();
    const sink = switchableInsert();
    const spool = openSpool<number>(dir, { maxBytes: 1_000_000 });
    const writer = createBatchWriter<number>({ ...fast, insert: sink.insert, spool, replayIntervalMs: 60_000 });
    await waitFor(() => sink.state.attempts > 0, 2_000, 'the replay at start to fail');
    sink.state.down = false;
    await writer.write([2]);
    await waitFor(() => spool.pendingRows() === 0, 2_000, 'the spool to drain');
    expect(sink.state.batches).toEqual([[2], [1]]);
    await writer.close();
  });
});
