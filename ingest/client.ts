import { randomUUID } from 'node:crypto';
import type { AgentEvent } from '../src/lib/contracts/events';
import { ingestResponseSchema, type IngestResponse, type RejectedItem } from '../src/lib/contracts/ingest';

/**
 * A small client for `POST /api/v1/events`. Events are queued, sent in batches in the order
 * they were sent, one request at a time, and retried with the same bytes (so the same eventIds)
 * until the server acknowledges them: the server deduplicates on eventId, so a retry after a
 * lost response cannot double-count.
 */

export interface IngestClientOptions {
  baseUrl: string;
  apiKey: string;
  /** Events per request. Keep it under the server's body limit: a 413 is never retried. */
  maxBatch?: number;
  /** How long a queued event may wait for companions before a partial batch goes out. */
  flushIntervalMs?: number;
  /** Retries after the first attempt, for network errors, 408, 429 and 5xx. */
  maxRetries?: number;
  /** Events held in memory (queued or in flight) before `send` waits for room. */
  maxQueued?: number;
  /** Retry n waits random() * min(backoffCapMs, backoffBaseMs * 2^n) ms ("full jitter"), or Retry-After if longer. */
  backoffBaseMs?: number;
  backoffCapMs?: number;
  /** Per-request limit; a timeout counts as a network error and is retried. */
  requestTimeoutMs?: number;
  fetch?: typeof fetch;
  random?: () => number;
}

/** A rejected event; `index` is its position in the array given to `send`. */
export type RejectedEvent = RejectedItem & { eventId: string; event: AgentEvent };

export interface SendResult {
  /** Ids of the events the server took, in send order. */
  accepted: string[];
  rejected: RejectedEvent[];
}

export interface IngestClientStats {
  /** Events admitted and not yet settled, including the batch in flight. */
  queued: number;
  inFlight: number;
  /** Events in `send` calls still waiting for room in the queue. */
  waiting: number;
}

export interface IngestClient {
  /** Resolves once every given event was answered by a 2xx; rejects with IngestError if its batch failed for good. */
  send(events: AgentEvent | readonly AgentEvent[]): Promise<SendResult>;
  /** Sends everything admitted so far; resolves when it is settled (failures surface on `send`'s promise). */
  flush(): Promise<void>;
  /** Refuses new sends, delivers everything already sent (including waiting sends), then stops the timer. */
  close(): Promise<void>;
  stats(): IngestClientStats;
}

/** A request that failed for good. `status` is null when no HTTP answer arrived. */
export class IngestError extends Error {
  override readonly name = 'IngestError';
  readonly status: number | null;
  readonly body: unknown;
  constructor(message: string, status: number | null, body: unknown, options?: ErrorOptions) {
    super(message, options);
    this.status = status;
    this.body = body;
  }
}

export class IngestClosedError extends Error {
  override readonly name = 'IngestClosedError';
  constructor() {
    super('ingest client is closed');
  }
}

/** A fresh event id; a UUID only uses characters the contract's id pattern allows. */
export function newEventId(): string {
  return `evt_${randomUUID()}`;
}

interface Ticket {
  pending: number;
  result: SendResult;
  failed: boolean;
  resolve: (result: SendResult) => void;
  reject: (error: unknown) => void;
}
interface Entry {
  event: AgentEvent;
  seq: number;
  index: number;
  ticket: Ticket;
}
interface Waiting {
  events: readonly AgentEvent[];
  offset: number;
  ticket: Ticket;
}
type Attempt =
  | { kind: 'ok'; response: IngestResponse }
  | { kind: 'retry'; error: IngestError; retryAfterMs?: number }
  | { kind: 'fatal'; error: IngestError };

export function createIngestClient(options: IngestClientOptions): IngestClient {
  const {
    apiKey,
    maxBatch = 500,
    flushIntervalMs = 200,
    maxRetries = 8,
    maxQueued = 10_000,
    backoffBaseMs = 200,
    backoffCapMs = 30_000,
    requestTimeoutMs = 10_000,
    random = Math.random
  } = options;
  const doFetch = options.fetch ?? globalThis.fetch;
  const url = `${options.baseUrl.replace(/\/+$/, '')}/api/v1/events`;
  if (!(maxBatch >= 1 && maxQueued >= 1)) throw new RangeError('maxBatch and maxQueued must be at least 1');

  const pending: Entry[] = [];
  const waiting: Waiting[] = [];
  const flushWaiters: { target: number; resolve: () => void }[] = [];
  let held = 0;
  let inFlight = 0;
  let lastSeq = 0;
  let settledSeq = 0;
  let flushTarget = 0;
  let pumping = false;
  let closing = false;
  let closed: Promise<void> | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;

  function admit(): void {
    // FIFO: a later send never overtakes an earlier one that is waiting for room.
    while (waiting.length > 0 && held < maxQueued) {
      const head = waiting[0]!;
      const take = head.events.slice(head.offset, head.offset + (maxQueued - held));
      for (const event of take) pending.push({ event, seq: ++lastSeq, index: head.offset++, ticket: head.ticket });
      held += take.length;
      if (head.offset === head.events.length) waiting.shift();
    }
    schedule();
  }

  function isDue(): boolean {
    const head = pending[0];
    return head !== undefined && (closing || pending.length >= maxBatch || head.seq <= flushTarget);
  }

  function schedule(): void {
    if (pumping) return; // the pump re-checks after every batch
    if (isDue()) {
      void pump();
    } else if (pending.length > 0 && timer === undefined) {
      timer = setTimeout(() => {
        timer = undefined;
        flushTarget = lastSeq;
        schedule();
      }, flushIntervalMs);
    }
  }

  async function pump(): Promise<void> {
    pumping = true;
    try {
      while (isDue()) {
        const batch = pending.splice(0, maxBatch);
        inFlight = batch.length;
        await deliver(batch);
        inFlight = 0;
        held -= batch.length;
        settledSeq = batch[batch.length - 1]!.seq;
        for (let i = flushWaiters.length - 1; i >= 0; i--) {
          if (flushWaiters[i]!.target <= settledSeq) flushWaiters.splice(i, 1)[0]!.resolve();
        }
        admit();
      }
    } finally {
      pumping = false;
    }
    schedule();
  }

  async function deliver(batch: Entry[]): Promise<void> {
    // Serialised once, so every retry resends identical events with identical ids.
    const body = JSON.stringify(batch.map((entry) => entry.event));
    for (let attempt = 0; ; attempt++) {
      const outcome = await attemptOnce(body, attempt + 1);
      if (outcome.kind === 'ok') return settleOk(batch, outcome.response);
      if (outcome.kind === 'fatal' || attempt >= maxRetries) return settleFailed(batch, outcome.error);
      const jitter = random() * Math.min(backoffCapMs, backoffBaseMs * 2 ** attempt);
      await sleep(Math.max(jitter, outcome.retryAfterMs ?? 0));
    }
  }

  async function attemptOnce(body: string, attempt: number): Promise<Attempt> {
    let status: number;
    let text: string;
    let retryAfter: string | null;
    try {
      const response = await doFetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
        body,
        signal: AbortSignal.timeout(requestTimeoutMs)
      });
      status = response.status;
      retryAfter = response.headers.get('retry-after');
      text = await response.text();
    } catch (cause) {
      return { kind: 'retry', error: new IngestError(`network error on attempt ${attempt}`, null, undefined, { cause }) };
    }
    const parsedBody = parseJson(text);
    if (status >= 200 && status < 300) {
      const parsed = ingestResponseSchema.safeParse(parsedBody);
      if (parsed.success) return { kind: 'ok', response: parsed.data };
      return { kind: 'fatal', error: new IngestError(`unexpected ${status} response body`, status, parsedBody) };
    }
    const error = new IngestError(`ingest answered ${status} on attempt ${attempt}`, status, parsedBody);
    if (status === 408 || status === 429 || status >= 500) {
      return { kind: 'retry', error, retryAfterMs: parseRetryAfter(retryAfter) };
    }
    return { kind: 'fatal', error };
  }

  function settleOk(batch: Entry[], response: IngestResponse): void {
    const rejectedAt = new Map<number, RejectedItem>();
    // An index outside the batch would be a server bug; such an item names no event of ours.
    for (const item of response.rejected) if (item.index < batch.length) rejectedAt.set(item.index, item);
    batch.forEach((entry, i) => {
      const item = rejectedAt.get(i);
      const { result } = entry.ticket;
      if (item) result.rejected.push({ ...item, index: entry.index, eventId: entry.event.eventId, event: entry.event });
      else result.accepted.push(entry.event.eventId);
      if (--entry.ticket.pending === 0 && !entry.ticket.failed) entry.ticket.resolve(result);
    });
  }

  function settleFailed(batch: Entry[], error: IngestError): void {
    for (const entry of batch) {
      entry.ticket.pending--;
      if (!entry.ticket.failed) {
        entry.ticket.failed = true;
        entry.ticket.reject(error);
      }
    }
  }

  function flush(): Promise<void> {
    const target = lastSeq;
    if (settledSeq >= target) return Promise.resolve();
    flushTarget = Math.max(flushTarget, target);
    clearTimeout(timer);
    timer = undefined;
    return new Promise((resolve) => {
      flushWaiters.push({ target, resolve });
      schedule();
    });
  }

  return {
    send(input) {
      if (closing) return Promise.reject(new IngestClosedError());
      const events: readonly AgentEvent[] = Array.isArray(input) ? [...input] : [input as AgentEvent];
      return new Promise<SendResult>((resolve, reject) => {
        const ticket: Ticket = { pending: events.length, result: { accepted: [], rejected: [] }, failed: false, resolve, reject };
        if (events.length === 0) return resolve(ticket.result);
        waiting.push({ events, offset: 0, ticket });
        admit();
      });
    },
    flush,
    close() {
      closed ??= (async () => {
        closing = true;
        while (waiting.length > 0 || held > 0) await flush();
        clearTimeout(timer);
        timer = undefined;
      })();
      return closed;
    },
    stats: () => ({ queued: held, inFlight, waiting: waiting.reduce((sum, w) => sum + w.events.length - w.offset, 0) })
  };
}

/** Seconds (fractions allowed, to be lenient) or an HTTP date; anything else is ignored. */
export function parseRetryAfter(value: string | null): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return seconds >= 0 ? seconds * 1000 : undefined;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text; // not JSON: the raw text is still the most useful thing to put on an error
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
