import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role, SessionUser } from '../../../src/lib/contracts/auth';
import type { AgentEvent } from '../../../src/lib/contracts/events';
import type { AppContext } from '../../../src/lib/server/app-context';
import { mergedInto } from '../../../src/lib/server/db/queries/contacts';
import { insertEventRows, mergeEventRow, toEventRow, type EventRow } from '../../../src/lib/server/db/queries/events';
import { findUser } from '../../../src/lib/server/db/queries/identity';
import { findLead, leadTimeline } from '../../../src/lib/server/db/queries/leads';
import { actOnLead, addNote, correctLead, userNamesFrom, type LeadDeps } from '../../../src/lib/server/lead-actions';
import { accessLead } from '../../../src/lib/server/leads';
import { createIdentityResolver, type IdentityResolver } from '../../../ingest/pipeline/resolve-identity';
import { buildStageChanged } from '../../fixtures/events';
import { createTestDatabase, type TestDatabase } from '../../helpers/clickhouse';
import { seedOrganisation, seedUser } from '../../helpers/seed';

let db: TestDatabase;
let deps: LeadDeps;
let resolver: IdentityResolver;
let orgId: string;
let otherOrgId: string;
let manager: SessionUser;
let ana: SessionUser;
let ben: SessionUser;
let revops: SessionUser;

async function sessionUser(org: string, userId: string): Promise<SessionUser> {
  const u = await findUser(db.client, org, userId);
  if (!u) throw new Error(`no user ${userId}`);
  return { userId: u.userId, orgId: u.orgId, email: u.email, name: u.name, role: u.role };
}

async function user(role: Role): Promise<SessionUser> {
  return sessionUser(orgId, (await seedUser(db.client, orgId, role)).userId);
}

let n = 0;
const hourAgo = () => new Date(Date.now() - 3_600_000 + ++n).toISOString();

/** A lead with agent events (an hour old), owned by `ownerId` when given. */
async function lead(options: { stage?: 'enquired' | 'qualified' | 'booked'; ownerId?: string; org?: string } = {}): Promise<string> {
  const leadId = `lead-${++n}-${Math.random().toString(36).slice(2, 8)}`;
  const org = options.org ?? orgId;
  const rows: EventRow[] = [toEventRow(buildStageChanged({ leadId, stage: options.stage ?? 'enquired', occurredAt: hourAgo() }), org, Date.now())];
  if (options.ownerId) {
    rows.push({
      ...toEventRow(buildStageChanged({ leadId, occurredAt: hourAgo() }), org, Date.now()),
      type: 'lead_assigned',
      stage: '',
      actor: `human:${manager.userId}`,
      properties: JSON.stringify({ ownerId: options.ownerId })
    });
  }
  await insertEventRows(db.client, rows);
  return leadId;
}

const props = (row: EventRow | undefined) => JSON.parse(String(row?.properties)) as Record<string, unknown>;

beforeAll(async () => {
  db = await createTestDatabase('lead_actions_test');
  resolver = createIdentityResolver(db.client);
  deps = { clickhouse: db.client, identity: resolver, userName: userNamesFrom(db.client) };
  const org = await seedOrganisation(db.client, 'Lead Actions Org', 'manager');
  orgId = org.orgId;
  manager = await sessionUser(orgId, org.user.userId);
  [ana, ben, revops] = [await user('rep'), await user('rep'), await user('revops')];
  otherOrgId = (await seedOrganisation(db.client, 'Other Org', 'manager')).orgId;
});
afterAll(() => db.drop());

describe('claiming and releasing', () => {
  it('a rep claims an unowned lead: a lead_assigned row via claim, and the lead is theirs', async () => {
    const leadId = await lead();
    const result = await actOnLead(deps, ana, leadId, { action: 'claim' });
    expect(result).toEqual({ ok: true, rows: [expect.objectContaining({ type: 'lead_assigned', lead_id: leadId, actor: `human:${ana.userId}`, summary: `${ana.name} claimed the lead` })] });
    expect(props(result.ok ? result.rows[0] : undefined)).toEqual({ ownerId: ana.userId, via: 'claim' });
    expect((await findLead(db.client, orgId, leadId))?.ownerId).toBe(ana.userId);
    // Claiming one's own lead again changes nothing and writes nothing.
    expect(await actOnLead(deps, ana, leadId, { action: 'claim' })).toEqual({ ok: true, rows: [] });
  });

  it("a rep cannot claim another rep's lead (409 with the owner's name); a manager can take it over", async () => {
    const leadId = await lead({ ownerId: ana.userId });
    expect(await actOnLead(deps, ben, leadId, { action: 'claim' })).toEqual({ ok: false, status: 409, message: `Already claimed by ${ana.name}.` });
    expect((await findLead(db.client, orgId, leadId))?.ownerId).toBe(ana.userId);

    const takeover = await actOnLead(deps, manager, leadId, { action: 'claim' });
    expect(takeover).toMatchObject({ ok: true, rows: [{ summary: `${manager.name} took the lead over from ${ana.name}` }] });
    expect((await findLead(db.client, orgId, leadId))?.ownerId).toBe(manager.userId);
  });

  it('only the owner or a manager releases a lead; releasing an unclaimed lead is a conflict', async () => {
    const leadId = await lead({ ownerId: ana.userId });
    expect(await actOnLead(deps, ben, leadId, { action: 'unclaim' })).toMatchObject({ ok: false, status: 403 });

    const released = await actOnLead(deps, ana, leadId, { action: 'unclaim' });
    expect(props(released.ok ? released.rows[0] : undefined)).toEqual({ ownerId: '', via: 'unclaim' });
    expect((await findLead(db.client, orgId, leadId))?.ownerId).toBe('');
    expect(await actOnLead(deps, ana, leadId, { action: 'unclaim' })).toEqual({ ok: false, status: 409, message: 'Nobody has claimed this lead.' });

    await actOnLead(deps, ben, leadId, { action: 'claim' });
    expect(await actOnLead(deps, manager, leadId, { action: 'unclaim' })).toMatchObject({
      ok: true,
      rows: [{ summary: `${manager.name} released ${ben.name}'s lead to the shared queue` }]
    });
    expect((await findLead(db.client, orgId, leadId))?.ownerId).toBe('');
  });
});

describe('snooze, review and notes', () => {
  it('snoozes until a future time, and refuses a time in the past', async () => {
    const leadId = await lead();
    const now = Date.now();
    expect(await actOnLead(deps, ana, leadId, { action: 'snooze', until: now - 1 }, now)).toMatchObject({ ok: false, status: 400 });
    const until = now + 2 * 24 * 3_600_000;
    const result = await actOnLead(deps, ana, leadId, { action: 'snooze', until }, now);
    expect(result).toMatchObject({ ok: true, rows: [{ type: 'lead_snoozed', summary: `${ana.name} snoozed the lead for 2 d` }] });
    expect(props(result.ok ? result.rows[0] : undefined)).toEqual({ until });
    const timeline = await leadTimeline(db.client, orgId, leadId);
    expect(timeline.map((e) => e.type)).toEqual(['stage_changed', 'lead_snoozed']);
  });

  it('marks a lead reviewed and adds a note whose text is on the timeline', async () => {
    const leadId = await lead();
    expect(await actOnLead(deps, ana, leadId, { action: 'review' })).toMatchObject({ ok: true, rows: [{ type: 'lead_reviewed', properties: '{}' }] });
    expect(await addNote(deps, ana, leadId, 'Called: wants a quote for 3 seats, "asap"')).toMatchObject({ ok: true, rows: [{ type: 'note_added' }] });
    const timeline = await leadTimeline(db.client, orgId, leadId);
    expect(timeline.slice(1).map((e) => [e.type, e.actor, e.text])).toEqual([
      ['lead_reviewed', `human:${ana.userId}`, ''],
      ['note_added', `human:${ana.userId}`, 'Called: wants a quote for 3 seats, "asap"']
    ]);
  });
});

describe('corrections', () => {
  it('a stage correction is a stage_changed row by a person, and the lead takes the new stage', async () => {
    const leadId = await lead({ stage: 'booked' });
    const result = await correctLead(deps, ana, leadId, { kind: 'stage', stage: 'qualified' });
    expect(result).toMatchObject({
      ok: true,
      rows: [{ type: 'stage_changed', stage: 'qualified', intent: '', actor: `human:${ana.userId}`, summary: `${ana.name} corrected the stage: booked → qualified` }]
    });
    expect(props(result.ok ? result.rows[0] : undefined)).toEqual({ correction: 'stage', from: 'booked' });
    expect((await findLead(db.client, orgId, leadId))?.stage).toBe('qualified');
    expect(await correctLead(deps, ana, leadId, { kind: 'stage', stage: 'qualified' })).toEqual({ ok: false, status: 400, message: 'The stage is already qualified.' });
  });

  it('an intent correction fills the intent column and becomes the lead intent', async () => {
    const leadId = `lead-intent-${++n}`;
    await insertEventRows(db.client, [
      toEventRow({ type: 'lead_qualified', eventId: `q-${n}`, leadId, occurredAt: hourAgo(), intent: 'pricing' } as AgentEvent, orgId, Date.now())
    ]);
    expect((await findLead(db.client, orgId, leadId))?.intent).toBe('pricing');
    const result = await correctLead(deps, ana, leadId, { kind: 'intent', intent: 'cancellation' });
    expect(result).toMatchObject({ ok: true, rows: [{ type: 'intent_corrected', intent: 'cancellation', summary: `${ana.name} corrected the intent: pricing → cancellation` }] });
    expect(props(result.ok ? result.rows[0] : undefined)).toEqual({ correction: 'intent', from: 'pricing' });
    expect((await findLead(db.client, orgId, leadId))?.intent).toBe('cancellation');
    expect(await correctLead(deps, ana, leadId, { kind: 'intent', intent: 'cancellation' })).toMatchObject({ ok: false, status: 400 });
  });
});

describe('who may work a lead', () => {
  it('a role without leads:work gets 403 for every action, and nothing is written', async () => {
    const leadId = await lead();
    const refused = { ok: false, status: 403, message: 'Your role cannot work leads.' };
    expect(await actOnLead(deps, revops, leadId, { action: 'claim' })).toEqual(refused);
    expect(await correctLead(deps, revops, leadId, { kind: 'stage', stage: 'won' })).toEqual(refused);
    expect(await addNote(deps, revops, leadId, 'hi')).toEqual(refused);
    expect(await leadTimeline(db.client, orgId, leadId)).toHaveLength(1);
  });

  it("another organisation's lead is not found (404), nothing confirmed", async () => {
    const foreign = await lead({ org: otherOrgId });
    const notFound = { ok: false, status: 404, message: 'No such lead.' };
    expect(await actOnLead(deps, manager, foreign, { action: 'claim' })).toEqual(notFound);
    expect(await actOnLead(deps, ana, foreign, { action: 'review' })).toEqual(notFound);
    expect(await addNote(deps, ana, foreign, 'hi')).toEqual(notFound);
    expect(await correctLead(deps, manager, foreign, { kind: 'stage', stage: 'won' })).toEqual(notFound);
    expect(await leadTimeline(db.client, otherOrgId, foreign)).toHaveLength(1);
  });

  it("a rep cannot work another rep's lead (403) but works and views the shared queue", async () => {
    const bens = await lead({ ownerId: ben.userId });
    expect(await addNote(deps, ana, bens, 'mine now?')).toMatchObject({ ok: false, status: 403 });
    expect(await actOnLead(deps, ana, bens, { action: 'review' })).toMatchObject({ ok: false, status: 403 });
    expect(await correctLead(deps, ana, bens, { kind: 'stage', stage: 'won' })).toMatchObject({ ok: false, status: 403 });

    const ctx = { clickhouse: db.client } as unknown as AppContext;
    const shared = await lead();
    expect(await accessLead(ctx, ana, shared)).toMatchObject({ ok: true, lead: { leadId: shared, ownerId: '' } });
    expect(await accessLead(ctx, ana, bens)).toMatchObject({ ok: false, status: 403 });
    expect(await accessLead(ctx, ana, await lead({ org: otherOrgId }))).toMatchObject({ ok: false, status: 404 });
    expect(await accessLead(ctx, revops, shared)).toMatchObject({ ok: false, status: 403 });
  });
});

describe('undoing a wrong merge', () => {
  let seq = 0;
  const enriched = (leadId: string, email: string): AgentEvent => ({
    type: 'contact_enriched',
    eventId: `enrich-${leadId}-${++seq}`,
    leadId,
    occurredAt: hourAgo(),
    email
  });

  /** What the ingest endpoint does with a batch: resolve, then store the events and merge events. */
  async function ingest(r: IdentityResolver, events: AgentEvent[]) {
    const { derived, merges } = await r.resolve(orgId, events);
    await insertEventRows(db.client, [
      ...events.map((e, i) => toEventRow(e, orgId, Date.now(), derived[i])),
      ...merges.map((m) => mergeEventRow(orgId, m, Date.now()))
    ]);
    return merges;
  }

  it('splits the merged lead out with its own events, and the same email never merges them again', async () => {
    const [a, b] = [`ua-${++n}`, `ub-${n}`];
    await ingest(resolver, [buildStageChanged({ leadId: a, stage: 'booked', occurredAt: hourAgo() }), enriched(a, 'pat@clinic.es')]);
    const merged = await ingest(resolver, [buildStageChanged({ leadId: b, stage: 'enquired', occurredAt: hourAgo() }), enriched(b, 'Pat@Clinic.es')]);
    expect(merged).toEqual([expect.objectContaining({ into: a, merged: b })]);
    expect((await findLead(db.client, orgId, b))?.leadId).toBe(a);
    expect((await mergedInto(db.client, orgId, a)).map((m) => [m.leadId, m.identity])).toEqual([[b, 'email:pat@clinic.es']]);

    expect(await correctLead(deps, ana, a, { kind: 'unmerge', mergedLeadId: a })).toMatchObject({ ok: false, status: 404 });
    const result = await correctLead(deps, ana, a, { kind: 'unmerge', mergedLeadId: b });
    expect(result).toMatchObject({ ok: true, rows: [{ type: 'leads_unmerged', lead_id: a, actor: `human:${ana.userId}` }] });
    expect(props(result.ok ? result.rows[0] : undefined)).toEqual({ correction: 'unmerge', mergedLeadId: b });

    expect(await findLead(db.client, orgId, a)).toMatchObject({ leadId: a, stage: 'booked' });
    expect(await findLead(db.client, orgId, b)).toMatchObject({ leadId: b, stage: 'enquired', events: 2 });
    expect((await leadTimeline(db.client, orgId, a)).map((e) => e.type)).toEqual(['stage_changed', 'contact_enriched', 'leads_merged', 'leads_unmerged']);
    expect(await mergedInto(db.client, orgId, a)).toEqual([]);
    expect(await correctLead(deps, ana, a, { kind: 'unmerge', mergedLeadId: b })).toMatchObject({ ok: false, status: 404 });

    // The same email again, through this process's resolver (told to forget) and a fresh one.
    expect(await ingest(resolver, [enriched(b, 'pat@clinic.es')])).toEqual([]);
    expect(await ingest(createIdentityResolver(db.client), [enriched(b, 'pat@clinic.es'), enriched(a, 'pat@clinic.es')])).toEqual([]);
    expect((await findLead(db.client, orgId, b))?.leadId).toBe(b);
    expect((await findLead(db.client, orgId, a))?.leadId).toBe(a);
  });

  it('does not merge a group that holds a lead split from the other side either', async () => {
    const k = ++n;
    const [a, b, c] = [`sa-${k}`, `sb-${k}`, `sc-${k}`];
    await ingest(resolver, [enriched(a, `a${k}@x.io`)]);
    expect(await ingest(resolver, [enriched(b, `a${k}@x.io`)])).toEqual([expect.objectContaining({ into: a, merged: b })]);
    expect(await correctLead(deps, manager, a, { kind: 'unmerge', mergedLeadId: c })).toEqual({ ok: false, status: 404, message: `Lead ${c} is not merged into this lead.` });
    expect(await correctLead(deps, manager, a, { kind: 'unmerge', mergedLeadId: b })).toMatchObject({ ok: true });
    // b alone joins c on another email (the resolver reloaded its graph after the unmerge; the
    // cached one still had b inside a and would move a over); then c's group meets a's email.
    await ingest(resolver, [enriched(c, `c${k}@y.io`)]);
    expect(await ingest(resolver, [enriched(b, `c${k}@y.io`)])).toEqual([expect.objectContaining({ into: c, merged: b })]);
    expect(await ingest(resolver, [enriched(c, `a${k}@x.io`)])).toEqual([]);
    expect((await findLead(db.client, orgId, a))?.leadId).toBe(a);
    expect((await findLead(db.client, orgId, b))?.leadId).toBe(c);
  });
});
