import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionUser } from '../../../src/lib/contracts/auth';
import type { AgentEvent } from '../../../src/lib/contracts/events';
import { inboxRequestSchema, type InboxRequest } from '../../../src/lib/contracts/inbox';
import type { AppContext } from '../../../src/lib/server/app-context';
import { humanEventRow, insertEventRows, toEventRow } from '../../../src/lib/server/db/queries/events';
import { saveUser } from '../../../src/lib/server/db/queries/identity';
import { insertLeadScores } from '../../../src/lib/server/db/queries/models';
import { buildInbox } from '../../../src/lib/server/inbox';
import { createOrgFactsCache } from '../../../src/lib/server/inbox-facts';
import { createTestContext } from '../../helpers/app';
import { createTestDatabase, type TestDatabase } from '../../helpers/clickhouse';

/**
 * A hand-built ledger with hand-computed answers. Open leads carry no deal value of their own, so
 * their value is the median won deal of their intent: implants (60k, 80k) → 60k (the lower middle,
 * as leadValuesQuery takes it); whitening (500) → 500.
 */
const DAY = 86_400_000;
const NOW = Date.parse('2026-06-30T12:00:00Z');
const ago = (days: number) => new Date(NOW - days * DAY).toISOString();
const ORG = 'org-inbox';
const OTHER = 'org-other';

const ana: SessionUser = { userId: 'u-ana', orgId: ORG, email: 'ana@x.test', name: 'Ana Lima', role: 'rep' };
const bea: SessionUser = { userId: 'u-bea', orgId: ORG, email: 'bea@x.test', name: 'Bea Costa', role: 'rep' };
const max: SessionUser = { userId: 'u-max', orgId: ORG, email: 'max@x.test', name: 'Max Weber', role: 'manager' };

let db: TestDatabase;
let ctx: AppContext;

const qualified = (leadId: string, daysAgo: number, intent: string, n = 0): AgentEvent => ({
  type: 'lead_qualified', eventId: `${leadId}-q${n}`, leadId, occurredAt: ago(daysAgo), intent, confidence: 0.9, summary: `Wants ${intent}`
});
const stage = (leadId: string, daysAgo: number, s: 'enquired' | 'qualified' | 'lost'): AgentEvent => ({
  type: 'stage_changed', eventId: `${leadId}-s-${s}`, leadId, occurredAt: ago(daysAgo), stage: s
});
const inbound = (leadId: string, daysAgo: number, n = 0): AgentEvent => ({
  type: 'message', eventId: `${leadId}-m${n}`, leadId, occurredAt: ago(daysAgo), channel: 'whatsapp', direction: 'inbound', text: 'Hello?'
});
const won = (leadId: string, daysAgo: number, intent: string, value: number): AgentEvent[] => [
  qualified(leadId, daysAgo + 1, intent),
  { type: 'deal_won', eventId: `${leadId}-won`, leadId, occurredAt: ago(daysAgo), value, currency: 'EUR' }
];
const human = (leadId: string, type: string, user: SessionUser, daysAgo: number, properties: Record<string, string | number>) =>
  humanEventRow({ orgId: ORG, eventId: `${leadId}-${type}-${daysAgo}`, leadId, type, userId: user.userId, summary: type, properties, at: NOW - daysAgo * DAY });

async function ingest(orgId: string, events: AgentEvent[]) {
  await insertEventRows(db.client, events.map((e) => toEventRow(e, orgId, NOW)));
}

const ask = async (user: SessionUser, request: Partial<InboxRequest>) => {
  const result = await buildInbox(ctx, user, inboxRequestSchema.parse(request), NOW);
  if (!result.ok) throw new Error(result.message);
  return result;
};
const ids = async (user: SessionUser, request: Partial<InboxRequest>) => (await ask(user, request)).items.map((i) => i.leadId);

beforeAll(async () => {
  db = await createTestDatabase('inbox_test');
  ctx = createTestContext(db, { MODEL_SCORING: 'off' });
  for (const u of [ana, bea, max]) await saveUser(db.client, { ...u, passwordHash: 'x', active: true });
  await ingest(ORG, [
    ...won('w1', 40, 'implants', 60_000),
    ...won('w2', 41, 'implants', 80_000),
    ...won('w3', 42, 'whitening', 500),
    // L1: unowned, silent for 20 days after qualification.
    stage('l1', 20, 'qualified'), qualified('l1', 20, 'implants'),
    // L2: recent.
    stage('l2', 3, 'qualified'), qualified('l2', 3, 'implants'),
    // L3: inactive but a small deal.
    stage('l3', 20, 'qualified'), qualified('l3', 20, 'whitening'),
    // L4: Bea's, inactive, older than L1.
    stage('l4', 25, 'qualified'), qualified('l4', 25, 'implants'),
    // L5: Ana's, inactive 30 days; a note from yesterday is not activity.
    stage('l5', 30, 'qualified'), qualified('l5', 30, 'implants'),
    // L7: lost.
    stage('l7', 21, 'qualified'), qualified('l7', 21, 'implants'), stage('l7', 20, 'lost'),
    // L8: inactive, snoozed until tomorrow.
    stage('l8', 20, 'qualified'), qualified('l8', 20, 'implants'),
    // L9: a fresh enquiry that replied yesterday, scored high: nothing for a person to do.
    stage('l9', 2, 'enquired'), inbound('l9', 1)
  ]);
  await ingest(OTHER, [stage('l6', 20, 'qualified'), qualified('l6', 20, 'implants')]);
  await insertEventRows(db.client, [
    human('l4', 'lead_assigned', max, 24, { ownerId: bea.userId }),
    human('l5', 'lead_assigned', max, 29, { ownerId: ana.userId }),
    human('l5', 'note_added', ana, 1, { text: 'Called, no answer' }),
    human('l8', 'lead_snoozed', ana, 1, { until: NOW + DAY })
  ]);
  await insertLeadScores(db.client, ORG, [
    { leadId: 'l5', scoredAt: NOW - 2 * DAY, versionId: 'v1', score: 0.35, channel: 'whatsapp', reasons: [] },
    { leadId: 'l5', scoredAt: NOW - DAY, versionId: 'v1', score: 0.2, channel: 'whatsapp', reasons: [{ text: 'Silent since qualification', direction: 'down', weight: 1 }] },
    { leadId: 'l9', scoredAt: NOW - DAY, versionId: 'v1', score: 0.9, channel: 'whatsapp', reasons: [] }
  ]);
});
afterAll(async () => {
  await ctx.close();
  await db.drop();
});

describe('the inbox', () => {
  it('answers the seed question: over 50k, no activity in 14 days, in a rep’s queue (own + unclaimed), riskiest money first', async () => {
    // L5 risk 0.8 (score 0.2) × 60k = 48k; L1 silent (0.5) × 60k = 30k. L4 is Bea's, L8 snoozed,
    // L3 worth 500, L2 active, L7 lost, L6 another organisation's.
    expect(await ids(ana, { filter: { minValue: 50_000, inactiveDays: 14 } })).toEqual(['l5', 'l1']);
  });

  it('gives a manager every owner, ranked; ties go to the longer-silent lead', async () => {
    expect(await ids(max, { view: 'all', filter: { minValue: 50_000, inactiveDays: 14 } })).toEqual(['l5', 'l4', 'l1']);
  });

  it('fills each row with what a reviewer needs', async () => {
    const { items } = await ask(ana, { filter: { minValue: 50_000, inactiveDays: 14 } });
    const l5 = items.find((i) => i.leadId === 'l5')!;
    expect(l5).toMatchObject({
      stage: 'qualified', ownerId: ana.userId, ownerName: 'Ana Lima', intent: 'implants', summary: 'Wants implants',
      lastActivityAt: NOW - 30 * DAY, lastActivityType: 'lead_qualified', value: 60_000, valueSource: 'intent', currency: 'EUR'
    });
    expect(l5.score).toEqual({ pWon: 0.2, trend: expect.closeTo(-0.15, 6), reasons: [{ text: 'Silent since qualification', direction: 'down' }] });
    expect(l5.risk).toBeCloseTo(0.8, 6);
    expect(l5.exposure).toBeCloseTo(48_000, 3);
    expect(l5.exceptions.map((e) => e.kind)).toContain('silent_after_qualification');
    const l1 = items.find((i) => i.leadId === 'l1')!;
    expect(l1.score).toBeNull();
    expect(l1.ownerName).toBe('');
    expect(l1.why).toMatch(/silent|no reply|message/i);
  });

  it('without a question lists only leads that need a person; a question is a search', async () => {
    const queue = await ids(max, { view: 'all' });
    expect(queue).not.toContain('l9');
    expect(queue).toEqual(expect.arrayContaining(['l1', 'l2', 'l3', 'l4', 'l5']));
    expect(await ids(max, { view: 'all', filter: { stages: ['enquired'] } })).toEqual(['l9']);
  });

  it('hides snoozed and reviewed leads until asked, and brings a reviewed lead back on new activity', async () => {
    expect(await ids(ana, { filter: { inactiveDays: 14, intent: 'implant' } })).not.toContain('l8');
    expect(await ids(ana, { filter: { inactiveDays: 14, intent: 'implant' }, includeHidden: true })).toContain('l8');
    await insertEventRows(db.client, [human('l1', 'lead_reviewed', ana, 0.5, {})]);
    expect(await ids(ana, { filter: { intent: 'implants' } })).not.toContain('l1');
    await ingest(ORG, [inbound('l1', 0.25, 1)]);
    expect(await ids(ana, { filter: { intent: 'implants' } })).toContain('l1');
  });

  it('filters by score band, exception kind, owner by name, channel and first-contact day', async () => {
    expect(await ids(max, { view: 'all', filter: { scoreBands: ['low'] } })).toEqual(['l5']);
    expect(await ids(max, { view: 'all', filter: { scoreBands: ['high'] } })).toEqual(['l9']);
    expect(await ids(max, { view: 'all', filter: { owner: { kind: 'named', name: 'bea' } } })).toEqual(['l4']);
    expect(await ids(max, { view: 'all', filter: { channels: ['whatsapp'] } })).toEqual(expect.arrayContaining(['l9', 'l1']));
    expect(await ids(max, { view: 'all', filter: { channels: ['email'] } })).toEqual([]);
    const day = new Date(NOW - 25 * DAY).toISOString().slice(0, 10);
    expect(await ids(max, { view: 'all', filter: { createdFrom: day, createdTo: day } })).toEqual(['l4']);
    const kinds = await ask(max, { view: 'all', filter: { exceptionKinds: ['silent_after_qualification'] } });
    expect(kinds.items.every((i) => i.exceptions.some((e) => e.kind === 'silent_after_qualification'))).toBe(true);
    const nobody = await ask(max, { view: 'all', filter: { owner: { kind: 'named', name: 'Zed' } } });
    expect(nobody.items).toEqual([]);
    expect(nobody.notice).toMatch(/No one called "Zed"/);
  });

  it('scopes by role: a rep never lists another rep’s lead nor asks for every lead; nothing of another organisation', async () => {
    expect(await ids(ana, { view: 'mine' })).toEqual(['l5']);
    expect(await ids(ana, { filter: { owner: { kind: 'named', name: 'Bea' } } })).toEqual([]);
    const refused = await buildInbox(ctx, ana, inboxRequestSchema.parse({ view: 'all' }), NOW);
    expect(refused).toMatchObject({ ok: false, status: 403 });
    const outsider: SessionUser = { ...max, userId: 'u-out', orgId: OTHER };
    expect(await ids(outsider, { view: 'all', filter: { intent: 'implants' } })).toEqual(['l6']);
    expect((await ids(max, { view: 'all', filter: { intent: 'implants' } })).includes('l6')).toBe(false);
  });

  it('shares the organisation-wide reads between inboxes of a round, and reads again once they are stale', async () => {
    const facts = createOrgFactsCache(db.client, 5_000);
    const [a, b] = await Promise.all([facts.get(ORG, NOW), facts.get(ORG, NOW)]);
    expect(a).toBe(b);
    expect(await facts.get(ORG, NOW + 4_000)).toBe(a);
    const later = await facts.get(ORG, NOW + 6_000);
    expect(later).not.toBe(a);
    expect(later.at).toBe(NOW + 6_000);
    // Never facts from the asker's future (a clock moved back, or a test asking about the past).
    expect((await facts.get(ORG, NOW)).at).toBe(NOW);
    expect(a.exceptions.some((e) => e.leadId === 'l5' && e.kind === 'silent_after_qualification')).toBe(true);
    expect(a.scores.get('l5')?.score).toBe(0.2);
  });
});
