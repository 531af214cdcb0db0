import { ok, reject, type StepResult } from './results';

/**
 * An NDJSON line that is not JSON. It stays in the list as an item, so it is rejected by index
 * (`invalid_json`) and the valid lines around it are still stored.
 */
export class UnparsableLine {
  constructor(
    /** 1-based line number in the body. */
    readonly line: number,
    readonly message: string
  ) {}
}

/** The media types the endpoint reads; anything else is answered 415 before the body is read. */
export type BodyFormat = 'json' | 'ndjson';

export function bodyFormat(contentType: string): BodyFormat | undefined {
  const media = (contentType.split(';', 1)[0] ?? '').trim().toLowerCase();
  if (media === 'application/json') return 'json';
  if (media === 'application/x-ndjson' || media === 'application/ndjson' || media === 'application/jsonl') return 'ndjson';
  return undefined;
}

/**
 * The request body as a list of items: a JSON array or one JSON object, or NDJSON (one object per
 * line). Items are validated one by one afterwards, so one bad event does not sink its
 * neighbours; only an unreadable JSON body fails as a whole (there is no neighbour to keep).
 */
export function parseBody(text: string, format: BodyFormat): StepResult<unknown[]> {
  if (format === 'ndjson') {
    const items: unknown[] = [];
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = (lines[i] ?? '').trim();
      if (line === '') continue;
      try {
        items.push(JSON.parse(line));
      } catch (err) {
        items.push(new UnparsableLine(i + 1, `line ${i + 1} is not valid JSON: ${(err as Error).message}`));
      }
    }
    if (items.length === 0) return reject('not_an_object', '', 'body holds no events (NDJSON: one event object per line)');
    return ok(items);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    return reject('invalid_json', '', `body is not valid JSON: ${(err as Error).message}`);
  }
  if (Array.isArray(body)) {
    if (body.length === 0) return reject('not_an_object', '', 'body is an empty array: send at least one event');
    return ok(body);
  }
  if (typeof body === 'object' && body !== null) return ok([body]);
  return reject('not_an_object', '', 'body must be a JSON array of events or one event object');
}
