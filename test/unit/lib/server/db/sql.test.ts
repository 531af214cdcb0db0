import { describe, expect, it } from 'vitest';
import {
  SqlFragment,
  SqlValueError,
  ident,
  inList,
  join,
  limit,
  literal,
  quoteString,
  sql,
  trustedSql
} from '../../../../../src/lib/server/db/sql';

describe('quoteString', () => {
  it('wraps plain text in single quotes', () => {
    expect(quoteString('abc')).toBe("'abc'");
    expect(quoteString('')).toBe("''");
  });

  it('escapes the single quote with a backslash', () => {
    expect(quoteString("it's")).toBe("'it\\'s'");
    expect(quoteString("''")).toBe("'\\'\\''");
  });

  it('escapes the backslash before the quote, so \\\' cannot close the literal', () => {
    expect(quoteString('a\\b')).toBe("'a\\\\b'");
    expect(quoteString("\\'")).toBe("'\\\\\\''");
    expect(quoteString("\\' OR 1=1 --")).toBe("'\\\\\\' OR 1=1 --'");
  });

  it('doubles a trailing backslash so the closing quote stays a quote', () => {
    expect(quoteString('abc\\')).toBe("'abc\\\\'");
    expect(quoteString('\\')).toBe("'\\\\'");
  });

  it('leaves every other character raw', () => {
    const s = '"`\n\r\t\0\x01\x1b\x7f\u2028\ufeff😀{x:String}-- /* */ #%_?$1';
    expect(quoteString(s)).toBe(`'${s}'`);
  });

  it('turns a lone surrogate into U+FFFD', () => {
    expect(quoteString('a\ud800b\udc00')).toBe("'a\ufffdb\ufffd'");
    expect(quoteString('\ud83d\ude00')).toBe("'😀'");
  });
});

describe('literal: numbers', () => {
  it('renders non-negative numbers as they are', () => {
    expect(literal(0)).toBe('0');
    expect(literal(42)).toBe('42');
    expect(literal(1.5)).toBe('1.5');
    expect(literal(1e-7)).toBe('1e-7');
    expect(literal(Number.MAX_SAFE_INTEGER)).toBe('9007199254740991');
  });

  it('wraps negatives in parentheses so a preceding "-" cannot form the comment marker "--"', () => {
    expect(literal(-5)).toBe('(-5)');
    expect(literal(-1.25)).toBe('(-1.25)');
    expect(literal(Number.MIN_SAFE_INTEGER)).toBe('(-9007199254740991)');
    expect(sql`SELECT -${-5}`.text).toBe('SELECT -(-5)');
  });

  it('renders -0 as a parenthesised zero (the sign of zero is not kept)', () => {
    expect(literal(-0)).toBe('(0)');
  });

  it('rejects NaN and the infinities', () => {
    expect(() => literal(Number.NaN)).toThrow(SqlValueError);
    expect(() => literal(Number.POSITIVE_INFINITY)).toThrow(SqlValueError);
    expect(() => literal(Number.NEGATIVE_INFINITY)).toThrow(SqlValueError);
  });

  it('rejects integers beyond 2^53 (they must be bigints)', () => {
    expect(() => literal(2 ** 53)).toThrow(new SqlValueError('integer 9007199254740992 is beyond 2^53; pass a bigint'));
    expect(() => literal(-(2 ** 53))).toThrow(SqlValueError);
    expect(() => literal(1e21)).toThrow(SqlValueError);
    expect(() => literal(Number.MAX_VALUE)).toThrow(SqlValueError);
  });

  it('renders subnormals as 0 (18.16 cannot parse them)', () => {
    expect(literal(5e-324)).toBe('0');
    expect(literal(-5e-324)).toBe('0');
    expect(literal(1e-320)).toBe('0');
    expect(literal(2.225073858507201e-308)).toBe('0');
  });

  it('keeps the smallest normal double', () => {
    expect(literal(2.2250738585072014e-308)).toBe('2.2250738585072014e-308');
    expect(literal(-2.2250738585072014e-308)).toBe('(-2.2250738585072014e-308)');
  });
});

describe('literal: bigints', () => {
  it('renders the UInt64 and Int64 extremes', () => {
    expect(literal(18446744073709551615n)).toBe('18446744073709551615');
    expect(literal(-9223372036854775808n)).toBe('(-9223372036854775808)');
    expect(literal(0n)).toBe('0');
    expect(literal(-1n)).toBe('(-1)');
  });

  it('rejects values outside 64 bits', () => {
    expect(() => literal(18446744073709551616n)).toThrow(
      new SqlValueError('bigint 18446744073709551616 is outside 64 bits')
    );
    expect(() => literal(-9223372036854775809n)).toThrow(SqlValueError);
  });
});

describe('literal: other kinds', () => {
  it('renders booleans as 1 and 0', () => {
    expect(literal(true)).toBe('1');
    expect(literal(false)).toBe('0');
  });

  it('renders null and undefined as NULL', () => {
    expect(literal(null)).toBe('NULL');
    expect(literal(undefined)).toBe('NULL');
  });

  it('renders a Date as whole UTC seconds', () => {
    expect(literal(new Date('2024-01-01T00:00:00.999Z'))).toBe("toDateTime(1704067200, 'UTC')");
    expect(literal(new Date(0))).toBe("toDateTime(0, 'UTC')");
    expect(literal(new Date(-1500))).toBe("toDateTime(-2, 'UTC')");
  });

  it('rejects an invalid Date', () => {
    expect(() => literal(new Date('not a date'))).toThrow(new SqlValueError('invalid Date'));
  });

  it('renders arrays element by element, nested too', () => {
    expect(literal(['a', "b'c", -1, null])).toBe("['a', 'b\\'c', (-1), NULL]");
    expect(literal([[1, 2], [3]])).toBe('[[1, 2], [3]]');
  });

  it('rejects an empty array, whose type would be Array(Nothing)', () => {
    expect(() => literal([])).toThrow(SqlValueError);
    expect(() => literal([['x'], []])).toThrow(SqlValueError);
  });

  it('passes a fragment through unchanged', () => {
    expect(literal(trustedSql('now()'))).toBe('now()');
  });

  it('rejects values of other types', () => {
    expect(() => literal({} as never)).toThrow(new SqlValueError('unsupported value of type object'));
    expect(() => literal(Symbol('x') as never)).toThrow(SqlValueError);
  });
});

describe('sql tag', () => {
  it('renders every interpolation as a literal and keeps the text between', () => {
    const q = sql`SELECT count() FROM events WHERE org_id = ${"o'1"} AND occurred_at >= ${1704067200000} AND x IN ${inList([1, 2])} LIMIT ${limit(10)}`;
    expect(q).toBeInstanceOf(SqlFragment);
    expect(q.text).toBe(
      "SELECT count() FROM events WHERE org_id = 'o\\'1' AND occurred_at >= 1704067200000 AND x IN (1, 2) LIMIT 10"
    );
    expect(String(q)).toBe(q.text);
  });

  it('renders a template with no values as its text', () => {
    expect(sql`SELECT 1`.text).toBe('SELECT 1');
  });

  it('nests fragments without re-quoting them', () => {
    const where = sql`s = ${'a'}`;
    expect(sql`SELECT * FROM ${ident('t')} WHERE ${where}`.text).toBe("SELECT * FROM `t` WHERE s = 'a'");
  });
});

describe('inList', () => {
  it('renders a parenthesised list', () => {
    expect(inList(['a', "b'", 3]).text).toBe("('a', 'b\\'', 3)");
    expect(inList(['only']).text).toBe("('only')");
  });

  it('renders an empty list as (NULL), which matches nothing', () => {
    expect(inList([]).text).toBe('(NULL)');
  });
});

describe('limit', () => {
  it('renders a non-negative integer without parentheses', () => {
    expect(limit(0).text).toBe('0');
    expect(limit(100).text).toBe('100');
    expect(limit(Number.MAX_SAFE_INTEGER).text).toBe('9007199254740991');
  });

  it('rejects negatives, fractions, NaN, infinities and unsafe integers', () => {
    expect(() => limit(-1)).toThrow(new SqlValueError('bad LIMIT -1'));
    expect(() => limit(1.5)).toThrow(SqlValueError);
    expect(() => limit(Number.NaN)).toThrow(SqlValueError);
    expect(() => limit(Number.POSITIVE_INFINITY)).toThrow(SqlValueError);
    expect(() => limit(2 ** 53)).toThrow(SqlValueError);
  });
});

describe('ident', () => {
  it('wraps a name in backticks', () => {
    expect(ident('events').text).toBe('`events`');
  });

  it('doubles a backtick inside the name', () => {
    expect(ident('a`b').text).toBe('`a``b`');
    expect(ident('`').text).toBe('````');
  });

  it('escapes a backslash, which 18.16 reads as an escape inside backquotes', () => {
    expect(ident('a\\').text).toBe('`a\\\\`');
    expect(ident('x\\`y').text).toBe('`x\\\\``y`');
  });
});

describe('join and trustedSql', () => {
  it('joins fragments with the separator', () => {
    expect(join([sql`a = ${1}`, sql`b = ${'x'}`], ' AND ').text).toBe("a = 1 AND b = 'x'");
    expect(join([], ' AND ').text).toBe('');
  });

  it('takes trusted text verbatim', () => {
    expect(trustedSql("SELECT '\\'").text).toBe("SELECT '\\'");
  });
});
