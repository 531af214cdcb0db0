import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { io as connect, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { userRoom, wallRoom, type AckResult, type ClientToServerEvents, type ServerToClientEvents } from '../../../src/lib/contracts/realtime';
import type { Viewer } from '../../../src/lib/contracts/presence';
import type { ExceptionsDelta, TickerItem, WallKpis, WallSnapshot } from '../../../src/lib/contracts/wall';
import type { AppContext } from '../../../src/lib/server/app-context';
import { handleIngest } from '../../../src/lib/server/ingest-endpoint';
import { attachRealtime, disconnectSessions } from '../../../src/lib/server/realtime/server';
import { createSession } from '../../../src/lib/server/auth/session';
import type { RealtimeServer } from '../../../src/lib/server/realtime/wall-fanout';
import { buildStageChanged } from '../../fixtures/events';
import { createTestContext, ingestRequest } from '../../helpers/app';
import { createTestDatabase, type TestDatabase } from '../../helpers/clickhouse';
import { seedOrganisation, seedUser, type SeededOrg } from '../../helpers/seed';
import { waitFor } from '../../helpers/wait';

type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

let db: TestDatabase;
let ctx: AppContext;
let http: HttpServer;
let io: RealtimeServer;
let url: string;
let orgA: SeededOrg;
let orgB: SeededOrg;
const sockets: ClientSocket[] = [];

beforeAll(async () => {
  db = await createTestDatabase('wall_socket_test');
  ctx = createTestContext(db);
  http = createServer();
  io = attachRealtime(http, ctx);
  await new Promise<void>((ok) => http.listen(0, '127.0.0.1', ok));
  url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  orgA = await seedOrganisation(db.client, 'Socket Org A');
  orgB = await seedOrganisation(db.client, 'Socket Org B');
});
afterAll(async () => {
  for (const s of sockets) s.close();
  await io.close();
  await ctx.close();
  await db.drop();
});

/** A watcher that records everything the server pushes to it; it asks for `room` once connected. */
function watch(headers: Record<string, string>, room?: string) {
  const socket: ClientSocket = connect(url, { transports: ['websocket'], extraHeaders: headers, reconnection: false });
  sockets.push(socket);
  const seen = { snapshots: [] as WallSnapshot[], ticker: [] as TickerItem[], kpis: [] as WallKpis[], error: undefined as Error | undefined };
  if (room) socket.on('connect', () => socket.emit('room:join', room, () => {}));
  socket.on('wall:snapshotted', (s) => seen.snapshots.push(s));
  socket.on('events:ingested', (items) => seen.ticker.push(...items));
  socket.on('kpis:computed', (kpis) => seen.kpis.push(kpis));
  socket.on('connect_error', (err) => (seen.error = err));
  return { socket, seen };
}
const cookie = (who: { sessionToken: string }) => ({ cookie: `pw_session=${who.sessionToken}` });

/** Connect, ask for `room`, and return the server's answer. */
async function join(who: { sessionToken: string }, room: unknown): Promise<AckResult> {
  const { socket } = watch(cookie(who));
  await waitFor(() => socket.connected, 5_000, 'connect');
  return socket.timeout(5_000).emitWithAck('room:join', room as string);
}

describe('wall socket', () => {
  it('sends a snapshot on connect, then committed events of its own organisation only', async () => {
    const a = watch(cookie(orgA), wallRoom(orgA.orgId));
    const b = watch(cookie(orgB), wallRoom(orgB.orgId));
    await waitFor(() => a.seen.snapshots.length > 0 && b.seen.snapshots.length > 0, 5_000, 'snapshots');

    const mine = buildStageChanged({ leadId: 'lead-a', stage: 'booked', summary: 'A booked' });
    const theirs = buildStageChanged({ leadId: 'lead-b', summary: 'B secret' });
    expect((await handleIngest(ctx, ingestRequest(orgB.apiKey, [theirs]))).status).toBe(200);
    expect((await handleIngest(ctx, ingestRequest(orgA.apiKey, [mine]))).status).toBe(200);

    await waitFor(() => a.seen.ticker.find((t) => t.eventId === mine.eventId), 2_000, 'A’s event on A’s socket');
    await waitFor(() => b.seen.ticker.find((t) => t.eventId === theirs.eventId), 2_000, 'B’s event on B’s socket');
    expect(a.seen.ticker.map((t) => t.summary)).not.toContain('B secret');
    expect(b.seen.ticker.map((t) => t.summary)).not.toContain('A booked');
  });

  it('pushes recomputed KPI tiles after events commit, counting only its own organisation', async () => {
    const a = watch(cookie(orgA), wallRoom(orgA.orgId));
    const before = (await waitFor(() => a.seen.snapshots[0], 5_000, 'snapshot')).kpis.newLeadsLastHour;
    const fresh = [buildStageChanged({ leadId: 'lead-kpi-1' }), buildStageChanged({ leadId: 'lead-kpi-2' })];
    expect((await handleIngest(ctx, ingestRequest(orgA.apiKey, fresh))).status).toBe(200);
    expect((await handleIngest(ctx, ingestRequest(orgB.apiKey, [buildStageChanged({ leadId: 'lead-kpi-b' })]))).status).toBe(200);
    const pushed = await waitFor(() => a.seen.kpis.find((k) => k.newLeadsLastHour === before + 2), 3_000, 'KPI push with the two new leads');
    expect(pushed.leadsInWindow).toBeGreaterThanOrEqual(2);
  });

  it('a reconnecting client gets a fresh snapshot that includes what it missed', async () => {
    const missed = buildStageChanged({ leadId: 'lead-missed', stage: 'won', summary: 'won while away' });
    expect((await handleIngest(ctx, ingestRequest(orgA.apiKey, [missed]))).status).toBe(200);
    const a = watch(cookie(orgA), wallRoom(orgA.orgId));
    const snapshot = await waitFor(() => a.seen.snapshots[0], 5_000, 'snapshot');
    expect(snapshot.ticker.map((t) => t.eventId)).toContain(missed.eventId);
    expect(snapshot.stageCounts.won).toBe(1);
  });

  it('refuses a handshake without a session, with a forged session, or from another site', async () => {
    const none = watch({});
    const forged = watch({ cookie: 'pw_session=aaaaaaaaaaaaaaaaaaaaaaaa.bbbbbbbbbbbbbbbbbbbbbbbb' });
    await waitFor(() => none.seen.error && forged.seen.error, 5_000, 'refusals');
    expect(none.seen.error?.message).toBe('unauthorized');
    expect(forged.seen.error?.message).toBe('unauthorized');

    const crossSite = watch({ ...cookie(orgA), origin: 'https://evil.example' }, wallRoom(orgA.orgId));
    await waitFor(() => crossSite.seen.error, 5_000, 'cross-site refusal');
    expect(crossSite.socket.connected).toBe(false);
    expect(crossSite.seen.snapshots).toEqual([]);
  });

  it('joins only rooms the session allows: another organisation, another user and forged names are not found', async () => {
    const rep = await seedUser(db.client, orgA.orgId, 'rep');
    expect(await join(orgA, wallRoom(orgA.orgId))).toEqual({ ok: true });
    expect(await join(orgA, userRoom(orgA.user.userId))).toEqual({ ok: true });
    expect(await join(orgA, wallRoom(orgB.orgId))).toEqual({ ok: false, code: 'not_found' });
    expect(await join(orgA, userRoom(orgB.user.userId))).toEqual({ ok: false, code: 'not_found' });
    expect(await join(orgA, userRoom(rep.userId))).toEqual({ ok: false, code: 'not_found' });
    for (const forged of ['org:' + orgA.orgId, 'wall:*', `wall:${orgA.orgId} `, '', 42, { room: 'x' }]) {
      expect(await join(orgA, forged)).toEqual({ ok: false, code: 'not_found' });
    }
    expect(await join(rep, wallRoom(orgA.orgId))).toEqual({ ok: false, code: 'forbidden' });
  });

  it('sends nothing of the wall to a socket that did not join it', async () => {
    const quiet = watch(cookie(orgA));
    await waitFor(() => quiet.socket.connected, 5_000, 'connect');
    const event = buildStageChanged({ summary: 'not for the quiet socket' });
    const watcher = watch(cookie(orgA), wallRoom(orgA.orgId));
    await waitFor(() => watcher.seen.snapshots.length > 0, 5_000, 'snapshot');
    expect((await handleIngest(ctx, ingestRequest(orgA.apiKey, [event]))).status).toBe(200);
    await waitFor(() => watcher.seen.ticker.find((t) => t.eventId === event.eventId), 2_000, 'event on the watcher');
    expect([quiet.seen.snapshots, quiet.seen.ticker]).toEqual([[], []]);
  });

  it('closes the sockets of an ended session, and of every session on "log out everywhere"', async () => {
    const user = await seedUser(db.client, orgA.orgId, 'manager');
    const { token: second } = await createSession(db.client, { orgId: orgA.orgId, userId: user.userId }, { ttlMs: 3_600_000 });
    const first = watch(cookie(user));
    const other = watch({ cookie: `pw_session=${second}` });
    await waitFor(() => first.socket.connected && other.socket.connected, 5_000, 'both connected');
    const firstSessionId = user.sessionToken.split('.')[0]!;

    expect(await disconnectSessions(io, user.userId, firstSessionId)).toBe(1);
    await waitFor(() => !first.socket.connected, 2_000, 'first socket closed');
    expect(other.socket.connected).toBe(true);

    expect(await disconnectSessions(io, user.userId)).toBe(1);
    await waitFor(() => !other.socket.connected, 2_000, 'second socket closed');
  });

  it('shares presence within the organisation: who is connected and which lead each tab shows', async () => {
    const maya = await seedUser(db.client, orgA.orgId, 'manager');
    const raj = await seedUser(db.client, orgA.orgId, 'rep');
    const outsider = await seedUser(db.client, orgB.orgId, 'manager');
    const lists = { maya: [] as Viewer[][], outsider: [] as Viewer[][] };
    const m = watch(cookie(maya));
    m.socket.on('presence:changed', (v) => lists.maya.push(v));
    const o = watch(cookie(outsider));
    o.socket.on('presence:changed', (v) => lists.outsider.push(v));
    const r = watch(cookie(raj));
    await waitFor(() => m.socket.connected && r.socket.connected && o.socket.connected, 5_000, 'connected');
    expect(await r.socket.timeout(5_000).emitWithAck('presence:viewing', { page: 'lead', leadId: 'lead-42' })).toEqual({ ok: true });
    expect(await r.socket.timeout(5_000).emitWithAck('presence:viewing', { page: 'lead', leadId: 'not an id' } as never)).toEqual({
      ok: false,
      code: 'bad_request'
    });

    const seen = await waitFor(
      () => lists.maya.at(-1)?.find((v) => v.userId === raj.userId && v.views.some((view) => view.page === 'lead' && view.leadId === 'lead-42')),
      2_000,
      'Raj on lead-42 in Maya’s presence list'
    );
    expect(seen.role).toBe('rep');
    expect(lists.maya.at(-1)?.map((v) => v.userId)).toContain(maya.userId);
    // Organisation B sees its own people only.
    await waitFor(() => lists.outsider.length > 0, 2_000, 'outsider presence');
    const outsiderSees = lists.outsider.flat().map((v) => v.userId);
    expect(outsiderSees).toContain(outsider.userId);
    expect(outsiderSees).not.toContain(raj.userId);
    expect(outsiderSees).not.toContain(maya.userId);

    // Leaving is seen too.
    r.socket.close();
    await waitFor(() => lists.maya.at(-1) && !lists.maya.at(-1)?.some((v) => v.userId === raj.userId), 2_000, 'Raj gone');
  });

  it('raises an exception to every watcher, and a claim by one is pushed to the other; outsiders and read-only roles are refused', async () => {
    const org = await seedOrganisation(db.client, 'Exceptions Org');
    const second = await seedUser(db.client, org.orgId, 'manager');
    const revops = await seedUser(db.client, org.orgId, 'revops');
    const deltas: ExceptionsDelta[] = [];
    const first = watch(cookie(org), wallRoom(org.orgId));
    const other = watch(cookie(second), wallRoom(org.orgId));
    other.socket.on('exceptions:changed', (d) => deltas.push(d));
    await waitFor(() => first.seen.snapshots.length > 0 && other.seen.snapshots.length > 0, 5_000, 'snapshots');

    // Qualified two days ago, and the customer never wrote since: silent after qualification.
    const twoDaysAgo = new Date(Date.now() - 48 * 3_600_000).toISOString();
    const qualified = buildStageChanged({ leadId: 'lead-quiet', stage: 'qualified', occurredAt: twoDaysAgo });
    expect((await handleIngest(ctx, ingestRequest(org.apiKey, [qualified]))).status).toBe(200);
    const raised = await waitFor(
      () => deltas.flatMap((d) => d.raised).find((e) => e.leadId === 'lead-quiet' && e.kind === 'silent_after_qualification'),
      5_000,
      'the silent exception raised on the other watcher'
    );
    expect(raised.evidence.eventId).toBe(qualified.eventId);

    const claim = { exceptionId: raised.id, leadId: raised.leadId, action: { action: 'claim' as const } };
    const intruder = watch(cookie(orgB));
    const readOnly = watch(cookie(revops));
    await waitFor(() => intruder.socket.connected && readOnly.socket.connected, 5_000, 'connected');
    expect(await intruder.socket.timeout(5_000).emitWithAck('exception:act', claim)).toEqual({ ok: false, code: 'not_found' });
    expect(await readOnly.socket.timeout(5_000).emitWithAck('exception:act', claim)).toEqual({ ok: false, code: 'forbidden' });
    expect(await first.socket.timeout(5_000).emitWithAck('exception:act', { ...claim, leadId: 'lead-other' })).toEqual({ ok: false, code: 'not_found' });

    const started = Date.now();
    expect(await first.socket.timeout(5_000).emitWithAck('exception:act', claim)).toEqual({ ok: true });
    const changed = await waitFor(() => deltas.flatMap((d) => d.changed).find((e) => e.id === raised.id && e.claimed), 1_000, 'the claim on the other watcher within 1 s');
    expect(changed.claimed?.userId).toBe(org.user.userId);
    expect(Date.now() - started).toBeLessThan(1_000);
    // The claim is a human event in the ledger, on the lead, by that person.
    const ticker = await waitFor(() => other.seen.ticker.find((t) => t.type === 'exception_claimed'), 2_000, 'claim in the ticker');
    expect([ticker.leadId, ticker.actor]).toEqual(['lead-quiet', `human:${org.user.userId}`]);

    // An inbound message clears it for everyone.
    const reply = { type: 'message', eventId: `reply-${Date.now()}`, leadId: 'lead-quiet', occurredAt: new Date().toISOString(), channel: 'whatsapp', direction: 'inbound', text: 'Still interested!' };
    expect((await handleIngest(ctx, ingestRequest(org.apiKey, [reply]))).status).toBe(200);
    await waitFor(() => deltas.some((d) => d.cleared.includes(raised.id)), 5_000, 'cleared after the reply');
  });

  it('serves a crowd of joins with shared snapshot rounds, each joiner getting one', async () => {
    const org = await seedOrganisation(db.client, 'Crowd Org');
    // Connected first, then all ask at once, as screens do when a restarted server comes back.
    const crowd = Array.from({ length: 20 }, () => watch(cookie(org)));
    await waitFor(() => crowd.every((c) => c.socket.connected), 10_000, 'all connected');
    const before = ctx.fanout.stats().snapshotsComputed;
    for (const c of crowd) c.socket.emit('room:join', wallRoom(org.orgId), () => {});
    await waitFor(() => crowd.every((c) => c.seen.snapshots.length > 0), 10_000, 'a snapshot on every socket');
    // The first join starts a round at once; everyone who joins while it runs shares the next.
    const computed = ctx.fanout.stats().snapshotsComputed - before;
    expect(computed).toBeGreaterThanOrEqual(1);
    expect(computed).toBeLessThanOrEqual(3);
  });
});
