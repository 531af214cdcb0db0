import { describe, expect, it } from 'vitest';
import { createBatchWriter } from '../../../../ingest/sink/clickhouse-writer';
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
