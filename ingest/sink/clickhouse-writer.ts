import { OverloadedError, ShuttingDownError, StoreUnavailableError } from '../../src/lib/server/errors';
import type { Spool } from './spool';

/**
 * Batches rows from many concurrent requests into few ClickHouse inserts (18.16 has no
 * async_insert, and one insert per request would make thousands of tiny parts).
 *
 * Contract with callers (issue 4): `write(rows)` resolves only once those rows are safe, which is
 * either committed in ClickHouse or fsynced to the local spool, so an HTTP 2xx means "in
 * ClickHouse, or on this machine's disk and on its way there". A batch is one insert request,
 * which ClickHouse applies all or nothing (clickhouse-18.16.md §8.2), so a retry never leaves half
 * a batch; a retry or replay after an insert that did commit stores rows twice, which the ledger
 * folds by event_id.
 * - bad input never reaches here (validated before);
 * - ClickHouse down: the batch is retried with backoff for at most `retryBudgetMs`, then appended
 *   to the spool and acknowledged. For `replayIntervalMs` after that, new batches go straight to
 *   the spool (no waiting on a server known to be down); then one batch probes ClickHouse with a
 *   single attempt. A background replayer sends the spool back every `replayIntervalMs`, and at
 *   once after any successful insert, until it is empty. Only when the spool refuses too (full,
 *   disk error) or there is none do the waiters get StoreUnavailableError (HTTP 503);
 * - buffer full: write() refuses at once with OverloadedError (HTTP 429) instead of growing memory;
 * - crash: rows not yet committed or spooled were never acknowledged, so the agent still holds
 *   them; spooled rows are replayed by the next start.
 * Inserts (direct and replayed) run one at a time.
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
  /**
   * Longest time a batch spends on insert attempts before it is spooled (or refused). An attempt
   * still running at the end counts as failed (a hung or cut-off server); its late outcome is
   * ignored, since the rows are spooled or retried under the same ids anyway. This bounds how
   * long a request can wait on ClickHouse.
   */
  retryBudgetMs?: number;
  /** Where batches go when ClickHouse does not take them. Without it they are refused (503). */
  spool?: Spool<R>;
  /** How often the spool is replayed while it holds rows and ClickHouse keeps failing. */
  replayIntervalMs?: number;
  /** Rows are in ClickHouse: fired for direct inserts and for replayed spool rows. */
  onCommitted?(rows: R[]): void;
  onRetry?(error: unknown, attempt: number): void;
  /** A batch ClickHouse did not take was acknowledged from the spool; `error` is why (undefined: ClickHouse was just seen down). */
  onSpooled?(rows: number, error: unknown): void;
  onReplayed?(rows: number): void;
  onReplayFailed?(error: unknown): void;
}

interface Batch<R> {
  rows: R[];
  waiters: { resolve(): void; reject(e: Error): void }[];
}

export interface WriterStats {
  buffered: number;
  /** Rows committed by direct inserts. */
  committedRows: number;
  /** Batches whose waiters got StoreUnavailableError. */
  failedBatches: number;
  /** Present when a spool is configured. */
  spool?: { spooledRows: number; replayedRows: number; pendingRows: number };
}

export interface BatchWriter<R> {
  write(rows: readonly R[]): Promise<void>;
  /**
   * Stop intake, flush what is waiting (into the spool if ClickHouse is down), stop the replayer
   * and close the spool; resolve when every waiter is settled.
   */
  close(): Promise<void>;
  stats(): WriterStats;
}

const DEFAULT_RETRY_DELAYS = [100, 300, 800, 1_500] as const;
/** The default delays sum to 2.7 s; 6 s leaves room for the attempts themselves. */
const DEFAULT_RETRY_BUDGET_MS = 6_000;
const DEFAULT_REPLAY_INTERVAL_MS = 1_000;

class InsertTimeoutError extends Error {
  override name = 'InsertTimeoutError';
}

export function createBatchWriter<R>(options: WriterOptions<R>): BatchWriter<R> {
  const retryDelays = options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS;
  const budgetMs = options.retryBudgetMs ?? DEFAULT_RETRY_BUDGET_MS;
  const replayIntervalMs = options.replayIntervalMs ?? DEFAULT_REPLAY_INTERVAL_MS;
  const spool = options.spool;
  let next: Batch<R> = { rows: [], waiters: [] };
  let buffered = 0;
  let timer: NodeJS.Timeout | undefined;
  let flushing: Promise<void> | undefined;
  let closing = false;
  let committedRows = 0;
  let failedBatches = 0;
  let spooledRows = 0;
  let replayedRows = 0;
  /** After a batch had to be spooled, new batches skip ClickHouse until this time. 0: healthy. */
  let directPausedUntil = 0;
  let insertChain: Promise<unknown> = Promise.resolve();
  let replayTimer: NodeJS.Timeout | undefined;
  let replaying: Promise<void> | undefined;

  /** One insert attempt, queued behind any other, cut off after `timeoutMs`. */
  function attempt(rows: R[], timeoutMs: number): Promise<void> {
    const run = insertChain.then(
      () =>
        new Promise<void>((resolve, reject) => {
          const cutoff = setTimeout(() => reject(new InsertTimeoutError(`insert took longer than ${timeoutMs} ms`)), timeoutMs);
          options.insert(rows).then(
            () => (clearTimeout(cutoff), resolve()),
            (err: unknown) => (clearTimeout(cutoff), reject(err as Error))
          );
        })
    );
    insertChain = run.catch(() => undefined);
    return run;
  }

  async function insertWithRetry(rows: R[], delays: readonly number[]): Promise<void> {
    const started = Date.now();
    for (let n = 0; ; n++) {
      try {
        await attempt(rows, Math.max(1, started + budgetMs - Date.now()));
        return;
      } catch (err) {
        const delay = delays[n];
        if (delay === undefined || Date.now() - started + delay >= budgetMs) {
          throw new StoreUnavailableError('ClickHouse did not take the batch', { cause: err });
        }
        options.onRetry?.(err, n + 1);
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  /** Commit or spool one batch; rejects with StoreUnavailableError when neither worked. */
  async function storeBatch(rows: R[]): Promise<'committed' | 'spooled'> {
    if (spool && Date.now() < directPausedUntil) return spoolBatch(spool, rows, undefined);
    try {
      // Right after an outage one attempt is enough to learn whether ClickHouse is back.
      await insertWithRetry(rows, spool && directPausedUntil > 0 ? [] : retryDelays);
    } catch (err) {
      if (!spool) throw err;
      directPausedUntil = Date.now() + replayIntervalMs;
      return spoolBatch(spool, rows, err);
    }
    directPausedUntil = 0;
    return 'committed';
  }

  async function spoolBatch(target: Spool<R>, rows: R[], cause: unknown): Promise<'spooled'> {
    try {
      await target.append(rows);
    } catch (err) {
      throw new StoreUnavailableError('ClickHouse did not take the batch and the spool refused it', { cause: err });
    }
    spooledRows += rows.length;
    options.onSpooled?.(rows.length, cause);
    scheduleReplay(replayIntervalMs);
    return 'spooled';
  }

  /** Drain batches one at a time; rows arriving meanwhile form the next batch. */
  async function drain(): Promise<void> {
    while (next.rows.length > 0) {
      const batch = next;
      next = { rows: [], waiters: [] };
      try {
        const outcome = await storeBatch(batch.rows);
        buffered -= batch.rows.length;
        for (const w of batch.waiters) w.resolve();
        if (outcome === 'committed') {
          committedRows += batch.rows.length;
          options.onCommitted?.(batch.rows);
          // ClickHouse answers again: the spool need not wait for its timer.
          if (spool && spool.pendingRows() > 0) scheduleReplay(0);
        }
      } catch (err) {
        failedBatches++;
        buffered -= batch.rows.length;
        for (const w of batch.waiters) w.reject(err as Error);
      }
    }
  }

  async function replaySpool(source: Spool<R>): Promise<void> {
    try {
      const rows = await source.replay(async (chunk) => {
        // On close, stop after the chunk in flight; the rest waits on disk for the next start.
        if (closing) throw new ShuttingDownError('writer is closing');
        await attempt(chunk, budgetMs);
        directPausedUntil = 0;
        replayedRows += chunk.length;
        options.onCommitted?.(chunk);
      });
      if (rows > 0) options.onReplayed?.(rows);
    } catch (err) {
      // The rows stay in the spool; the next run tries again.
      if (!(err instanceof ShuttingDownError)) options.onReplayFailed?.(err);
    }
  }

  /** Run the replayer after `delayMs`; a sooner request replaces a later pending one. */
  function scheduleReplay(delayMs: number): void {
    const source = spool;
    if (!source || replaying) return;
    if (replayTimer) {
      if (delayMs > 0) return;
      clearTimeout(replayTimer);
    }
    replayTimer = setTimeout(() => {
      replayTimer = undefined;
      replaying = replaySpool(source).finally(() => {
        replaying = undefined;
        if (source.pendingRows() > 0 && !closing) scheduleReplay(replayIntervalMs);
      });
    }, delayMs);
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

  // Rows an earlier run left in the spool go out while this one serves.
  if (spool && spool.pendingRows() > 0) scheduleReplay(0);

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
      if (replayTimer) clearTimeout(replayTimer);
      replayTimer = undefined;
      await replaying;
      // What is left in the spool stays on disk for the next start.
      await spool?.close();
    },
    stats: () => ({
      buffered,
      committedRows,
      failedBatches,
      ...(spool ? { spool: { spooledRows, replayedRows, pendingRows: spool.pendingRows() } } : {})
    })
  };
}
