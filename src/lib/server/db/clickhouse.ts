import { createClient, ClickHouseLogLevel, type ClickHouseClient } from '@clickhouse/client';
import type { SqlFragment } from './sql';

export type { ClickHouseClient };

export interface ClickHouseSettings {
  /** e.g. http://127.0.0.1:8123 */
  url: string;
  database: string;
  username?: string;
  password?: string;
}

/**
 * One client per process. Client-wide settings are only names that exist on both 18.16 and
 * 24+ (clickhouse-18.16.md §7): one unknown setting would fail every request.
 */
export function createClickHouse(settings: ClickHouseSettings): ClickHouseClient {
  return createClient({
    url: settings.url,
    database: settings.database,
    username: settings.username ?? 'default',
    password: settings.password ?? '',
    // The server closes idle sockets after 3 s; stay under it so no request meets a dead socket.
    keep_alive: { enabled: true, idle_socket_ttl: 2500 },
    request_timeout: 30_000,
    // The client logs every failed request with a stack; we log failures ourselves, once.
    log: { level: ClickHouseLogLevel.OFF },
    clickhouse_settings: {
      date_time_input_format: 'best_effort'
    }
  });
}

/**
 * The server error code from either message form: 18.16's "Code: 60, e.displayText() = …" or
 * modern "Code: 60. DB::Exception: … (UNKNOWN_TABLE)". The client cannot parse 18.16 errors.
 */
export function clickhouseErrorCode(err: unknown): number | undefined {
  const msg = err instanceof Error ? err.message : String(err);
  const m = /\bCode: (\d+)[.,]/.exec(msg);
  return m ? Number(m[1]) : undefined;
}

/**
 * Run a SELECT rendered by `sql` and return its rows. `wait_end_of_query` makes a late server
 * error an HTTP 500 instead of text appended to a 200 body (clickhouse-18.16.md §1 item 3).
 */
export async function queryRows<T>(client: ClickHouseClient, query: SqlFragment): Promise<T[]> {
  const result = await client.query({
    query: query.text,
    format: 'JSONEachRow',
    clickhouse_settings: { wait_end_of_query: 1 }
  });
  return result.json<T>();
}

/** Run DDL or another statement that returns no rows. */
export async function execute(client: ClickHouseClient, statement: SqlFragment): Promise<void> {
  await client.command({ query: statement.text });
}

/** Insert rows; every row must carry every listed column (18.16 ignores DEFAULTs otherwise). */
export async function insertRows(
  client: ClickHouseClient,
  table: string,
  columns: readonly string[],
  rows: readonly Record<string, unknown>[]
): Promise<void> {
  if (rows.length === 0) return;
  await client.insert({ table, values: rows as Record<string, unknown>[], format: 'JSONEachRow', columns: [...columns] as [string, ...string[]] });
}

/** `version()` of the server, e.g. "18.16.1". */
export async function serverVersion(client: ClickHouseClient): Promise<string> {
  const rows = await client.query({ query: 'SELECT version() AS v', format: 'JSONEachRow' });
  const [row] = await rows.json<{ v: string }>();
  return row?.v ?? 'unknown';
}
