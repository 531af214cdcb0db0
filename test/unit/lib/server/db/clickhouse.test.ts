import { describe, expect, it } from 'vitest';
import { clickhouseErrorCode } from '../../../../../src/lib/server/db/clickhouse';

describe('clickhouseErrorCode', () => {
  it('reads the 18.16 form "Code: 60, e.displayText() = …"', () => {
    const err = new Error(
      "Code: 60, e.displayText() = DB::Exception: Table test_db.nope doesn't exist., e.what() = DB::Exception"
    );
    expect(clickhouseErrorCode(err)).toBe(60);
  });

  it('reads the modern form "Code: 60. DB::Exception: … (UNKNOWN_TABLE)"', () => {
    const err = new Error(
      "Code: 60. DB::Exception: Table test_db.nope does not exist. (UNKNOWN_TABLE) (version 24.8.4.13 (official build))"
    );
    expect(clickhouseErrorCode(err)).toBe(60);
  });

  it('reads a code that follows other text, and a plain string', () => {
    expect(clickhouseErrorCode(new Error('request failed: Code: 115, e.displayText() = DB::Exception: Unknown setting param_x'))).toBe(115);
    expect(clickhouseErrorCode('Code: 62. DB::Exception: Syntax error (SYNTAX_ERROR)')).toBe(62);
  });

  it('gives undefined when there is no code', () => {
    expect(clickhouseErrorCode(new Error('socket hang up'))).toBeUndefined();
    expect(clickhouseErrorCode(new Error('Code: 60'))).toBeUndefined();
    expect(clickhouseErrorCode(new Error('ErrorCode: 60, x'))).toBeUndefined();
    expect(clickhouseErrorCode(undefined)).toBeUndefined();
  });
});
