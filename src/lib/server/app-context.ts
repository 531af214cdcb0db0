import { createApiKeyVerifier } from './auth/api-key';
import type { ServerConfig } from './config';
import { createClickHouse, type ClickHouseClient } from './db/clickhouse';
import { insertEventRows, type EventRow } from './db/queries/events';
import { createLogger, type Logger } from './log';
import { createWallFanout, type WallFanout } from './realtime/wall-fanout';
import { createBatchWriter, type BatchWriter } from '../../../ingest/sink/clickhouse-writer';

/**
 * Everything the app process holds once: one ClickHouse client, the ingest writer and the
 * realtime fan-out. Built from a config object so tests can make their own.
 */
export interface AppContext {
  config: ServerConfig;
  log: Logger;
  clickhouse: ClickHouseClient;
  writer: BatchWriter<EventRow>;
  fanout: WallFanout;
  verifyApiKey: ReturnType<typeof createApiKeyVerifier>;
  /** Stop intake, flush the writer, close ClickHouse. */
  close(): Promise<void>;
}

export function createAppContext(config: ServerConfig, log: Logger = createLogger(config.LOG_LEVEL)): AppContext {
  const clickhouse = createClickHouse({
    url: config.CLICKHOUSE_URL,
    database: config.CLICKHOUSE_DATABASE,
    username: config.CLICKHOUSE_USER,
    password: config.CLICKHOUSE_PASSWORD
  });
  const fanout = createWallFanout({ clickhouse, log });
  const writer = createBatchWriter<EventRow>({
    insert: (rows) => insertEventRows(clickhouse, rows),
    maxRows: config.INGEST_FLUSH_ROWS,
    maxDelayMs: config.INGEST_FLUSH_MS,
    maxBuffered: config.INGEST_MAX_BUFFERED_ROWS,
    onCommitted: (rows) => fanout.publishCommitted(rows),
    onRetry: (err, attempt) => log.warn({ err, attempt }, 'event insert failed; retrying')
  });
  return {
    config,
    log,
    clickhouse,
    writer,
    fanout,
    verifyApiKey: createApiKeyVerifier(clickhouse, config.API_KEY_CACHE_MS),
    async close() {
      await writer.close();
      fanout.stop();
      await clickhouse.close();
    }
  };
}
