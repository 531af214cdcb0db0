import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io as connect, type Socket } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { SessionUser } from '../../../src/lib/contracts/auth';
import type { Viewer } from '../../../src/lib/contracts/presence';
import { inboxRoom, wallRoom, type ClientToServerEvents, type InboxChange, type ServerToClientEvents } from '../../../src/lib/contracts/realtime';
import type { ExceptionsDelta, TickerItem } from '../../../src/lib/contracts/wall';
import { startLocalRedis, type LocalRedis } from '../../../src/bin/local-redis';
import type { AppContext } from '../../../src/lib/server/app-context';
import { signIn } from '../../../src/lib/server/auth/sign-in';
import { modelPageFor } from '../../../src/lib/server/model-page';
import { handleIngest } from '../../../src/lib/server/ingest-endpoint';
import { actOnLead, leadDepsFrom } from '../../../src/lib/server/lead-actions';
import { publishLeadChange } from '../../../src/lib/server/lead-changes';
import { attachRealtime } from '../../../src/lib/server/realtime/server';
import type { RealtimeServer } from '../../../src/lib/server/realtime/wall-fanout';
import { buildMessage, buildStageChanged } from '../../fixtures/events';
import { createTestContext, ingestRequest } from '../../helpers/app';
import { createTestDatabase, type TestDatabase } from '../../helpers/clickhouse';
import { seedOrganisation, seedUser, type SeededOrg, type SeededUser } from '../../helpers/seed';
import { waitFor } from '../../helpers/wait';

/**
 * Issue 8: two app processes' worth of the real server — two contexts, two HTTP servers, two
 * socket.io servers — meeting only through a real Redis (started here) and the real ClickHouse,
 * as separate processes do. Watchers connect to one or the other; what one process commits or a
 * person does on one must reach watchers of both, once.
 */
type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

interface Node {
  ctx: AppContext;
  http: HttpServer;
  io: RealtimeServer;
  url: string;
}

let db: TestDatabase;
let redis: LocalRedis;
let redisDir: string;
let a: Node;
let b: Node;
let org: SeededOrg;
let second: SeededUser;
const sockets: ClientSocket[] = [];

async function startNode(roles: string, extra: Record<string, string> = {}): Promise<Node> {
  const ctx = createTestContext(db, { REDIS_URL: redis.url, PIPEWALL_ROLES: roles, ...extra });
  const http = createServer();
  const io = attachRealtime(http, ctx);
  await new Promise<void>((ok) => http.listen(0, '127.0.0.1', ok));
  return { ctx, http, io, url: `http://127.0.0.1:${(http.address() as AddressInfo).port}` };
}

beforeAll(async () => {
  db = await createTestDatabase('cluster_test');
  redisDir = mkdtempSync(join(tmpdir(), 'pipewall-redis-'));
  redis = await startLocalRedis({ dataDir: redisDir });
  // Scoring and training are the trainer's: left out here, they have their own tests.
  a = await startNode('app,ingest');
  b = await startNode('app,ingest');
  org = await seedOrganisation(db.client, 'Cluster Org');
  second = await seedUser(db.client, org.orgId, 'manager');
  // Each adapter learns of the other from its first heartbeat.
  for (const node of [a, b]) await waitFor(async () => (await node.io.of('/').adapter.serverCount()) >= 2 || undefined, 10_000, 'the processes see each other');
});

// Each test's watchers leave with it, so the next test decides which process has watchers.
afterEach(async () => {
  for (const s of sockets.splice(0)) s.close();
  await waitFor(() => [a, b].every((n) => n.io.sockets.sockets.size === 0) || undefined, 5_000, 'watchers gone');
});

afterAll(async () => {
  for (const node of [a, b]) {
    await node?.io.close();
    await node?.ctx.close();
  }
  await redis?.stop();
  rmSync(redisDir, { recursive: true, force: true });
  await db?.drop();
});

/** A watcher on `node` that records what it is pushed; it joins `rooms` once connected. */
function watch(node: Node, who: { sessionToken: string }, rooms: string[]) {
  const socket: ClientSocket = connect(node.url, { transports: ['websocket'], extraHeaders: { cookie: `pw_session=${who.sessionToken}` }, reconnection: false });
  sockets.push(socket);
  const seen = { snapshot: false, ticker: [] as TickerItem[], deltas: [] as ExceptionsDelta[], inbox: [] as InboxChange[], presence: [] as Viewer[][] };
  socket.on('connect', () => {
    for (const room of rooms) socket.emit('room:join', room, () => {});
  });
  socket.on('wall:snapshotted', () => (seen.snapshot = true));
  socket.on('events:ingested', (items) => seen.ticker.push(...items));
  socket.on('exceptions:changed', (d) => seen.deltas.push(d));
  socket.on('inbox:changed', (c) => seen.inbox.push(c));
  socket.on('presence:changed', (v) => seen.presence.push(v));
  return { socket, seen };
}

const ingestThrough = async (node: Node, events: unknown[]) => {
  const res = await handleIngest(node.ctx, ingestRequest(org.apiKey, events));
  expect(res.status).toBe(200);
};

const twoDaysAgo = () => new Date(Date.now() - 48 * 3_600_000).toISOString();

describe('two app processes through Redis', () => {
  it('an event ingested through a process nobody watches reaches a wall connected to the other within 1 s', async () => {
    // Only B has watchers, so B computes the wall's pushes from rows it hears from A.
    const onB = watch(b, org, [wallRoom(org.orgId)]);
    await waitFor(() => onB.seen.snapshot || undefined, 5_000, 'snapshot');
    const event = buildStageChanged({ leadId: 'lead-via-bus', summary: 'through the bus' });
    const sent = Date.now();
    await ingestThrough(a, [event]);
    await waitFor(() => onB.seen.ticker.find((t) => t.eventId === event.eventId), 1_000, 'the event on the other process’s wall');
    expect(Date.now() - sent).toBeLessThan(1_000);
  });

  it('with watchers on both processes, each event reaches each wall once', async () => {
    const onB = watch(b, org, [wallRoom(org.orgId)]);
    const onA = watch(a, second, [wallRoom(org.orgId)]);
    await waitFor(() => onA.seen.snapshot && onB.seen.snapshot, 5_000, 'both snapshots');

    const events = Array.from({ length: 5 }, (_, i) => buildStageChanged({ leadId: `lead-x-${i}`, summary: `cross ${i}` }));
    const sent = Date.now();
    await ingestThrough(a, events);
    await waitFor(() => events.every((e) => onB.seen.ticker.some((t) => t.eventId === e.eventId)) || undefined, 1_000, 'the events on the other process’s wall');
    const ms = Date.now() - sent;
    await waitFor(() => events.every((e) => onA.seen.ticker.some((t) => t.eventId === e.eventId)) || undefined, 1_000, 'the events on this process’s wall');
    expect(ms).toBeLessThan(1_000);
    // Both processes hear every row; only the room's owner pushes, so nobody sees an event twice.
    await new Promise((r) => setTimeout(r, 600));
    for (const seen of [onA.seen, onB.seen]) {
      expect(events.map((e) => seen.ticker.filter((t) => t.eventId === e.eventId).length)).toEqual([1, 1, 1, 1, 1]);
    }
  });

  it('a claim on the wall through one process shows on a wall connected to the other', async () => {
    const onA = watch(a, org, [wallRoom(org.orgId)]);
    const onB = watch(b, second, [wallRoom(org.orgId)]);
    await waitFor(() => onA.seen.snapshot && onB.seen.snapshot, 5_000, 'both snapshots');
    await ingestThrough(b, [buildStageChanged({ leadId: 'lead-quiet', stage: 'qualified', occurredAt: twoDaysAgo() })]);
    const raised = await waitFor(
      () => onA.seen.deltas.flatMap((d) => d.raised).find((e) => e.leadId === 'lead-quiet' && e.kind === 'silent_after_qualification'),
      10_000,
      'the silent lead raised'
    );

    const claimed = Date.now();
    const ack = await onB.socket.timeout(5_000).emitWithAck('exception:act', { exceptionId: raised.id, leadId: 'lead-quiet', action: { action: 'claim' } });
    expect(ack).toEqual({ ok: true });
    const change = await waitFor(() => onA.seen.deltas.flatMap((d) => d.changed).find((e) => e.id === raised.id && e.claimed), 1_000, 'the claim on the other wall');
    expect([change.claimed?.userId, Date.now() - claimed < 1_000]).toEqual([second.userId, true]);
    const ticker = await waitFor(() => onA.seen.ticker.find((t) => t.type === 'exception_claimed'), 2_000, 'the claim in the ticker');
    expect(ticker.actor).toBe(`human:${second.userId}`);
  });

  it('a lead claimed in the inbox through one process tells inboxes on the other at once', async () => {
    const onA = watch(a, org, [inboxRoom(org.orgId)]);
    await waitFor(() => onA.socket.connected || undefined, 5_000, 'connect');
    await ingestThrough(a, [buildStageChanged({ leadId: 'lead-inbox', stage: 'qualified' })]);
    await new Promise((r) => setTimeout(r, 300)); // the join is acknowledged before it is used
    const user: SessionUser = { userId: second.userId, orgId: org.orgId, email: second.email, name: 'Second Manager', role: 'manager' };
    const result = await actOnLead(leadDepsFrom(b.ctx), user, 'lead-inbox', { action: 'claim' });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    publishLeadChange(b.ctx, org.orgId, result.rows, user.userId);
    const told = await waitFor(() => onA.seen.inbox.find((c) => c.byUserId === second.userId), 1_000, 'the claim on the other process’s inbox');
    expect(told.leadIds).toEqual(['lead-inbox']);
  });

  it('presence lists the people connected to either process', async () => {
    const onA = watch(a, org, []);
    watch(b, second, []);
    const both = await waitFor(
      () => onA.seen.presence.find((list) => [org.user.userId, second.userId].every((id) => list.some((v) => v.userId === id))),
      5_000,
      'both people in the presence list'
    );
    expect(both.length).toBeGreaterThanOrEqual(2);
  });

  it('an unmerge through one process makes every process forget the organisation’s identity graph', async () => {
    const forget = vi.spyOn(a.ctx.identity, 'forget');
    b.ctx.bus.identityForgotten(org.orgId);
    await waitFor(() => forget.mock.calls.some(([id]) => id === org.orgId) || undefined, 2_000, 'the other process told');
    forget.mockRestore();
  });

  it('counts sign-in attempts across processes: a guesser gets one budget, not one per process', async () => {
    const target = await seedUser(db.client, org.orgId, 'rep');
    const attempt = (node: Node) => signIn(node.ctx, { email: target.email, password: 'wrong password', address: '203.0.113.9' });
    const statuses: number[] = [];
    // Five per account (the default), alternating between the processes as a load balancer would.
    for (let i = 0; i < 6; i++) {
      const result = await attempt(i % 2 === 0 ? a : b);
      statuses.push(result.ok ? 200 : result.status);
    }
    expect(statuses).toEqual([400, 400, 400, 400, 400, 429]);
  });

  it('"Retrain now" on an app process starts the run on the trainer process, and the model page elsewhere shows it', async () => {
    // Alone, an app process has nobody to ask: the page says so rather than pretending.
    expect(await a.ctx.bus.modelCommand({ kind: 'retrain', orgId: org.orgId })).toBeNull();
    const modelDir = mkdtempSync(join(tmpdir(), 'pipewall-models-'));
    const trainer = await startNode('trainer', { MODEL_DIR: modelDir });
    try {
      await waitFor(() => trainer.ctx.isTrainer() || undefined, 5_000, 'the trainer lease');
      await waitFor(async () => (await a.io.of('/').adapter.serverCount()) >= 3 || undefined, 10_000, 'the trainer joined');
      const answer = await a.ctx.bus.modelCommand({ kind: 'retrain', orgId: org.orgId });
      if (answer?.kind !== 'retrain') throw new Error(`no run started: ${JSON.stringify(answer)}`);
      expect(trainer.ctx.models.trainer.currentRun(org.orgId)?.runId).toBe(answer.run.runId);
      // A trainer that loses its lease stops its runs (here at once, while the training child
      // starts): each ends as failed, saying why.
      trainer.ctx.models.trainer.halt('this process is no longer the active trainer');
      const page = await modelPageFor(b.ctx, org.orgId);
      expect(page.training?.runId).toBe(answer.run.runId);
      await trainer.ctx.models.trainer.settled(org.orgId);
      expect(trainer.ctx.models.trainer.currentRun(org.orgId)?.result).toEqual({
        versionId: null,
        decision: 'failed',
        reason: 'this process is no longer the active trainer'
      });
    } finally {
      await trainer.io.close();
      await trainer.ctx.close(); // stops the run
      rmSync(modelDir, { recursive: true, force: true });
    }
  });

  it('a process without the ingest role refuses events with a clear answer and stores nothing', async () => {
    const appOnly = await startNode('app');
    // Closed only once it has joined (a node closed within milliseconds of starting leaves the
    // adapter's pub/sub subscription to fail unhandled).
    await waitFor(async () => (await appOnly.io.of('/').adapter.serverCount()) >= 3 || undefined, 10_000, 'the third process joined');
    try {
      const event = buildMessage({ leadId: 'lead-refused' });
      const res = await handleIngest(appOnly.ctx, ingestRequest(org.apiKey, [event]));
      expect([res.status, ((await res.json()) as { error: string }).error]).toEqual([503, 'not_an_ingest_process']);
    } finally {
      await appOnly.io.close();
      await appOnly.ctx.close();
    }
  });

  it('live updates resume after Redis restarts, without losing what was sent while it was down', async () => {
    // Only B watches: the event committed on A reaches B's wall only through Redis.
    const onB = watch(b, org, [wallRoom(org.orgId)]);
    await waitFor(() => onB.seen.snapshot || undefined, 5_000, 'snapshot');
    const port = redis.port;
    await redis.stop();
    const during = buildStageChanged({ leadId: 'lead-during', summary: 'sent while Redis was down' });
    await ingestThrough(a, [during]);
    redis = await startLocalRedis({ dataDir: redisDir, port });
    await waitFor(() => onB.seen.ticker.find((t) => t.eventId === during.eventId), 15_000, 'the event sent during the outage');
    const after = buildStageChanged({ leadId: 'lead-after', summary: 'after the restart' });
    await ingestThrough(a, [after]);
    await waitFor(() => onB.seen.ticker.find((t) => t.eventId === after.eventId), 5_000, 'an event after the restart');
  });
});
