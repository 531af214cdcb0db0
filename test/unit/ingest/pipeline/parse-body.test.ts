import { describe, expect, it } from 'vitest';
import { bodyFormat, parseBody, UnparsableLine } from '../../../../ingest/pipeline/parse-body';
import { ok, reject } from '../../../../ingest/pipeline/results';

describe('bodyFormat', () => {
  it.each([
    ['application/json', 'json'],
    ['Application/JSON; charset=utf-8', 'json'],
    ['application/x-ndjson', 'ndjson'],
    ['application/ndjson', 'ndjson'],
    ['application/jsonl', 'ndjson'],
    ['text/plain', undefined],
    ['application/xml', undefined],
    ['multipart/form-data; boundary=x', undefined],
    ['application/jsonx', undefined],
    ['', undefined]
  ])('reads %j as %s', (contentType, expected) => {
    expect(bodyFormat(contentType)).toBe(expected);
  });
});

describe('parseBody', () => {
  it('reads a JSON array as its items and one object as a list of one', () => {
    expect(parseBody('[{"a":1},2]', 'json')).toEqual(ok([{ a: 1 }, 2]));
    expect(parseBody('{"a":1}', 'json')).toEqual(ok([{ a: 1 }]));
  });

  it('reads NDJSON line by line, skipping blank lines', () => {
    expect(parseBody('{"a":1}\n\n{"b":2}\n', 'ndjson')).toEqual(ok([{ a: 1 }, { b: 2 }]));
  });

  it('keeps an NDJSON line that is not JSON as an item, so its neighbours still count', () => {
    const parsed = parseBody('{"a":1}\n{oops\n{"b":2}', 'ndjson');
    expect(parsed.ok).toBe(true);
    const items = parsed.ok ? parsed.value : [];
    expect(items).toHaveLength(3);
    expect(items[0]).toEqual({ a: 1 });
    expect(items[1]).toBeInstanceOf(UnparsableLine);
    expect(items[1]).toMatchObject({ line: 2, message: expect.stringMatching(/^line 2 is not valid JSON: /) as unknown });
    expect(items[2]).toEqual({ b: 2 });
  });

  it('refuses a body that is not JSON, a bare value, or holds no events', () => {
    expect(parseBody('[{', 'json')).toMatchObject({ ok: false, code: 'invalid_json', field: '' });
    expect(parseBody('42', 'json')).toEqual(reject('not_an_object', '', 'body must be a JSON array of events or one event object'));
    expect(parseBody('[]', 'json')).toMatchObject({ ok: false, code: 'not_an_object' });
    expect(parseBody('\n \n', 'ndjson')).toMatchObject({ ok: false, code: 'not_an_object' });
  });
});
