import type { ApiError, IngestResponse, RejectedItem } from '../contracts/ingest';
import { parseBody } from '../../../ingest/pipeline/parse-body';
import { validateEvent } from '../../../ingest/pipeline/validate-event';
import type { AppContext } from './app-context';
import { toEventRow, type EventRow } from './db/queries/events';
import { OverloadedError, ShuttingDownError, StoreUnavailableError } from './errors';

/**
 * POST /api/v1/events, hosted in the app process. The API key decides the organisation.
 * 200: every item stored. 400: the body was unreadable, or some items were invalid (listed by
 * index; the valid ones in the same request are stored and counted in `accepted`).
 * 401 bad key, 413 too large, 429 too many requests for this key (`rate_limited`) or buffer full
 * (`overloaded`), 503 ClickHouse unavailable: retry later with the same event ids, which the
 * ledger folds.
 */
export async function handleIngest(ctx: AppContext, request: Request, now = Date.now): Promise<Response> {
  const identity = await ctx.verifyApiKey(bearerToken(request.headers.get('authorization')));
  if (!identity) return apiError(401, 'unauthorized', 'send a valid ingest key as "Authorization: Bearer <key>"');
  // Before the body is read: a refused request costs no parsing and stores nothing.
  const limit = ctx.limits.ingestPerKey.consume(identity.keyId);
  if (!limit.allowed) {
    const seconds = Math.max(1, Math.ceil(limit.retryAfterMs / 1000));
    const { INGEST_MAX_REQUESTS_PER_KEY: max, INGEST_RATE_WINDOW_MS: windowMs } = ctx.config;
    const message = `this key sent more than ${max} requests in ${windowMs} ms; nothing was stored, retry in ${seconds} s`;
    return apiError(429, 'rate_limited', message, seconds);
  }

  const maxBytes = ctx.config.INGEST_MAX_BYTES;
  const declared = Number(request.headers.get('content-length') ?? 0);
  if (declared > maxBytes) return tooLarge(`body is larger than ${maxBytes} bytes`);
  const text = await readBody(request, maxBytes);
  if (text === null) return tooLarge(`body is larger than ${maxBytes} bytes`);
  if (text instanceof Error) return apiError(400, 'bad_body', text.message);

  const parsed = parseBody(text, request.headers.get('content-type') ?? '');
  if (!parsed.ok) return apiError(400, 'bad_body', parsed.message);
  if (parsed.value.length > ctx.config.INGEST_MAX_EVENTS) {
    return tooLarge(`at most ${ctx.config.INGEST_MAX_EVENTS} events per request`);
  }

  const receivedAt = now();
  const rows: EventRow[] = [];
  const rejected: RejectedItem[] = [];
  parsed.value.forEach((item, index) => {
    const result = validateEvent(item);
    if (result.ok) rows.push(toEventRow(result.value, identity.orgId, receivedAt));
    else rejected.push({ index, code: result.code, field: result.field, message: result.message });
  });

  try {
    await ctx.writer.write(rows);
  } catch (err) {
    if (err instanceof OverloadedError) return apiError(429, 'overloaded', err.message, 1);
    if (err instanceof ShuttingDownError) return apiError(503, 'shutting_down', 'server is restarting', 2);
    if (err instanceof StoreUnavailableError) {
      ctx.log.error({ err, orgId: identity.orgId, rows: rows.length }, 'ingest batch not stored');
      return apiError(503, 'store_unavailable', 'events were not stored; retry with the same event ids', 5);
    }
    throw err;
  }
  const body: IngestResponse = { accepted: rows.length, rejected };
  return Response.json(body, { status: rejected.length > 0 ? 400 : 200 });
}

function bearerToken(header: string | null): string {
  const m = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  return m?.[1] ?? '';
}

function apiError(status: number, error: string, message: string, retryAfterSeconds?: number): Response {
  const body: ApiError = { error, message };
  const headers: Record<string, string> = {};
  if (retryAfterSeconds !== undefined) headers['retry-after'] = String(retryAfterSeconds);
  return Response.json(body, { status, headers });
}

const tooLarge = (message: string) => apiError(413, 'too_large', message);

/**
 * The body as text, stopping at `maxBytes` (counted after gzip decoding, so a small compressed
 * body cannot expand without bound). null when too large.
 */
async function readBody(request: Request, maxBytes: number): Promise<string | null | Error> {
  if (!request.body) return '';
  let stream: ReadableStream<Uint8Array> = request.body;
  const encoding = (request.headers.get('content-encoding') ?? '').toLowerCase();
  if (encoding === 'gzip') stream = stream.pipeThrough(new DecompressionStream('gzip') as ReadableWritablePair<Uint8Array, Uint8Array>);
  else if (encoding !== '' && encoding !== 'identity') return new Error(`unsupported content-encoding ${encoding}`);
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel();
        return null;
      }
      chunks.push(value);
    }
  } catch (err) {
    return new Error(`could not read body: ${(err as Error).message}`);
  }
  return Buffer.concat(chunks).toString('utf8');
}
