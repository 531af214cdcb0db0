import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SessionUser } from '../../../src/lib/contracts/auth';
import type { ApproveFollowUp, OutboundFollowUp } from '../../../src/lib/contracts/follow-ups';
import type { ClickHouseClient } from '../../../src/lib/server/db/clickhouse';
import { insertEventRows, toEventRow } from '../../../src/lib/server/db/queries/events';
import { deliveryStates, followUpApprovedRow } from '../../../src/lib/server/db/queries/follow-ups';
import { findUser } from '../../../src/lib/server/db/queries/identity';
import { leadTimeline } from '../../../src/lib/server/db/queries/leads';
import { approveFollowUp } from '../../../src/lib/server/follow-ups/approve';
import { createOutbound, type Outbound, type OutboundOptions } from '../../../src/lib/server/follow-ups/outbound';
import { createLogger } from '../../../src/lib/server/log';
import { buildStageChanged } from '../../fixtures/events';
import { createTestDatabase, type TestDatabase } from '../../helpers/clickhouse';
import { seedOrganisation, seedUser } from '../../helpers/seed';
import { waitFor } from '../../helpers/wait';

const SECRET = 'outbound-test-secret-0123456789';
const log = createLogger('silent');

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  status: number;
}

/** A loopback webhook receiver; `respond` picks each answer's status (1-based request count). */
let server: Server;
let receiverUrl: string;
let received: Received[] = [];
let respond: (count: number) => number = () => 200;

let db: TestDatabase;
let orgId: string;
let ana: SessionUser;
let revops: SessionUser;
let outbounds: Outbound[] = [];

function outbound(options: Partial<OutboundOptions> = {}): Outbound {
  const o = createOutbound({ clickhouse: db.client, log, url: receiverUrl, secret: SECRET, retryDelaysMs: [5, 5], ...options });
  outbounds.push(o);
  return o;
}

async function sessionUser(userId: string): Promise<SessionUser> {
  const u = await findUser(db.client, orgId, userId);
  if (!u) throw new Error(`no user ${userId}`);
  return { userId: u.userId, orgId: u.orgId, email: u.email, name: u.name, role: u.role };
}

let n = 0;
async function lead(org = orgId): Promise<string> {
  const leadId = `fu-lead-${++n}`;
  await insertEventRows(db.client, [toEventRow(buildStageChanged({ leadId, stage: 'qualified', occurredAt: new Date(Date.now() - 60_000).toISOString() }), org, Date.now())]);
  return leadId;
}

const approval = (leadId: string, overrides: Partial<ApproveFollowUp> = {}): ApproveFollowUp => ({
  leadId,
  channel: 'whatsapp',
  language: 'es',
  text: 'Hola Marta, ¿te viene bien el jueves a las 10:00? "Sin compromiso"',
  draftText: 'Hola Marta, ¿te viene bien el jueves?',
  confidence: 0.72,
  source: 'template',
  ...overrides
});

const forApproval = (approvalId: string) => received.filter((r) => r.headers['x-pipewall-approval-id'] === approvalId);
const forLead = (leadId: string) => received.filter((r) => (JSON.parse(r.body) as OutboundFollowUp).leadId === leadId);

async function stateOf(leadId: string, approvalId: string) {
  return (await deliveryStates(db.client, orgId, leadId)).get(approvalId);
}

async function typesOf(leadId: string) {
  return (await leadTimeline(db.client, orgId, leadId)).map((e) => e.type);
}

beforeAll(async () => {
  db = await createTestDatabase('outbound_test');
  const org = await seedOrganisation(db.client, 'Outbound Org', 'rep');
  orgId = org.orgId;
  ana = await sessionUser(org.user.userId);
  revops = await sessionUser((await seedUser(db.client, orgId, 'revops')).userId);
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const status = respond(received.length + 1);
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), status });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  receiverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/follow-ups`;
});

afterEach(() => {
  for (const o of outbounds) o.stop();
  outbounds = [];
  received = [];
  respond = () => 200;
});

afterAll(async () => {
  await new Promise((ok) => server.close(ok));
  await db.drop();
});

describe('approving and delivering a follow-up', () => {
  it('records the approval, then POSTs exactly the approved text, signed, and records it as sent', async () => {
    const leadId = await lead();
    const out = outbound();
    const result = await approveFollowUp({ clickhouse: db.client, outbound: out }, ana, approval(leadId, { channel: 'email', subject: 'Tu cita' }));
    if (!result.ok) throw new Error(result.message);
    expect(result.delivery).toBe('pending');
    expect(result.rows).toEqual([expect.objectContaining({ type: 'follow_up_approved', lead_id: leadId, actor: `human:${ana.userId}` })]);
    expect(JSON.parse(String(result.rows[0]?.properties))).toEqual({
      approvalId: result.approvalId,
      channel: 'email',
      language: 'es',
      subject: 'Tu cita',
      text: approval(leadId).text,
      draftText: approval(leadId).draftText,
      edited: 'true',
      confidence: 0.72,
      source: 'template',
      delivery: 'pending'
    });

    await out.idle();
    const [delivery, ...more] = received;
    expect(more).toEqual([]);
    expect(delivery?.headers['x-pipewall-approval-id']).toBe(result.approvalId);
    expect(delivery?.headers['content-type']).toBe('application/json');
    const expectedSignature = `sha256=${createHmac('sha256', SECRET).update(delivery?.body ?? '').digest('hex')}`;
    expect(delivery?.headers['x-pipewall-signature']).toBe(expectedSignature);
    expect(JSON.parse(delivery?.body ?? '')).toEqual({
      approvalId: result.approvalId,
      orgId,
      leadId,
      channel: 'email',
      language: 'es',
      subject: 'Tu cita',
      text: 'Hola Marta, ¿te viene bien el jueves a las 10:00? "Sin compromiso"',
      approvedBy: { userId: ana.userId, name: ana.name },
      approvedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/)
    } satisfies Record<keyof OutboundFollowUp, unknown>);
    expect(await stateOf(leadId, result.approvalId)).toBe('sent');
    expect(await typesOf(leadId)).toEqual(['stage_changed', 'follow_up_approved', 'follow_up_sent']);
  });

  it('retries a failing receiver and delivers once it answers 2xx', async () => {
    const leadId = await lead();
    respond = (count) => (count <= 2 ? 500 : 200);
    const recorded: string[] = [];
    const out = outbound({ retryDelaysMs: [5, 5, 5], onRecorded: (rows) => recorded.push(...rows.map((r) => String(r.type))) });
    const result = await approveFollowUp({ clickhouse: db.client, outbound: out }, ana, approval(leadId));
    if (!result.ok) throw new Error(result.message);
    await out.idle();
    expect(received.map((r) => r.status)).toEqual([500, 500, 200]);
    expect(new Set(received.map((r) => r.body)).size).toBe(1);
    expect(recorded).toEqual(['follow_up_sent']);
    expect(await stateOf(leadId, result.approvalId)).toBe('sent');
  });

  it('records follow_up_failed after the last retry when the receiver keeps failing', async () => {
    const leadId = await lead();
    respond = () => 500;
    const out = outbound({ retryDelaysMs: [2, 2] });
    const result = await approveFollowUp({ clickhouse: db.client, outbound: out }, ana, approval(leadId));
    if (!result.ok) throw new Error(result.message);
    await out.idle();
    expect(received).toHaveLength(3);
    expect(await stateOf(leadId, result.approvalId)).toBe('failed');
    const failed = (await leadTimeline(db.client, orgId, leadId)).find((e) => e.type === 'follow_up_failed');
    expect(failed).toMatchObject({ actor: 'system', summary: 'Follow-up not delivered after 3 attempts: HTTP 500' });
  });

  it('without a webhook the approval is recorded as not configured and nothing else happens, now or at the next start', async () => {
    const leadId = await lead();
    const out = outbound({ url: undefined });
    const result = await approveFollowUp({ clickhouse: db.client, outbound: out }, ana, approval(leadId, { text: 'Hola Marta, ¿te viene bien el jueves?' }));
    expect(result).toMatchObject({ ok: true, delivery: 'not_configured' });
    if (!result.ok) return;
    expect(JSON.parse(String(result.rows[0]?.properties))).toMatchObject({ edited: 'false', delivery: 'not_configured' });
    expect(await out.resumePending()).toBe(0);
    expect(await stateOf(leadId, result.approvalId)).toBe('not_configured');
    // A webhook configured later does not send a follow-up approved days ago without one.
    const later = outbound();
    await later.resumePending();
    await later.idle();
    expect(forLead(leadId)).toEqual([]);
    expect(await typesOf(leadId)).toEqual(['stage_changed', 'follow_up_approved']);
  });
});

describe('crash safety', () => {
  it('delivers, once, an approval recorded before a crash stopped its delivery', async () => {
    const leadId = await lead();
    const approvalId = `fu-crash-${++n}`;
    // The approval committed, then the process died before handing it to the deliverer.
    await insertEventRows(db.client, [
      followUpApprovedRow({
        ...approval(leadId),
        orgId,
        userId: ana.userId,
        userName: ana.name,
        approvalId,
        outboundConfigured: true,
        at: Date.now() - 60_000
      })
    ]);
    expect(await stateOf(leadId, approvalId)).toBe('pending');

    const restarted = outbound();
    expect(await restarted.resumePending()).toBeGreaterThanOrEqual(1);
    await restarted.idle();
    expect(forApproval(approvalId)).toHaveLength(1);
    expect(JSON.parse(forApproval(approvalId)[0]?.body ?? '')).toMatchObject({ approvalId, leadId, text: approval(leadId).text, approvedBy: { userId: ana.userId, name: ana.name } });
    expect(await stateOf(leadId, approvalId)).toBe('sent');

    // Another start finds nothing left to deliver.
    const again = outbound();
    await again.resumePending();
    await again.idle();
    expect(forApproval(approvalId)).toHaveLength(1);
  });

  it('stop() cancels a delivery waiting to retry; the next start delivers it', async () => {
    const leadId = await lead();
    respond = () => 503;
    const out = outbound({ retryDelaysMs: [60_000] });
    const result = await approveFollowUp({ clickhouse: db.client, outbound: out }, ana, approval(leadId));
    if (!result.ok) throw new Error(result.message);
    await waitFor(() => received.length === 1, 5_000, 'the first attempt');
    out.stop();
    await out.idle();
    expect(await stateOf(leadId, result.approvalId)).toBe('pending');

    respond = () => 200;
    const next = outbound();
    await next.resumePending();
    await next.idle();
    expect(forApproval(result.approvalId).map((r) => r.status)).toEqual([503, 200]);
    expect(await stateOf(leadId, result.approvalId)).toBe('sent');
  });
});

describe('nothing is sent without an approval row', () => {
  it('sends nothing for a lead with no approval, a refused approval, or an approval whose write failed', async () => {
    const leadId = await lead();
    const out = outbound();
    await out.resumePending();

    expect(await approveFollowUp({ clickhouse: db.client, outbound: out }, revops, approval(leadId))).toMatchObject({ ok: false, status: 403 });
    const foreignOrg = (await seedOrganisation(db.client, 'Foreign Org')).orgId;
    expect(await approveFollowUp({ clickhouse: db.client, outbound: out }, ana, approval(await lead(foreignOrg)))).toMatchObject({ ok: false, status: 404 });

    // ClickHouse refuses the approval row: the person is told it failed and nothing is POSTed.
    const failingInsert = new Proxy(db.client, {
      get(target, prop) {
        if (prop === 'insert') return () => Promise.reject(new Error('insert refused'));
        const value: unknown = Reflect.get(target, prop, target);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      }
    }) as ClickHouseClient;
    await expect(approveFollowUp({ clickhouse: failingInsert, outbound: out }, ana, approval(leadId))).rejects.toThrow('insert refused');

    await out.idle();
    expect(forLead(leadId)).toEqual([]);
    expect(await typesOf(leadId)).toEqual(['stage_changed']);
    expect(await deliveryStates(db.client, orgId, leadId)).toEqual(new Map());
  });
});
