import { describe, expect, it } from 'vitest';
import { parseBody } from '../../../../ingest/pipeline/parse-body';
import { ok, reject } from '../../../../ingest/pipeline/results';

describe('parseBody', () => {
  it('reads a JSON array as its items and one object as a list of one', () => {
    expect(parseBody('[{"a":1},2]', 'application/json')).toEqual(ok([{ a: 1 }, 2]));
    expect(parseBody('{"a":1}', 'application/json')).toEqual(ok([{ a: 1 }]));
  });

  it('reads NDJSON line by line, skipping blank lines', () => {
    expect(parseBody('{"a":1}\n\n{"b":2}\n', 'application/x-ndjson')).toEqual(ok([{ a: 1 }, { b: 2 }]));
  });

  it('names the NDJSON line that is not JSON', () => {
    expect(parseBody('{"a":1}\n{oops', 'application/x-ndjson')).toEqual(
      reject('not_an_object', 'line 2', 'line 2 is not valid JSON')
    );
  });

  it('refuses a body that is not JSON or is a bare value', () => {
    expect(parseBody('[{', 'application/json')).toMatchObject({ ok: false, code: 'not_an_object', field: '' });
    expect(parseBody('42', 'application/json')).toEqual(
      reject('not_an_object', '', 'body must be a JSON array of events or one event object')
    );
  });
});
