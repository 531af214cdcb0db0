/**
 * The inbox's HTTP calls to its own API: JSON in, JSON out, and every failure turned into words
 * a person can act on. Expected refusals (4xx with `{ message }`) are values, not exceptions.
 */

export type Answer<T> = { ok: true; body: T } | { ok: false; status: number; message: string };

type Fetch = typeof fetch;

/** GET or POST `url`; `body` (when given) is sent as JSON. */
export async function requestJson<T>(url: string, body?: unknown, fetchFn: Fetch = fetch): Promise<Answer<T>> {
  let res: Response;
  try {
    res = await fetchFn(
      url,
      body === undefined
        ? { headers: { accept: 'application/json' } }
        : { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify(body) }
    );
  } catch {
    return { ok: false, status: 0, message: 'No answer from the server: check the connection and try again.' };
  }
  const text = await res.text().catch(() => '');
  let parsed: unknown = null;
  try {
    parsed = JSON.parse(text) as unknown;
  } catch {
    // Not JSON (a proxy's HTML error page): the status below still says what happened.
  }
  if (res.ok) return { ok: true, body: parsed as T };
  return { ok: false, status: res.status, message: refusalText(res.status, parsed) };
}

function refusalText(status: number, body: unknown): string {
  const message = typeof body === 'object' && body !== null && 'message' in body ? (body as { message: unknown }).message : undefined;
  if (typeof message === 'string' && message) return message;
  if (status === 401) return 'You are signed out: sign in again.';
  if (status === 403) return 'Your role does not allow this.';
  if (status === 404) return 'Not found: it may have been removed.';
  if (status === 429) return 'Too many requests: wait a moment and try again.';
  return `The server could not do it (status ${status}). Try again.`;
}
