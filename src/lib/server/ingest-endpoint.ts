import { isUtf8 } from 'node:buffer';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApiError, IngestResponse, RejectedItem } from '../contracts/ingest';
import { bodyFormat, parseBody } from '../../../ingest/pipeline/parse-body';
import { validateEvent } from '../../../ingest/pipeline/validate-event';
import type { AppContext } from './app-context';
import { hasRole } from './config';
import type { AgentEvent } from '../contracts/events';
import { mergeEventRow, toEventRow, type EventRow } from './db/queries/events';
import type { Resolution } from '../../../ingest/pipeline/resolve-identity';
import { OverloadedError, ShuttingDownError, StoreUnavailableError } from './errors';

/** What handleIngest reads of a request: a web Request (SvelteKit's route), or Node's (`serveIngest`). */
export interface IngestRequest {
  headers: Pick<Headers, 'get'>;
  body: ReadableStream<Uint8Array> | null;
}

/**
 * POST /api/v1/events, hosted in the app process. The API key decides the organisation.
 * 200: every item stored (committed in ClickHouse, or fsynced to the local spool that replays
 * into it; see clickhouse-writer.ts). 400: the body was unreadable, or some items were invalid
 * (listed by index; the valid ones in the same request are stored and counted in `accepted`).
 * 401 bad key, 413 too large, 415 not JSON/NDJSON or not gzip/identity encoded, 429 too many requests for this key (`rate_limited`) or buffer full
 * (`overloaded`), 503 ClickHouse unavailable and the spool full, or the key not checkable during
 * an outage: retry later with the same event ids, which the ledger folds.
 */
export async function handleIngest(ctx: AppContext, request: IngestRequest, now = Date.now): Promise<Response> {
  // A load balancer should send events to ingest processes only; one that does not is told so.
  if (!hasRole(ctx.config, 'ingest')) {
    return apiError(503, 'not_an_ingest_process', 'this process does not take events (PIPEWALL_ROLES); nothing was stored, send them to an ingest process', 1);
  }
  let identity: Awaited<ReturnType<AppContext['verifyApiKey']>>;
  try {
    identity = await ctx.verifyApiKey(bearerToken(request.headers.get('authorization')));
  } catch (err) {
    // A key not in the cache needs ClickHouse; during an outage it cannot be checked (issue 4).
    ctx.log.warn({ err }, 'ingest key lookup failed');
    return apiError(503, 'store_unavailable', 'the ingest key could not be checked; retry with the same event ids', 5);
  }
  if (!identity) return apiError(401, 'unauthorized', 'send a valid ingest key as "Authorization: Bearer <key>"');
  // Before the body is read: a refused request costs no parsing and stores nothing.
  const limit = ctx.limits.ingestPerKey.consume(identity.keyId);
  if (!limit.allowed) {
    const seconds = Math.max(1, Math.ceil(limit.retryAfterMs / 1000));
    const { INGEST_MAX_REQUESTS_PER_KEY: max, INGEST_RATE_WINDOW_MS: windowMs } = ctx.config;
    const message = `this key sent more than ${max} requests in ${windowMs} ms; nothing was stored, retry in ${seconds} s`;
    return apiError(429, 'rate_limited', message, seconds);
  }

  const contentType = request.headers.get('content-type') ?? '';
  const format = bodyFormat(contentType);
  if (!format) {
    const sent = contentType ? `"${contentType.slice(0, 100)}"` : 'none';
    return apiError(415, 'unsupported_media_type', `send Content-Type: application/json or application/x-ndjson (got ${sent})`);
  }
  const encoding = (request.headers.get('content-encoding') ?? '').trim().toLowerCase();
  if (encoding !== '' && encoding !== 'identity' && encoding !== 'gzip') {
    return apiError(415, 'unsupported_encoding', `Content-Encoding must be gzip or absent (got "${encoding.slice(0, 100)}")`);
  }
  const maxBytes = ctx.config.INGEST_MAX_BYTES;
  const declared = Number(request.headers.get('content-length') ?? 0);
  if (declared > maxBytes) return tooLarge(`body is larger than ${maxBytes} bytes`);
  const text = await readBody(request, encoding === 'gzip', maxBytes);
  if (text === null) return tooLarge(`body is larger than ${maxBytes} bytes`);
  if (text instanceof Error) return apiError(400, 'bad_body', text.message);

  const parsed = parseBody(text, format);
  if (!parsed.ok) return apiError(400, 'bad_body', parsed.message);
  if (parsed.value.length > ctx.config.INGEST_MAX_EVENTS) {
    return tooLarge(`at most ${ctx.config.INGEST_MAX_EVENTS} events per request`);
  }

  const receivedAt = now();
  const valid: AgentEvent[] = [];
  const rejected: RejectedItem[] = [];
  parsed.value.forEach((item, index) => {
    const result = validateEvent(item);
    if (result.ok) valid.push(result.value);
    else rejected.push({ index, code: result.code, field: result.field, message: result.message });
  });

  // One person, one lead: enrichment and merges are stored before anything is acknowledged.
  let resolution: Resolution;
  try {
    resolution = await ctx.identity.resolve(identity.orgId, valid);
  } catch (err) {
    ctx.log.warn({ err, orgId: identity.orgId }, 'identity resolution failed');
    return apiError(503, 'store_unavailable', 'contact details could not be resolved; retry with the same event ids', 5);
  }
  const rows: EventRow[] = valid.map((e, i) => toEventRow(e, identity.orgId, receivedAt, resolution.derived[i]));
  for (const merge of resolution.merges) rows.push(mergeEventRow(identity.orgId, merge, receivedAt));

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
  const body: IngestResponse = { accepted: valid.length, rejected };
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
 * body cannot expand without bound). null when too large; an Error for a body that is cut off,
 * not gzip when it says so, or not UTF-8 (nothing is stored with silently replaced characters).
 */
async function readBody(request: IngestRequest, gzip: boolean, maxBytes: number): Promise<string | null | Error> {
  if (!request.body) return '';
  let stream: ReadableStream<Uint8Array> = request.body;
  if (gzip) stream = stream.pipeThrough(new DecompressionStream('gzip') as ReadableWritablePair<Uint8Array, Uint8Array>);
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
    const what = gzip ? 'gzip body could not be decoded' : 'could not read body';
    return new Error(`${what}: ${(err as Error).message}`);
  }
  // Strict: invalid UTF-8 is refused rather than stored as U+FFFD. isUtf8 + toString is several
  // times cheaper here than a fatal TextDecoder (measured: 8 % of server CPU under load).
  const bytes = Buffer.concat(chunks);
  if (!isUtf8(bytes)) return new Error('body is not valid UTF-8');
  const text = bytes.toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text; // a leading BOM is not part of the JSON
}

/** The path the production entry serves with `serveIngest`, before SvelteKit's handler. */
export const INGEST_PATH = '/api/v1/events';

/**
 * POST /api/v1/events straight from node:http, for the production entry (src/bin/start.ts):
 * `ingest` (the app's handleIngest, the same one the SvelteKit route calls) answers the request.
 * This skips what a key-only endpoint does not need on every request: adapter-node's static-file
 * lookups and web Request, SvelteKit's routing and the session hooks (the endpoint takes API
 * keys, never sessions). Headers and body are read as adapter-node reads them (Node's parsed
 * headers; no body without a content type), so handleIngest's limits and gzip apply unchanged.
 */
export async function serveIngest(
  req: IncomingMessage,
  res: ServerResponse,
  ingest: (request: IngestRequest) => Promise<Response>
): Promise<void> {
  try {
    let response: Response;
    try {
      response = await ingest(nodeIngestRequest(req));
    } catch {
      // The app's ingest answers unexpected errors itself (logged, 500); this is the last resort.
      response = Response.json({ message: 'Something went wrong.' }, { status: 500 });
    }
    const body = Buffer.from(await response.arrayBuffer());
    const headers: Record<string, string> = {};
    response.headers.forEach((value, name) => (headers[name] = value));
    headers['content-length'] = String(body.length);
    res.writeHead(response.status, headers);
    res.end(body);
  } catch {
    // Never rejects (the caller does not wait): a response that cannot be written ends the socket.
    res.destroy();
  }
}

/**
 * What handleIngest reads of a request, over Node's request without building a web Request
 * (with its abort signal and header list, about a quarter of the per-request cost here).
 */
function nodeIngestRequest(req: IncomingMessage): IngestRequest {
  const parsed = req.headers;
  const headers = {
    get(name: string): string | null {
      const value = parsed[name.toLowerCase()];
      return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
    }
  };
  return { headers, body: hasBody(req) ? bodyStream(req) : null };
}

/** adapter-node's rule, so both paths read the same bodies: none without a content type or length. */
function hasBody(req: IncomingMessage): boolean {
  const h = req.headers;
  if (!h['content-type']) return false;
  const length = Number(h['content-length']);
  if (length === 0) return false;
  return Number.isFinite(length) || h['transfer-encoding'] !== undefined || req.httpVersionMajor !== 1;
}

/**
 * The body as a web stream with backpressure, as adapter-node makes it; cancelling it (body too
 * large) drops the request. A request cut off before its end errors the stream, so the reader
 * never waits forever.
 */
function bodyStream(req: IncomingMessage): ReadableStream<Uint8Array> {
  let settled = false;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      const fail = (err: Error) => {
        if (settled) return;
        settled = true;
        controller.error(err);
      };
      req.on('error', fail);
      req.on('close', () => fail(new Error('the request ended before its body did')));
      req.on('end', () => {
        if (settled) return;
        settled = true;
        controller.close();
      });
      req.on('data', (chunk: Buffer) => {
        if (settled) return;
        controller.enqueue(chunk);
        if ((controller.desiredSize ?? 0) <= 0) req.pause();
      });
    },
    pull() {
      req.resume();
    },
    cancel(reason) {
      settled = true;
      req.destroy(reason instanceof Error ? reason : undefined);
    }
  });
}
