import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execute, queryRows } from '../../../src/lib/server/db/clickhouse';
import {
  SqlValueError,
  ident,
  inList,
  join,
  literal,
  quoteString,
  sql,
  type SqlFragment
} from '../../../src/lib/server/db/sql';
import { createTestDatabase, type TestDatabase } from '../../helpers/clickhouse';

/**
 * Property-based fuzz of the literal rules in src/lib/server/db/sql.ts against the real server
 * (clickhouse-18.16.md §9): every value is rendered by `sql`, sent to ClickHouse and compared
 * byte for byte (strings) or exactly (numbers) with what JS meant. The seed is fixed, so a
 * failure reproduces; change SEED locally to explore further.
 */
const SEED = 20261123;
const STRING_BATCHES = 50;
const STRINGS_PER_BATCH = 200;
/** Server default max_query_size (256 KiB); the client appends "\nFORMAT JSONEachRow". */
const MAX_QUERY_SIZE = 262_144;
const QUERY_BUDGET = MAX_QUERY_SIZE - 4_096;

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase('sql_fuzz_test', { migrate: false });
});

afterAll(async () => {
  await db?.drop();
});

// ---------------------------------------------------------------------------------------------
// Generators

const C0 = Array.from({ length: 32 }, (_, i) => String.fromCharCode(i));
const SPECIALS = [
  "'", '\\', '"', '`', '\n', '\r', '\t', '\0', '\x1b', '\x7f', '\u2028', '\u2029', '\ufeff', '\u00a0',
  '?', '{', '}', ':', ';', '-', '/', '*', '#', '$', '%', '_', 'N', 'x', 'u', '0', ' ', '(', ')', ','
];
const EMOJI = ['😀', '👍🏽', '👨‍👩‍👧', '🏳️‍🌈', '𝔘', '\u{10ffff}', '\u{1f600}\u{fe0f}'];
const FRAGMENTS = [
  "' OR 1=1 --",
  "'; DROP TABLE x; --",
  "\\' OR 1=1 --",
  "'), ('x",
  '{x:String}',
  '-- /* */ #',
  '{x:String} ? $1',
  "''",
  "\\'",
  '\\\\',
  '\\N',
  '\\x4',
  '\\xff',
  '\\0',
  '\\u0041',
  '\\z',
  '*/',
  '/*',
  '\nFORMAT TSV\n',
  '; SELECT 1',
  '{"a":"b\\"c"}',
  '\\\n'
];

const adversarialUnit = fc.oneof(
  { weight: 30, arbitrary: fc.constantFrom(...SPECIALS) },
  { weight: 10, arbitrary: fc.constantFrom(...C0) },
  { weight: 10, arbitrary: fc.constantFrom(...FRAGMENTS) },
  { weight: 15, arbitrary: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)) },
  { weight: 8, arbitrary: fc.integer({ min: 0x80, max: 0xffff }).map((c) => String.fromCharCode(c)) },
  { weight: 5, arbitrary: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)) },
  { weight: 5, arbitrary: fc.integer({ min: 0x10000, max: 0x10ffff }).map((c) => String.fromCodePoint(c)) },
  { weight: 5, arbitrary: fc.constantFrom(...EMOJI) }
);
const adversarialString = fc.oneof(
  { weight: 9, arbitrary: fc.string({ unit: adversarialUnit, maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) }
);

const HANDMADE = [
  '',
  "'",
  "''",
  '\\',
  "\\'",
  "'\\",
  'abc\\',
  '\\\\\\',
  '"',
  '`',
  "' OR 1=1 --",
  "'; DROP TABLE x; --",
  "\\' OR 1=1 --",
  "'), ('x",
  '{x:String}',
  '{x:String} ? $1',
  '-- /* */ #',
  '\n\r\t',
  '\0',
  '\0\0\0',
  C0.join(''),
  '\x7f',
  '\u2028\u2029',
  '\ufeff',
  '\u00a0',
  '😀👍🏽👨‍👩‍👧',
  '\u{10ffff}',
  '\ud800',
  '\udfff',
  'a\ud83db',
  '\ude00\ud83d',
  '\\N',
  '\\x41',
  '\\u0041',
  '\\z',
  'NULL',
  '{"a":1,"b":[true,null],"c":"d\\"e"}',
  "line1\nline2' -- \\\nline3"
];

/** A few strings of about 100 KB of escaped literal each, each alone in its query. */
let longCache: string[] | undefined;
function longStrings(): string[] {
  if (longCache) return longCache;
  const mixed: string[] = [];
  let bytes = 0;
  // Counted per unit, so aim a little high: a lone high and a lone low surrogate that end up
  // next to each other form one 4-byte character instead of two 3-byte U+FFFD.
  for (let round = 0; bytes < 102_000; round++) {
    for (const u of fc.sample(adversarialUnit, { seed: SEED + round, numRuns: 20_000 })) {
      if (bytes >= 102_000) break;
      mixed.push(u);
      bytes += Buffer.byteLength(quoteString(u)) - 2;
    }
  }
  longCache = [
    mixed.join(''),
    "\\'".repeat(25_000), // 50,000 chars that double to 100,000 bytes
    '😀'.repeat(25_000), // 100,000 bytes of 4-byte UTF-8
    'x'.repeat(100_000) + '\\'
  ];
  return longCache;
}

// ---------------------------------------------------------------------------------------------
// Helpers

function utf8Hex(s: string): string {
  return Buffer.from(s.toWellFormed(), 'utf8').toString('hex').toUpperCase();
}

/** Greedily pack items into groups whose rendered SQL stays under the query budget. */
function packByBytes<T>(items: readonly T[], size: (item: T) => number, budget: number): T[][] {
  const groups: T[][] = [];
  let current: T[] = [];
  let used = 0;
  for (const item of items) {
    const n = size(item) + 2;
    if (current.length > 0 && used + n > budget) {
      groups.push(current);
      current = [];
      used = 0;
    }
    current.push(item);
    used += n;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

async function select<T>(query: SqlFragment): Promise<T[]> {
  expect(Buffer.byteLength(query.text)).toBeLessThan(QUERY_BUDGET + 200);
  return queryRows<T>(db.client, query);
}

/** `SELECT hex(s)` for every string, many per query; returns the strings whose bytes differ. */
async function stringMismatches(strings: readonly string[]): Promise<string[]> {
  const problems: string[] = [];
  const groups = packByBytes(strings, (s) => Buffer.byteLength(quoteString(s)), QUERY_BUDGET);
  for (const group of groups) {
    const [row] = await select<{ h: string[] }>(sql`SELECT arrayMap(x -> hex(x), ${group}) AS h`);
    const got = row?.h ?? [];
    if (got.length !== group.length) {
      problems.push(`a batch of ${group.length} literals came back as ${got.length} values`);
      continue;
    }
    group.forEach((s, i) => {
      const want = utf8Hex(s);
      if (got[i] !== want) problems.push(`${JSON.stringify(s).slice(0, 200)}: want ${want.slice(0, 80)} got ${got[i]?.slice(0, 80)}`);
    });
  }
  return problems;
}

/** POST raw query bytes to the server; the body is sent as is, without any re-encoding. */
async function postRaw(body: Buffer): Promise<string> {
  const url = new URL(db.url);
  url.searchParams.set('database', db.database);
  url.searchParams.set('wait_end_of_query', '1');
  const res = await fetch(url, { method: 'POST', body: new Uint8Array(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`HTTP ${res.status}: ${text}`);
  return text;
}

/** Run `fn` over items with at most `width` in flight. */
async function pool<T>(items: readonly T[], width: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
}

// ---------------------------------------------------------------------------------------------

describe('string literals round-trip through ClickHouse byte for byte', () => {
  it('hand-made, generated and ~100 KB strings', async () => {
    let count = 0;

    expect(await stringMismatches(HANDMADE)).toEqual([]);
    count += HANDMADE.length;

    const long = longStrings();
    for (const s of long) expect(Buffer.byteLength(quoteString(s))).toBeGreaterThanOrEqual(100_000);
    expect(await stringMismatches(long)).toEqual([]);
    count += long.length;

    await fc.assert(
      fc.asyncProperty(
        fc.array(adversarialString, { minLength: STRINGS_PER_BATCH, maxLength: STRINGS_PER_BATCH }),
        async (batch) => {
          expect(await stringMismatches(batch)).toEqual([]);
          count += batch.length;
        }
      ),
      // endOnFailure: the mismatch list already names each failing string; shrinking a batch
      // against the server would only spend the test timeout.
      { seed: SEED, numRuns: STRING_BATCHES, endOnFailure: true }
    );

    expect(count).toBeGreaterThanOrEqual(10_000);
    console.log(`sql fuzz: ${count} strings round-tripped, seed ${SEED}`);
  });

  it('keeps invalid UTF-8 bytes intact (raw bytes escaped by quoteString over latin1)', async () => {
    // A JS string cannot hold invalid UTF-8, so each byte becomes one latin1 char (U+0000–U+00FF),
    // quoteString escapes the ASCII backslash and quote exactly as it would in UTF-8 text, and the
    // chars go back to the same bytes. That is the rule applied to arbitrary bytes.
    const handmade = [
      [0xff, 0xfe, 0xc3, 0x28, 0x00, 0x80],
      [0xc0, 0xaf], // overlong "/"
      [0xc0, 0xa7], // overlong "'"
      [0xed, 0xa0, 0x80], // CESU-8 surrogate
      [0xf0, 0x9f, 0x98], // truncated emoji
      [0xf5, 0xf8, 0xfc, 0xfe, 0xff],
      [0x5c], // backslash
      [0x27, 0x5c, 0x27],
      [0xc3, 0x5c], // lead byte then backslash
      [0xe2, 0x80, 0x27] // truncated sequence then quote
    ].map((b) => Uint8Array.from(b));
    const byteUnit = fc.oneof(
      { weight: 5, arbitrary: fc.constantFrom(0x27, 0x5c, 0x00, 0x22, 0x60, 0x0a, 0x0d, 0x7f, 0xff, 0xfe, 0xc3, 0x28, 0x80, 0xbf, 0xc0, 0xed, 0xa0, 0xf4, 0x90, 0xf5) },
      { weight: 5, arbitrary: fc.integer({ min: 0, max: 255 }) }
    );
    const generated = fc
      .sample(fc.array(byteUnit, { maxLength: 40 }), { seed: SEED, numRuns: 2_000 })
      .map((a) => Uint8Array.from(a));
    const all = [...handmade, ...generated];

    const problems: string[] = [];
    const literalBytes = (b: Uint8Array) => Buffer.from(quoteString(Buffer.from(b).toString('latin1')), 'latin1');
    for (const group of packByBytes(all, (b) => literalBytes(b).length, QUERY_BUDGET)) {
      const parts: Buffer[] = [Buffer.from('SELECT arrayMap(x -> hex(x), [')];
      group.forEach((b, i) => {
        if (i > 0) parts.push(Buffer.from(', '));
        parts.push(literalBytes(b));
      });
      parts.push(Buffer.from(']) AS h FORMAT JSONEachRow'));
      const body = Buffer.concat(parts);
      expect(body.length).toBeLessThan(MAX_QUERY_SIZE);
      const { h } = JSON.parse(await postRaw(body)) as { h: string[] };
      expect(h.length).toBe(group.length);
      group.forEach((b, i) => {
        const want = Buffer.from(b).toString('hex').toUpperCase();
        if (h[i] !== want) problems.push(`bytes ${want}: got ${h[i]}`);
      });
    }
    expect(problems).toEqual([]);
    console.log(`sql fuzz: ${all.length} raw byte strings (invalid UTF-8) round-tripped, seed ${SEED}`);
  });

  it('stores strings with INSERT … VALUES and finds each with WHERE s = literal', async () => {
    await execute(db.client, sql`CREATE TABLE fuzz_strings (i UInt32, s String) ENGINE = MergeTree ORDER BY i`);
    const sample = [
      ...HANDMADE,
      ...fc.sample(adversarialString, { seed: SEED + 1, numRuns: 500 }),
      (longStrings()[0] as string).slice(0, 50_000)
    ];
    const rows = join(
      sample.map((s, i) => sql`(${i}, ${s})`),
      ', '
    );
    await execute(db.client, sql`INSERT INTO fuzz_strings (i, s) VALUES ${rows}`);

    const stored = await queryRows<{ i: number; h: string }>(
      db.client,
      sql`SELECT i, hex(s) AS h FROM fuzz_strings ORDER BY i`
    );
    expect(stored).toEqual(sample.map((s, i) => ({ i, h: utf8Hex(s) })));

    const problems: string[] = [];
    await pool(sample, 8, async (s) => {
      const [row] = await queryRows<{ ids: number[] }>(
        db.client,
        sql`SELECT groupArray(i) AS ids FROM fuzz_strings WHERE s = ${s}`
      );
      const want = sample.flatMap((t, j) => (t.toWellFormed() === s.toWellFormed() ? [j] : []));
      const got = [...(row?.ids ?? [])].sort((a, b) => a - b);
      if (JSON.stringify(got) !== JSON.stringify(want)) problems.push(`${JSON.stringify(s).slice(0, 200)}: want ${want} got ${got}`);
    });
    expect(problems).toEqual([]);
    console.log(`sql fuzz: ${sample.length} strings stored with INSERT … VALUES and matched with WHERE, seed ${SEED}`);
  });
});

describe('number literals round-trip through ClickHouse', () => {
  const MIN_NORMAL = 2.2250738585072014e-308;
  const isRenderable = (n: number) => Number.isFinite(n) && (!Number.isInteger(n) || Number.isSafeInteger(n));
  /** What the server should hold: subnormals are rendered as 0. */
  const expected = (n: number) => (n !== 0 && Math.abs(n) < MIN_NORMAL ? 0 : n);
  /** Exact equality, except that the sign of zero is not kept (`literal(-0)` is `(0)`). */
  const same = (a: number, b: number) => Object.is(a, b) || (a === 0 && b === 0);

  it('doubles: negatives, tiny, huge, subnormal, integral; the rest is rejected', async () => {
    const edges = [
      0, -0, 1, -1, 0.1, -0.1, 1e-7, -1e-7, 0.5, 1 / 3, Math.PI, 5e-324, -5e-324, 1e-320, MIN_NORMAL, -MIN_NORMAL,
      2.225073858507201e-308, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 2 ** 52 + 0.5, -(2 ** 52 + 0.5),
      4503599627370495.5, 2 ** 53, -(2 ** 53), 1e21, Number.MAX_VALUE, -Number.MAX_VALUE, Number.EPSILON,
      Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY
    ];
    const generated = fc.sample(
      fc.oneof(
        fc.double(),
        fc.double({ min: -1e6, max: 1e6 }),
        fc.double({ min: -1e-290, max: 1e-290 }),
        fc.double({ min: -(2 ** 53), max: 2 ** 53, noInteger: true }),
        fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
        fc.integer({ min: -1000, max: 1000 })
      ),
      { seed: SEED, numRuns: 3_000 }
    );
    const all = [...edges, ...generated];
    const renderable = all.filter(isRenderable);
    const rejected = all.filter((n) => !isRenderable(n));
    for (const n of rejected) expect(() => literal(n), String(n)).toThrow(SqlValueError);
    expect(rejected.length).toBeGreaterThan(0);

    const problems: string[] = [];
    for (let start = 0; start < renderable.length; start += 200) {
      const batch = renderable.slice(start, start + 200);
      // `0 -${n}` checks the parentheses: without them `0 -` `-5` would start the comment `--5`.
      // (Not a bare `-${n}`: that is negate() in the literal's own type, and `-(-128)` is the
      // Int8 -128 again on ClickHouse.)
      const plain = join(batch.map((n) => sql`toFloat64(${n})`), ', ');
      const negated = join(batch.map((n) => sql`toFloat64(0 -${n})`), ', ');
      const [row] = await select<{ p: string[]; m: string[] }>(
        sql`SELECT arrayMap(x -> toString(x), [${plain}]) AS p, arrayMap(x -> toString(x), [${negated}]) AS m`
      );
      expect([row?.p.length, row?.m.length]).toEqual([batch.length, batch.length]);
      batch.forEach((n, i) => {
        const p = Number(row?.p[i]);
        const m = Number(row?.m[i]);
        if (!same(p, expected(n)) || !same(m, -expected(n))) {
          problems.push(`${n} rendered ${literal(n)}: got ${row?.p[i]} and ${row?.m[i]}`);
        }
      });
    }
    expect(problems).toEqual([]);
    console.log(
      `sql fuzz: ${renderable.length} doubles round-tripped (and negated), ${rejected.length} rejected, seed ${SEED}`
    );
  });

  it('bigints: the whole Int64/UInt64 range; outside it is rejected', async () => {
    const INT64_MIN = -(2n ** 63n);
    const UINT64_MAX = 2n ** 64n - 1n;
    const edges = [0n, -1n, 1n, INT64_MIN, INT64_MIN + 1n, 2n ** 63n - 1n, 2n ** 63n, UINT64_MAX, UINT64_MAX + 1n, INT64_MIN - 1n, 2n ** 53n + 1n];
    const generated = fc.sample(
      fc.oneof(
        fc.bigInt({ min: INT64_MIN, max: UINT64_MAX }),
        fc.bigInt({ min: -1000n, max: 1000n }),
        fc.bigInt({ min: INT64_MIN - 1000n, max: INT64_MIN + 1000n }),
        fc.bigInt({ min: 2n ** 63n - 1000n, max: 2n ** 63n + 1000n }),
        fc.bigInt({ min: UINT64_MAX - 1000n, max: UINT64_MAX + 1000n }),
        fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n })
      ),
      { seed: SEED, numRuns: 3_000 }
    );
    const all = [...edges, ...generated];
    const inRange = all.filter((n) => n >= INT64_MIN && n <= UINT64_MAX);
    const outOfRange = all.filter((n) => n < INT64_MIN || n > UINT64_MAX);
    for (const n of outOfRange) expect(() => literal(n), String(n)).toThrow(SqlValueError);
    expect(outOfRange.length).toBeGreaterThan(0);

    const problems: string[] = [];
    for (let start = 0; start < inRange.length; start += 300) {
      const batch = inRange.slice(start, start + 300);
      const values = join(batch.map((n) => sql`toString(${n})`), ', ');
      const [row] = await select<{ c: string[] }>(sql`SELECT [${values}] AS c`);
      expect(row?.c.length).toBe(batch.length);
      batch.forEach((n, i) => {
        if (row?.c[i] !== n.toString()) problems.push(`${n} rendered ${literal(n)}: got ${row?.c[i]}`);
      });
    }
    expect(problems).toEqual([]);
    console.log(`sql fuzz: ${inRange.length} bigints round-tripped, ${outOfRange.length} rejected, seed ${SEED}`);
  });
});

describe('other value kinds as the server reads them', () => {
  it('identifiers with backticks and backslashes name exactly that column', async () => {
    const names = [
      'plain',
      'a`b',
      '`',
      'a\\',
      'x\\`y',
      '\\\\',
      "it's",
      'with space',
      ...fc.sample(fc.string({ unit: adversarialUnit, minLength: 1, maxLength: 12 }), { seed: SEED, numRuns: 300 })
    ];
    const unique = [...new Set(names.map((n) => n.toWellFormed()))];
    const columns = unique.map((n, i) => sql`${i} AS ${ident(n)}`);
    const rows = await select<Record<string, number>>(sql`SELECT ${join(columns, ', ')}`);
    expect(rows).toHaveLength(1);
    expect(Object.keys(rows[0] ?? {})).toEqual(unique);
    expect(Object.values(rows[0] ?? {})).toEqual(unique.map((_, i) => i));
  });

  it('IN lists, including the empty one, dates, booleans, NULL and arrays', async () => {
    const rows = await select<Record<string, unknown>>(sql`SELECT
      'a' IN ${inList(['a', 'b'])} AS in_hit,
      'c' IN ${inList(['a', 'b'])} AS in_miss,
      'a' IN ${inList([])} AS in_empty,
      'a' NOT IN ${inList([])} AS not_in_empty,
      1 IN ${inList([])} AS num_in_empty,
      toString(${new Date('2024-01-02T03:04:05.678Z')}) AS at,
      ${true} AS yes,
      ${false} AS no,
      isNull(${null}) AS is_null,
      ${['x', "y'", 'z\\']} AS arr,
      ${[-1, 2, -3]} AS nums`);
    expect(rows).toEqual([
      {
        in_hit: 1,
        in_miss: 0,
        in_empty: 0,
        not_in_empty: 1,
        num_in_empty: 0,
        at: '2024-01-02 03:04:05',
        yes: 1,
        no: 0,
        is_null: 1,
        arr: ['x', "y'", 'z\\'],
        nums: [-1, 2, -3]
      }
    ]);
  });
});
