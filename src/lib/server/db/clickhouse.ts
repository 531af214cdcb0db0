import { createClient, ClickHouseLogLevel, type ClickHouseClient } from '@clickhouse/client';
import { Readable } from 'node:stream';
import type { SqlFragment } from './sql';

export type { ClickHouseClient };

export interface ClickHouseSettings {
  /** e.g. http://127.0.0.1:8123 */
  url: string;
  database: string;
  username?: string;
  password?: string;
  /**
   * The cluster the tables are laid out on (migrate's `SchemaLayout.cluster`): adds the session
   * settings that Distributed tables need, `clusterQuerySettings`. Unset: one server.
   */
  cluster?: string;
}

/**
 * Sent on every request when the tables are Distributed (README "ClickHouse cluster layout"). Both
 * names exist on 18.16 (its system.settings, checked by test/integration/db/cluster-layout.test.ts)
 * and on 24+, where insert_distributed_sync is kept as an alias of distributed_foreground_insert.
 * - distributed_product_mode 'local': an IN or JOIN subquery over a Distributed table, inside a
 *   query on a Distributed table, reads each shard's local table. That is correct because every
 *   table is sharded by organisation and every such subquery stays within one organisation (or,
 *   across organisations, pairs rows of the same organisation); the default 'deny' refuses these
 *   queries (Code 288), and 'global' would ship the subquery's whole result to every shard.
 * - insert_distributed_sync 1: an INSERT answers once each shard has stored its rows, so a write
 *   is readable at once (a new session on the next request) and a shard that is down fails the
 *   insert, which the caller retries, instead of the rows waiting in a queue on the local disk.
 */
export const clusterQuerySettings = { distributed_product_mode: 'local', insert_distributed_sync: 1 } as const;

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
      date_time_input_format: 'best_effort',
      ...(settings.cluster ? clusterQuerySettings : {})
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

const TSV_SPECIAL = /[\\\t\n\r]/;
const TSV_SPECIAL_ALL = /[\\\t\n\r]/g;
const TSV_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/**
 * One TabSeparated field: backslash, tab, line feed and carriage return escaped (TSV's escapes,
 * which ClickHouse undoes on read; a raw \r ending the first row makes 18.16 refuse the whole
 * insert, code 117). test/integration/db/tsv-fuzz.test.ts checks this against the server. Every
 * other character goes as UTF-8, lone surrogates as U+FFFD. Numbers
 * must be finite (TSV has no null), and are written as JS prints them: callers round Decimal
 * columns first (18.16 refuses more decimals than the scale, and exponents).
 */
export function tsvField(value: unknown): string {
  if (typeof value === 'string') return TSV_SPECIAL.test(value) ? value.replace(TSV_SPECIAL_ALL, (c) => TSV_ESCAPES[c] as string) : value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`cannot insert ${value} as TSV`);
    return String(value);
  }
  if (typeof value === 'bigint') return String(value);
  if (typeof value === 'boolean') return value ? '1' : '0';
  throw new TypeError(`cannot insert a ${value === null ? 'null' : typeof value} as TSV`);
}

/** Rows as TabSeparated text, one line per row, fields in `columns` order. */
export function renderTsv(columns: readonly string[], rows: readonly Record<string, unknown>[]): string {
  // Arrays joined once: repeated `+=` builds deep string ropes that cost more to flatten.
  const lines = new Array<string>(rows.length + 1);
  const fields = new Array<string>(columns.length);
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r] as Record<string, unknown>;
    for (let c = 0; c < columns.length; c++) fields[c] = tsvField(row[columns[c] as string]);
    lines[r] = fields.join('\t');
  }
  lines[rows.length] = '';
  return lines.join('\n');
}

/**
 * Insert rows rendered as TabSeparated in JS: the same rows as `insertRows`, but cheaper for both
 * this process and the server than JSONEachRow (clickhouse-18.16.md §10: 1.3–1.7× end to end).
 * Every row must carry every listed column; a missing one throws before anything is sent.
 */
export async function insertRowsTsv(
  client: ClickHouseClient,
  table: string,
  columns: readonly string[],
  rows: readonly Record<string, unknown>[]
): Promise<void> {
  if (rows.length === 0) return;
  const body = Buffer.from(renderTsv(columns, rows), 'utf8');
  await client.insert({
    table,
    values: Readable.from([body], { objectMode: false }),
    format: 'TabSeparated',
    columns: [...columns] as [string, ...string[]]
  });
}
