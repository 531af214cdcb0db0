import { readFileSync } from 'node:fs';
import { expect, request as requests, test, type APIRequestContext } from '@playwright/test';
import { io as connect } from 'socket.io-client';
import type { AckResult } from '../../src/lib/contracts/realtime';
import { createSession, invalidateSession } from '../../src/lib/server/auth/session';
import { createClickHouse } from '../../src/lib/server/db/clickhouse';
import { humanEventRow, insertEventRows } from '../../src/lib/server/db/queries/events';
import { buildStageChanged } from '../fixtures/events';
import { E2E_DATABASE, E2E_PORT } from '../helpers/e2e-env';
import { seedOrganisation, seedUser, type SeededOrg, type SeededUser } from '../helpers/seed';

/**
 * Walks the README's access table: every row (a route or socket event) for every column (who
 * asks), against the running server. The README is the spec; this test makes it true.
 */
const BASE = `http://127.0.0.1:${E2E_PORT}`;
const EVIL = 'https://evil.example';
const subjects = ['anonymous', 'expired', 'revoked', 'forged', 'manager', 'revops', 'rep', 'admin', 'other org'] as const;
/** Askers that must learn nothing of organisation A. */
const outsiders: readonly Subject[] = ['anonymous', 'expired', 'revoked', 'forged', 'other org'];
type Subject = (typeof subjects)[number];

function readMatrix(): { request: string; expected: Record<Subject, string> }[] {
  const readme = readFileSync('README.md', 'utf8');
  const block = /<!-- access-matrix:start -->([\s\S]*?)<!-- access-matrix:end -->/.exec(readme)?.[1];
  if (!block) throw new Error('README.md has no access-matrix block');
  const rows = block.trim().split('\n').slice(2);
  return rows.map((line) => {
    const cells = line.split('|').slice(1, -1).map((c) => c.trim());
    if (cells.length !== subjects.length + 1) throw new Error(`bad access-matrix row: ${line}`);
    const expected = Object.fromEntries(subjects.map((s, i) => [s, cells[i + 1]!])) as Record<Subject, string>;
    return { request: cells[0]!, expected };
  });
}

const clickhouse = createClickHouse({ url: process.env.CLICKHOUSE_URL ?? '', database: E2E_DATABASE });
test.afterAll(() => clickhouse.close());

interface World {
  orgA: SeededOrg;
  orgB: SeededOrg;
  users: Record<'manager' | 'revops' | 'rep' | 'admin', SeededUser>;
  otherUser: SeededUser;
  ownLead: string;
  otherLead: string;
  /** Nobody's: in the shared queue every rep may work. */
  sharedLead: string;
}

async function buildWorld(request: APIRequestContext): Promise<World> {
  const orgA = await seedOrganisation(clickhouse, `Matrix Org A ${Date.now()}`, 'manager');
  const orgB = await seedOrganisation(clickhouse, 'Matrix Org B', 'manager');
  const users = {
    manager: orgA.user,
    revops: await seedUser(clickhouse, orgA.orgId, 'revops'),
    rep: await seedUser(clickhouse, orgA.orgId, 'rep'),
    admin: await seedUser(clickhouse, orgA.orgId, 'admin')
  };
  const otherRep = await seedUser(clickhouse, orgA.orgId, 'rep');
  const otherUser = await seedUser(clickhouse, orgA.orgId, 'rep');
  const suffix = orgA.orgId.slice(4);
  const ownLead = `lead-own-${suffix}`;
  const otherLead = `lead-other-${suffix}`;
  const sharedLead = `lead-shared-${suffix}`;
  const res = await request.post(`${BASE}/api/v1/events`, {
    headers: { authorization: `Bearer ${orgA.apiKey}` },
    data: [buildStageChanged({ leadId: ownLead }), buildStageChanged({ leadId: otherLead }), buildStageChanged({ leadId: sharedLead })]
  });
  expect(res.status()).toBe(200);
  await insertEventRows(
    clickhouse,
    [
      [ownLead, users.rep.userId],
      [otherLead, otherRep.userId]
    ].map(([leadId, ownerId], i) =>
      humanEventRow({
        orgId: orgA.orgId,
        eventId: `assign-${suffix}-${i}`,
        leadId: leadId!,
        type: 'lead_assigned',
        userId: orgA.user.userId,
        summary: 'assigned for the access test',
        properties: { ownerId: ownerId! },
        at: Date.now()
      })
    )
  );
  return { orgA, orgB, users, otherUser, ownLead, otherLead, sharedLead };
}

/** A fresh session per cell, so a cell that logs out (everywhere) cannot change another. */
async function sessionFor(world: World, subject: Subject): Promise<{ token: string | null; userId: string }> {
  if (subject === 'anonymous') return { token: null, userId: 'nobody' };
  if (subject === 'forged') return { token: 'aaaaaaaaaaaaaaaaaaaaaaaa.bbbbbbbbbbbbbbbbbbbbbbbb', userId: 'nobody' };
  const manager = { orgId: world.orgA.orgId, userId: world.users.manager.userId };
  if (subject === 'expired') {
    // Created two hours ago with a one-hour life.
    const { token } = await createSession(clickhouse, manager, { ttlMs: 3_600_000 }, Date.now() - 7_200_000);
    return { token, userId: 'nobody' };
  }
  if (subject === 'revoked') {
    const { token, session } = await createSession(clickhouse, manager, { ttlMs: 600_000 });
    await invalidateSession(clickhouse, session);
    return { token, userId: 'nobody' };
  }
  const [orgId, userId] =
    subject === 'other org' ? [world.orgB.orgId, world.orgB.user.userId] : [world.orgA.orgId, world.users[subject].userId];
  const { token } = await createSession(clickhouse, { orgId, userId }, { ttlMs: 600_000 });
  return { token, userId };
}

function fill(template: string, world: World, self: string): string {
  return template
    .replaceAll('{ownLead}', world.ownLead)
    .replaceAll('{otherLead}', world.otherLead)
    .replaceAll('{sharedLead}', world.sharedLead)
    .replaceAll('{org}', world.orgA.orgId)
    .replaceAll('{self}', self)
    .replaceAll('{otherUser}', world.otherUser.userId);
}

/** A client-to-server socket message with an acknowledgement. */
interface SocketAsk {
  event: 'room:join' | 'presence:viewing' | 'exception:act';
  payload: unknown;
}

/** What a socket row of the table sends: `room:join <room>`, `presence:viewing`, `exception:act`. */
function socketAsk(spec: string, world: World): SocketAsk | undefined {
  const room = /room:join (\S+)`?/.exec(spec)?.[1]?.replace(/`$/, '');
  if (room) return { event: 'room:join', payload: room };
  if (spec.includes('`presence:viewing')) return { event: 'presence:viewing', payload: { page: 'lead', leadId: world.ownLead } };
  if (spec.includes('`exception:act')) {
    // No such exception is open anywhere: only the answer's kind (not_found vs forbidden) differs.
    return { event: 'exception:act', payload: { exceptionId: 'exc-000000000000000000000000', leadId: world.ownLead, action: { action: 'claim' } } };
  }
  return undefined;
}

/** Connect a socket as the subject and, if asked, send one message; the outcome in the table's words. */
async function socketOutcome(token: string | null, origin: string | undefined, ask: SocketAsk | undefined): Promise<{ outcome: string; frames: string }> {
  const headers: Record<string, string> = {};
  if (token) headers.cookie = `pw_session=${token}`;
  if (origin) headers.origin = origin;
  const socket = connect(BASE, { transports: ['websocket'], extraHeaders: headers, reconnection: false, timeout: 5_000 });
  const frames: string[] = [];
  socket.onAny((_event: string, ...args: unknown[]) => frames.push(JSON.stringify(args)));
  try {
    const connected = await new Promise<boolean>((done) => {
      socket.once('connect', () => done(true));
      socket.once('connect_error', () => done(false));
    });
    if (!connected) return { outcome: 'refused', frames: frames.join('\n') };
    if (!ask) return { outcome: 'ok', frames: frames.join('\n') };
    const result = (await socket.timeout(5_000).emitWithAck(ask.event, ask.payload)) as AckResult;
    return { outcome: result.ok ? 'ok' : result.code, frames: frames.join('\n') };
  } finally {
    socket.close();
  }
}

/**
 * A valid body for each JSON endpoint, so a cell shows the access decision rather than a 400.
 * Each one is safe to repeat: none changes who owns a lead, which other cells depend on.
 */
function jsonBodyFor(path: string, world: World): unknown {
  const leadId = /\/leads\/([^/]+)\//.exec(path)?.[1] ?? world.ownLead;
  if (path.endsWith('/actions')) return { action: 'review' };
  if (path.endsWith('/notes')) return { text: 'A note from the access test' };
  if (path.endsWith('/corrections')) return { kind: 'intent', intent: `matrix intent ${Math.random().toString(36).slice(2)}` };
  if (path === '/api/v1/ask') return { text: 'deals over 50k with no activity in 14 days' };
  if (path === '/api/v1/follow-ups/drafts') return { leadIds: [world.ownLead] };
  if (path === '/api/v1/follow-ups/approve') {
    return { leadId, channel: 'whatsapp', language: 'en', text: 'Hello!', draftText: 'Hello!', confidence: 0.8, source: 'template' };
  }
  return [buildStageChanged()];
}

async function httpOutcome(request: APIRequestContext, spec: string, token: string | null, world: World): Promise<{ outcome: string; body: string }> {
  const m = /^`(GET|POST) ([^`]+)`(.*)$/.exec(spec);
  if (!m) throw new Error(`cannot read request "${spec}"`);
  const [, method, path, rest] = m as unknown as [string, 'GET' | 'POST', string, string];
  const headers: Record<string, string> = { origin: rest.includes('another origin') ? EVIL : BASE, accept: 'text/html' };
  if (token) headers.cookie = `pw_session=${token}`;
  if (path.startsWith('/api/')) headers.accept = 'application/json';
  const form: Record<string, string> = {
    ownerId: world.users.rep.userId,
    name: 'Matrix Person',
    email: `matrix-${Math.random().toString(36).slice(2)}@example.test`,
    role: 'rep',
    userId: world.otherUser.userId,
    password: 'whatever'
  };
  const res =
    method === 'GET'
      ? await request.get(`${BASE}${path}`, { headers, maxRedirects: 0 })
      : path.startsWith('/api/')
        ? await request.post(`${BASE}${path}`, { headers, data: jsonBodyFor(path, world), maxRedirects: 0 })
        : await request.post(`${BASE}${path}`, { headers, form, maxRedirects: 0 });
  const status = res.status();
  const location = res.headers()['location'];
  return { outcome: status === 303 && location ? `303 ${location}` : String(status), body: await res.text() };
}

test('every cell of the README access table holds against the running server', async ({ request }) => {
  test.setTimeout(120_000);
  const matrix = readMatrix();
  const world = await buildWorld(request);
  const secretsOfA = [world.orgA.name, world.ownLead, world.otherLead, ...Object.values(world.users).map((u) => u.userId)];
  const failures: string[] = [];
  let cells = 0;
  for (const row of matrix) {
    for (const subject of subjects) {
      const { token, userId } = await sessionFor(world, subject);
      const spec = fill(row.request, world, userId);
      let outcome: string;
      let leaked: string;
      if (spec.startsWith('socket')) {
        const r = await socketOutcome(token, spec.includes('another origin') ? EVIL : undefined, socketAsk(spec, world));
        [outcome, leaked] = [r.outcome, r.frames];
      } else {
        // A fresh context per cell: a shared one keeps cookies from earlier answers in its jar.
        const fresh = await requests.newContext();
        try {
          const r = await httpOutcome(fresh, spec, token, world);
          [outcome, leaked] = [r.outcome, r.body];
        } finally {
          await fresh.dispose();
        }
      }
      cells++;
      const expected = row.expected[subject];
      if (outcome !== expected) failures.push(`${row.request} as ${subject}: expected ${expected}, got ${outcome}`);
      if (outsiders.includes(subject)) {
        for (const secret of secretsOfA) {
          if (leaked.includes(secret)) failures.push(`${row.request} as ${subject}: response contains "${secret}"`);
        }
      }
    }
  }
  console.log(`access matrix: ${cells} cells checked (${matrix.length} requests × ${subjects.length} askers)`);
  expect(failures).toEqual([]);
});
