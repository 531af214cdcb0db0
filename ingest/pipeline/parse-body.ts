import { ok, reject, type StepResult } from './results';

/**
 * The request body as a list of items: a JSON array, one JSON object, or NDJSON (one object
 * per line) when the content type says so. Items are validated one by one afterwards, so one
 * bad event does not sink its neighbours; only an unreadable body fails as a whole.
 */
export function parseBody(text: string, contentType: string): StepResult<unknown[]> {
  if (/application\/(x-)?ndjson/i.test(contentType)) {
    const items: unknown[] = [];
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = (lines[i] ?? '').trim();
      if (line === '') continue;
      try {
        items.push(JSON.parse(line));
      } catch {
        return reject('not_an_object', `line ${i + 1}`, `line ${i + 1} is not valid JSON`);
      }
    }
    return ok(items);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    return reject('not_an_object', '', `body is not valid JSON: ${(err as Error).message}`);
  }
  if (Array.isArray(body)) return ok(body);
  if (typeof body === 'object' && body !== null) return ok([body]);
  return reject('not_an_object', '', 'body must be a JSON array of events or one event object');
}
