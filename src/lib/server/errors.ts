/** ClickHouse did not take a batch after the writer's retries; the caller should retry later. */
export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError';
}

/** The ingest buffer is full; the caller should slow down and retry after a pause. */
export class OverloadedError extends Error {
  override name = 'OverloadedError';
}

/** The writer is shutting down and takes no new rows. */
export class ShuttingDownError extends Error {
  override name = 'ShuttingDownError';
}
