import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  createIngestClient,
  IngestClosedError,
  IngestError,
  newEventId,
  type IngestClientOptions
} from '../../../ingest/client';
import type { AgentEvent } from '../../../src/lib/contracts/events';

interface Received {
  events: AgentEvent[];
  authorization: string | undefined;
  at: number;
}
/** Answers request n (from 0); may write the response itself, later, to hold a request open. */
type Respond = (n: number, request: Received, res: ServerResponse) => void;

const servers: { close(): void }[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

function ok(res: ServerResponse, request: Received, rejected: unknown[] = []): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ accepted: request.events.length - rejected.length, rejected }));
}

async function startServer(respond: Respond = (_, request, res) => ok(res, request)) {
  const received: Received[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request = {
        events: JSON.parse(Buffer.concat(chunks).toString('utf8')) as AgentEvent[],
        authorization: req.headers.authorization,
        at: performance.now()
      };
      received.push(request);
      respond(received.length - 1, request, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push({
    close: () => {
      server.closeAllConnections();
      server.close();
    }
  });
  const { port } = server.address() as AddressInfo;
  return { baseUrl: `http://127.0.0.1:${port}`, received };
}

function clientFor(baseUrl: string, options: Partial<IngestClientOptions> = {}) {
  return createIngestClient({ baseUrl, apiKey: 'pw_test_key', flushIntervalMs: 10, random: () => 0, backoffBaseMs: 5, ...options });
}

let counter = 0;
function buildEvent(): AgentEvent {
  counter++;
  return { type: 'stage_changed', eventId: `evt-${counter}`, leadId: `lead-${counter}`, occurredAt: '2025-05-12T10:00:00.000Z', stage: 'enquired' };
}
const ids = (events: AgentEvent[]) => events.map((e) => e.eventId);

describe('createIngestClient', () => {
  it('sends N events in ceil(N / maxBatch) requests, in order, with the bearer key', async () => {
    const { baseUrl, received } = await startServer();
    const client = clientFor(baseUrl, { maxBatch: 10, flushIntervalMs: 10_000 });
    const events = Array.from({ length: 25 }, buildEvent);
    const results = events.map((e) => client.send(e));
    await client.flush();
    expect(received.map((r) => r.events.length)).toEqual([10, 10, 5]);
    expect(received.flatMap((r) => ids(r.events))).toEqual(ids(events));
    expect(new Set(received.map((r) => r.authorization))).toEqual(new Set(['Bearer pw_test_key']));
    expect(await Promise.all(results)).toEqual(events.map((e) => ({ accepted: [e.eventId], rejected: [] })));
    await client.close();
  });

  it('sends a full batch at once, without waiting for the flush interval', async () => {
    const { baseUrl, received } = await startServer();
    const client = clientFor(baseUrl, { maxBatch: 5, flushIntervalMs: 60_000 });
    const events = Array.from({ length: 10 }, buildEvent);
    expect(await client.send(events)).toEqual({ accepted: ids(events), rejected: [] });
    expect(received.map((r) => r.events.length)).toEqual([5, 5]);
    await client.close();
  });

  it('sends a partial batch once flushIntervalMs passes, without flush()', async () => {
    const { baseUrl, received } = await startServer();
    const client = clientFor(baseUrl, { maxBatch: 100, flushIntervalMs: 20 });
    const events = [buildEvent(), buildEvent(), buildEvent()];
    const result = await client.send(events);
    expect(result).toEqual({ accepted: ids(events), rejected: [] });
    expect(received.map((r) => ids(r.events))).toEqual([ids(events)]);
    await client.close();
  });

  it('maps rejected items back to the events and their positions in the send call', async () => {
    const item = { index: 1, code: 'invalid_field', field: 'stage', message: 'bad stage' };
    const { baseUrl } = await startServer((_, request, res) => ok(res, request, [item]));
    const client = clientFor(baseUrl);
    const events = [buildEvent(), buildEvent(), buildEvent()];
    const result = await client.send(events);
    expect(result).toEqual({
      accepted: [events[0]!.eventId, events[2]!.eventId],
      rejected: [{ ...item, eventId: events[1]!.eventId, event: events[1] }]
    });
    await client.close();
  });

  it('retries a 503 and a dropped connection with the same events until acknowledged', async () => {
    const { baseUrl, received } = await startServer((n, request, res) => {
      if (n === 0) res.writeHead(503).end('{"error":"unavailable","message":"clickhouse down"}');
      else if (n === 1) res.socket?.destroy();
      else ok(res, request);
    });
    const client = clientFor(baseUrl);
    const events = [buildEvent(), buildEvent()];
    expect(await client.send(events)).toEqual({ accepted: ids(events), rejected: [] });
    expect(received.map((r) => r.events)).toEqual([events, events, events]);
    await client.close();
  });

  it('waits at least Retry-After before retrying a 429', async () => {
    const { baseUrl, received } = await startServer((n, request, res) => {
      if (n === 0) res.writeHead(429, { 'retry-after': '0.3' }).end();
      else ok(res, request);
    });
    const client = clientFor(baseUrl); // random() = 0, so the jittered backoff alone would be 0 ms
    await client.send(buildEvent());
    expect(received).toHaveLength(2);
    expect(received[1]!.at - received[0]!.at).toBeGreaterThanOrEqual(280);
    await client.close();
  });

  it('gives up after maxRetries and rejects with the last status', async () => {
    const { baseUrl, received } = await startServer((_, __, res) => res.writeHead(502).end('bad gateway'));
    const client = clientFor(baseUrl, { maxRetries: 2 });
    const error = await client.send(buildEvent()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IngestError);
    expect(error).toMatchObject({ status: 502, body: 'bad gateway' });
    expect(received).toHaveLength(3);
    await client.close();
  });

  it.each([400, 401, 413])('never retries a %i and rejects with its status and body', async (status) => {
    const body = { error: 'refused', message: `status ${status}` };
    const { baseUrl, received } = await startServer((n, request, res) => {
      if (n === 0) res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      else ok(res, request);
    });
    const client = clientFor(baseUrl);
    const refused = buildEvent();
    const error = await client.send(refused).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IngestError);
    expect(error).toMatchObject({ status, body });
    // Requests go one at a time in order, so a retry would have to arrive before this batch.
    const next = buildEvent();
    await client.send(next);
    expect(received.map((r) => ids(r.events))).toEqual([[refused.eventId], [next.eventId]]);
    await client.close();
  });

  it('makes send wait while the queue is full and admits it once a batch is acknowledged', async () => {
    const held: (() => void)[] = [];
    const { baseUrl, received } = await startServer((_, request, res) => held.push(() => ok(res, request)));
    const client = clientFor(baseUrl, { maxBatch: 4, maxQueued: 4 });
    const first = Array.from({ length: 4 }, buildEvent);
    const firstSent = client.send(first);
    await vi.waitFor(() => expect(received).toHaveLength(1));
    const late = buildEvent();
    let lateSettled = false;
    const lateSent = client.send(late).finally(() => (lateSettled = true));
    expect(client.stats()).toEqual({ queued: 4, inFlight: 4, waiting: 1 });

    held.shift()!();
    await firstSent;
    await vi.waitFor(() => expect(received).toHaveLength(2));
    expect(ids(received[1]!.events)).toEqual([late.eventId]);
    expect(lateSettled).toBe(false);
    held.shift()!();
    expect(await lateSent).toEqual({ accepted: [late.eventId], rejected: [] });
    expect(client.stats()).toEqual({ queued: 0, inFlight: 0, waiting: 0 });
    await client.close();
  });

  it('splits a send larger than maxQueued and never holds more than maxQueued events', async () => {
    let peak = 0;
    const { baseUrl, received } = await startServer((_, request, res) => {
      peak = Math.max(peak, client.stats().queued); // requests only arrive once client exists
      ok(res, request);
    });
    const client = clientFor(baseUrl, { maxBatch: 3, maxQueued: 5 });
    const events = Array.from({ length: 17 }, buildEvent);
    expect(await client.send(events)).toEqual({ accepted: ids(events), rejected: [] });
    expect(received.flatMap((r) => ids(r.events))).toEqual(ids(events));
    expect(peak).toBeLessThanOrEqual(5);
    expect(peak).toBeGreaterThan(0);
    await client.close();
  });

  it('close() delivers what was sent, then refuses new events', async () => {
    const { baseUrl, received } = await startServer();
    const client = clientFor(baseUrl, { flushIntervalMs: 60_000 });
    const event = buildEvent();
    const sent = client.send(event);
    await client.close();
    expect(await sent).toEqual({ accepted: [event.eventId], rejected: [] });
    expect(received.map((r) => ids(r.events))).toEqual([[event.eventId]]);
    await expect(client.send(buildEvent())).rejects.toBeInstanceOf(IngestClosedError);
  });
});

describe('newEventId', () => {
  it('makes distinct ids that fit the contract id pattern', () => {
    const made = Array.from({ length: 1000 }, newEventId);
    for (const id of made) expect(id).toMatch(/^[A-Za-z0-9._:@-]{1,128}$/);
    expect(new Set(made).size).toBe(made.length);
  });
});
