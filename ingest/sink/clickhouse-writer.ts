import { OverloadedError, ShuttingDownError, StoreUnavailableError } from '../../src/lib/server/errors';

/**
 * Batches rows from many concurrent requests into few ClickHouse inserts (18.16 has no
 * async_insert, and one insert per request would make thousands of tiny parts).
 *
 * Contract with callers: `write(rows)` resolves only once those rows are committed, so an HTTP
 * 2xx means "in ClickHouse". A batch is one insert request, which ClickHouse applies all or
 * nothing (clickhouse-18.16.md §8.2), so a retry never leaves half a batch; a retry after a
 * timeout that did commit stores rows twice, which the ledger folds by event_id.
 * - bad input never reaches here (validated before);
 * - ClickHouse down: the batch is retried with backoff, then every waiter gets
 *   StoreUnavailableError (HTTP 503, the agent retries); nothing is acknowledged that is not stored;
 * - buffer full: write() refuses at once with OverloadedError (HTTP 429) instead of growing memory;
 * - crash: rows not yet committed were never acknowledged, so the agent still holds them.
 */
export interface WriterOptions<R> {
  insert(rows: R[]): Promise<void>;
  /** Flush when this many rows are waiting. */
  maxRows: number;
  /** ...or when the oldest waiting row is this old. */
  maxDelayMs: number;
  /** Rows waiting or in flight beyond which write() refuses. */
  maxBuffered: number;
  /** Pauses between attempts of one batch; its length is the number of retries. */
  retryDelaysMs?: readonly number[];
  onCommitted?(rows: R[]): void;
  onRetry?(error: unknown, attempt: number): void;
}

interface Batch<R> {
  rows: R[];
  waiters: { resolve(): void; reject(e: Error): void }[];
}

export interface BatchWriter<R> {
  write(rows: readonly R[]): Promise<void>;
  /** Stop intake, flush what is waiting, resolve when all of it is committed or failed. */
  close(): Promise<void>;
  stats(): { buffered: number; committedRows: number; failedBatches: number };
}

const DEFAULT_RETRY_DELAYS = [100, 300, 800, 1_500] as const;

export function createBatchWriter<R>(options: WriterOptions<R>): BatchWriter<R> {
  const retryDelays = options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS;
  let next: Batch<R> = { rows: [], waiters: [] };
  let buffered = 0;
  let timer: NodeJS.Timeout | undefined;
  let flushing: Promise<void> | undefined;
  let closing = false;
  let committedRows = 0;
  let failedBatches = 0;

  async function insertWithRetry(rows: R[]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await options.insert(rows);
        return;
      } catch (err) {
        const delay = retryDelays[attempt];
        if (delay === undefined) throw new StoreUnavailableError('ClickHouse did not take the batch', { cause: err });
        options.onRetry?.(err, attempt + 1);
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  /** Drain batches one insert at a time; rows arriving meanwhile form the next batch. */
  async function drain(): Promise<void> {
    while (next.rows.length > 0) {
      const batch = next;
      next = { rows: [], waiters: [] };
      try {
        await insertWithRetry(batch.rows);
        committedRows += batch.rows.length;
        buffered -= batch.rows.length;
        for (const w of batch.waiters) w.resolve();
        options.onCommitted?.(batch.rows);
      } catch (err) {
        failedBatches++;
        buffered -= batch.rows.length;
        for (const w of batch.waiters) w.reject(err as Error);
      }
    }
  }

  function flushSoon(): void {
    if (timer) clearTimeout(timer);
    timer = undefined;
    flushing ??= drain().finally(() => {
      flushing = undefined;
      // Rows that came while the last insert ran may already be due.
      if (next.rows.length > 0) schedule();
    });
  }

  function schedule(): void {
    if (next.rows.length >= options.maxRows) flushSoon();
    else if (!timer && !flushing) timer = setTimeout(flushSoon, options.maxDelayMs);
  }

  return {
    write(rows) {
      if (closing) return Promise.reject(new ShuttingDownError('writer is closing'));
      if (rows.length === 0) return Promise.resolve();
      if (buffered + rows.length > options.maxBuffered) {
        return Promise.reject(new OverloadedError(`ingest buffer full (${buffered} rows waiting)`));
      }
      buffered += rows.length;
      const done = new Promise<void>((resolve, reject) => next.waiters.push({ resolve, reject }));
      next.rows.push(...rows);
      schedule();
      return done;
    },
    async close() {
      closing = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      while (flushing || next.rows.length > 0) {
        if (!flushing) flushSoon();
        await flushing;
      }
    },
    stats: () => ({ buffered, committedRows, failedBatches })
  };
}
