/**
 * The one way to put a value into SQL. ClickHouse 18.16 has no server-side query parameters
 * (`param_x` is an unknown setting there), so every value is rendered as a typed literal here,
 * following `clickhouse-18.16.md` §9, and fuzzed against the real server in
 * test/integration/db/sql-fuzz.test.ts. Identifiers never come from input: they are wrapped with
 * `ident()` from code constants only.
 */

/** A fragment of SQL that is already safe; only this module and `raw()` create one. */
export class SqlFragment {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

export class SqlValueError extends Error {}

/** Escape the backslash first, then the single quote; nothing else needs escaping. */
export function quoteString(s: string): string {
  // A lone surrogate cannot be encoded as UTF-8; make the loss explicit (U+FFFD) instead of
  // letting the HTTP layer do something else with it.
  return "'" + s.toWellFormed().replaceAll('\\', '\\\\').replaceAll("'", "\\'") + "'";
}

const UINT64_MAX = 18446744073709551615n;
const INT64_MIN = -9223372036854775808n;

function renderNumber(n: number): string {
  if (!Number.isFinite(n)) throw new SqlValueError(`cannot render ${n} as a ClickHouse literal`);
  if (Number.isInteger(n) && !Number.isSafeInteger(n)) {
    throw new SqlValueError(`integer ${n} is beyond 2^53; pass a bigint`);
  }
  // Subnormals are a syntax error on 18.16 (Code: 62); they are 0 for every purpose here.
  const v = n !== 0 && Math.abs(n) < 2.2250738585072014e-308 ? 0 : n;
  // Parentheses keep `-` `-5` from becoming the comment marker `--`.
  return v < 0 || Object.is(v, -0) ? `(${String(v)})` : String(v);
}

function renderBigInt(n: bigint): string {
  if (n > UINT64_MAX || n < INT64_MIN) throw new SqlValueError(`bigint ${n} is outside 64 bits`);
  return n < 0n ? `(${n.toString()})` : n.toString();
}

export type SqlValue =
  | string
  | number
  | bigint
  | boolean
  | null
  | undefined
  | Date
  | SqlFragment
  | readonly SqlValue[];

/** Render one value as a literal. Arrays become ClickHouse arrays; use `inList()` for IN. */
export function literal(value: SqlValue): string {
  if (value instanceof SqlFragment) return value.text;
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'string') return quoteString(value);
  if (typeof value === 'number') return renderNumber(value);
  if (typeof value === 'bigint') return renderBigInt(value);
  if (typeof value === 'boolean') return value ? '1' : '0';
  if (value instanceof Date) {
    const ms = value.getTime();
    if (!Number.isFinite(ms)) throw new SqlValueError('invalid Date');
    return `toDateTime(${Math.floor(ms / 1000)}, 'UTC')`;
  }
  if (Array.isArray(value)) {
    if (value.length === 0) throw new SqlValueError('empty array has no type; use emptyArray()');
    return `[${value.map(literal).join(', ')}]`;
  }
  throw new SqlValueError(`unsupported value of type ${typeof value}`);
}

/**
 * Tagged template: every `${value}` becomes a literal. Example:
 * sql`SELECT count() FROM events WHERE org_id = ${orgId} AND occurred_at >= ${since}`
 */
export function sql(strings: TemplateStringsArray, ...values: SqlValue[]): SqlFragment {
  let text = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) text += literal(values[i] as SqlValue) + (strings[i + 1] ?? '');
  return new SqlFragment(text);
}

/** An identifier from code (table or column name). Never pass request data here. */
export function ident(name: string): SqlFragment {
  // Backquoted names honour backslash escapes too: a trailing `\` would swallow the closing
  // backtick, so escape the backslash first, then double the backtick.
  return new SqlFragment('`' + name.replaceAll('\\', '\\\\').replaceAll('`', '``') + '`');
}

/** `x IN ${inList(ids)}`; an empty list renders a tuple that matches nothing. */
export function inList(values: readonly SqlValue[]): SqlFragment {
  if (values.length === 0) return new SqlFragment('(NULL)');
  return new SqlFragment(`(${values.map(literal).join(', ')})`);
}

/** A non-negative integer for LIMIT/OFFSET, which refuses parentheses. */
export function limit(n: number): SqlFragment {
  if (!Number.isSafeInteger(n) || n < 0) throw new SqlValueError(`bad LIMIT ${n}`);
  return new SqlFragment(String(n));
}

/** Join fragments, e.g. optional WHERE clauses. */
export function join(parts: readonly SqlFragment[], separator: string): SqlFragment {
  return new SqlFragment(parts.map((p) => p.text).join(separator));
}

/** Literal SQL from code. The name says what it is: never call it with input. */
export function trustedSql(text: string): SqlFragment {
  return new SqlFragment(text);
}
