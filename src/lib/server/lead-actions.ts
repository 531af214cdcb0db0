import { can, type SessionUser } from '../contracts/auth';
import type { LeadAction, LeadCorrection } from '../contracts/inbox';
import { CORRECTION_PROPERTY, leadEventTypes, type LeadSummary } from '../contracts/leads';
import { randomId } from './auth/token';
import type { ClickHouseClient } from './db/clickhouse';
import { mergedInto, saveSplit } from './db/queries/contacts';
import { humanEventRow, insertEventRows, type EventRow } from './db/queries/events';
import { formatDuration } from './db/queries/exception-words';
import { findUser } from './db/queries/identity';
import { findLead } from './db/queries/leads';

/**
 * What people do to a lead from the inbox and the lead page (issue 7): claim, release, snooze,
 * mark reviewed, add a note, correct what the AI wrote. Each is a human event written straight to
 * the ledger, not through the ingest writer's buffer: a person is waiting, so during an outage
 * the call throws and they are told "not saved, try again" instead of being told it worked.
 * The rows are returned; the caller publishes them (wall, inboxes).
 */
export interface LeadDeps {
  clickhouse: ClickHouseClient;
  /** Identity resolvers to reload their graph after an unmerge (every process's, issue 8). */
  identity?: { forget(orgId: string): void };
  /** A user's display name, '' when unknown. */
  userName(orgId: string, userId: string): Promise<string>;
}

export type LeadWriteResult = { ok: true; rows: EventRow[] } | { ok: false; status: 400 | 403 | 404 | 409; message: string };

type Refusal = Extract<LeadWriteResult, { ok: false }>;
const refuse = (status: Refusal['status'], message: string): Refusal => ({ ok: false, status, message });

/** `userName` for LeadDeps from the users table. */
export function userNamesFrom(clickhouse: ClickHouseClient): LeadDeps['userName'] {
  return async (orgId, userId) => (await findUser(clickhouse, orgId, userId))?.name ?? '';
}

/** The deps from the app's context: its ClickHouse, every process's identity resolver, names from the users table. */
export function leadDepsFrom(ctx: { clickhouse: ClickHouseClient; bus: { identityForgotten(orgId: string): void } }): LeadDeps {
  return { clickhouse: ctx.clickhouse, identity: { forget: (orgId) => ctx.bus.identityForgotten(orgId) }, userName: userNamesFrom(ctx.clickhouse) };
}

/**
 * Whether `user` may see a lead of their organisation (the caller has scoped the lookup to it):
 * managers every lead; reps their own and the unclaimed ones (the shared queue).
 */
export function canSeeLead(user: SessionUser, lead: Pick<LeadSummary, 'ownerId'>): boolean {
  if (can(user.role, 'leads:view-all')) return true;
  return can(user.role, 'leads:view-own') && (lead.ownerId === user.userId || lead.ownerId === '');
}

/** Whether `user` may work a lead: act on it, correct it, note it, approve follow-ups for it. */
export function canWorkLead(user: SessionUser, lead: Pick<LeadSummary, 'ownerId'>): boolean {
  return can(user.role, 'leads:work') && canSeeLead(user, lead);
}

export type WorkableLead = { ok: true; lead: LeadSummary } | { ok: false; status: 403 | 404; message: string };

const noPermission = () => refuse(403, 'Your role cannot work leads.') as Extract<WorkableLead, { ok: false }>;
const notFound = () => refuse(404, 'No such lead.') as Extract<WorkableLead, { ok: false }>;
const someoneElses = () => refuse(403, 'This lead belongs to someone else.') as Extract<WorkableLead, { ok: false }>;

/**
 * The lead `user` wants to work, by any of its ids (a merged lead's id finds the surviving one).
 * Org-scoped: another organisation's lead is 404 and nothing confirms it exists.
 */
export async function findWorkableLead(clickhouse: ClickHouseClient, user: SessionUser, leadId: string): Promise<WorkableLead> {
  if (!can(user.role, 'leads:work')) return noPermission();
  const lead = await findLead(clickhouse, user.orgId, leadId);
  if (!lead) return notFound();
  return canWorkLead(user, lead) ? { ok: true, lead } : someoneElses();
}

function leadRow(
  user: SessionUser,
  lead: LeadSummary,
  row: { type: string; summary: string; properties: Record<string, string | number>; at: number; stage?: string; intent?: string; eventId?: string }
): EventRow {
  return humanEventRow({
    orgId: user.orgId,
    eventId: row.eventId ?? `human-${randomId()}`,
    // The surviving lead's id even when the person came through a merged lead's id.
    leadId: lead.leadId,
    type: row.type,
    userId: user.userId,
    summary: row.summary,
    properties: row.properties,
    at: row.at,
    stage: row.stage,
    intent: row.intent
  });
}

async function commit(deps: LeadDeps, rows: EventRow[]): Promise<LeadWriteResult> {
  await insertEventRows(deps.clickhouse, rows);
  return { ok: true, rows };
}

const nameOf = async (deps: LeadDeps, orgId: string, userId: string) => (await deps.userName(orgId, userId)) || 'another user';

/**
 * Claim, release, snooze (`until` epoch ms, must be after `now`) or mark reviewed. A claim takes
 * an unclaimed lead; a manager may take over anyone's; a rep meeting another rep's claim gets 409
 * with the owner's name (two reps racing for one lead in the shared queue). Claiming one's own
 * lead writes nothing. Releasing is for the owner or a manager.
 */
export async function actOnLead(deps: LeadDeps, user: SessionUser, leadId: string, action: LeadAction, now = Date.now()): Promise<LeadWriteResult> {
  if (!can(user.role, 'leads:work')) return noPermission();
  const lead = await findLead(deps.clickhouse, user.orgId, leadId);
  if (!lead) return notFound();
  const taken = lead.ownerId !== '' && lead.ownerId !== user.userId;
  // Before the access rule: a rep may not see another rep's lead, but the shared queue shows it
  // until someone claims it, so a late claim learns who was first.
  if (action.action === 'claim' && taken && !can(user.role, 'leads:assign')) {
    return refuse(409, `Already claimed by ${await nameOf(deps, user.orgId, lead.ownerId)}.`);
  }
  if (!canWorkLead(user, lead)) return someoneElses();

  switch (action.action) {
    case 'claim': {
      if (lead.ownerId === user.userId) return { ok: true, rows: [] };
      const summary = taken
        ? `${user.name} took the lead over from ${await nameOf(deps, user.orgId, lead.ownerId)}`
        : `${user.name} claimed the lead`;
      return commit(deps, [leadRow(user, lead, { type: leadEventTypes.assigned, summary, properties: { ownerId: user.userId, via: 'claim' }, at: now })]);
    }
    case 'unclaim': {
      if (lead.ownerId === '') return refuse(409, 'Nobody has claimed this lead.');
      // canWorkLead let a rep through only for their own lead; a manager may release anyone's.
      const summary =
        lead.ownerId === user.userId
          ? `${user.name} released the lead to the shared queue`
          : `${user.name} released ${await nameOf(deps, user.orgId, lead.ownerId)}'s lead to the shared queue`;
      return commit(deps, [leadRow(user, lead, { type: leadEventTypes.assigned, summary, properties: { ownerId: '', via: 'unclaim' }, at: now })]);
    }
    case 'snooze': {
      if (action.until <= now) return refuse(400, 'Choose a time in the future to snooze until.');
      // A duration, not a clock time: the server does not know the reader's timezone.
      const summary = `${user.name} snoozed the lead for ${formatDuration(action.until - now)}`;
      return commit(deps, [leadRow(user, lead, { type: leadEventTypes.snoozed, summary, properties: { until: action.until }, at: now })]);
    }
    case 'review':
      return commit(deps, [leadRow(user, lead, { type: leadEventTypes.reviewed, summary: `${user.name} marked the lead as reviewed`, properties: {}, at: now })]);
  }
}

const shown = (value: string) => value || 'none';

/**
 * A reviewer's correction of what the AI wrote. A stage correction is a `stage_changed` row (so
 * every stage fold takes it), an intent correction fills the intent column; both keep what they
 * replaced in `properties.from`. An unmerge splits `mergedLeadId` out of this lead for good: the
 * identity resolver will not merge the two again on a shared email or phone.
 */
export async function correctLead(deps: LeadDeps, user: SessionUser, leadId: string, correction: LeadCorrection, now = Date.now()): Promise<LeadWriteResult> {
  const access = await findWorkableLead(deps.clickhouse, user, leadId);
  if (!access.ok) return access;
  const { lead } = access;

  switch (correction.kind) {
    case 'stage': {
      if (correction.stage === lead.stage) return refuse(400, `The stage is already ${lead.stage}.`);
      const summary = `${user.name} corrected the stage: ${shown(lead.stage)} → ${correction.stage}`;
      const properties = { [CORRECTION_PROPERTY]: 'stage', from: lead.stage };
      return commit(deps, [leadRow(user, lead, { type: 'stage_changed', stage: correction.stage, summary, properties, at: now })]);
    }
    case 'intent': {
      if (correction.intent === lead.intent) return refuse(400, `The intent is already "${lead.intent}".`);
      const summary = `${user.name} corrected the intent: ${shown(lead.intent)} → ${correction.intent}`;
      const properties = { [CORRECTION_PROPERTY]: 'intent', from: lead.intent };
      return commit(deps, [leadRow(user, lead, { type: leadEventTypes.intentCorrected, intent: correction.intent, summary, properties, at: now })]);
    }
    case 'unmerge':
      return unmerge(deps, user, lead, correction.mergedLeadId, now);
  }
}

async function unmerge(deps: LeadDeps, user: SessionUser, lead: LeadSummary, mergedLeadId: string, now: number): Promise<LeadWriteResult> {
  const link = (await mergedInto(deps.clickhouse, user.orgId, lead.leadId)).find((l) => l.leadId === mergedLeadId);
  if (!link) return refuse(404, `Lead ${mergedLeadId} is not merged into this lead.`);
  const row = leadRow(user, lead, {
    // The ledger row goes first, then the split. If the split fails, the person retries while the
    // link still stands and gets the same event id (from the link's version), so the timeline
    // shows one unmerge; the other order would leave an unmerge nobody can see or retry.
    eventId: `unmerge:${mergedLeadId}:${lead.leadId}:${link.version}`,
    type: leadEventTypes.unmerged,
    summary: `${user.name} undid a wrong merge: lead ${mergedLeadId} stands on its own again`,
    properties: { [CORRECTION_PROPERTY]: 'unmerge', mergedLeadId },
    at: now
  });
  await insertEventRows(deps.clickhouse, [row]);
  await saveSplit(deps.clickhouse, user.orgId, { survivor: lead.leadId, merged: mergedLeadId });
  // This process's resolver reloads the graph (with the split) before its next merge. Another
  // process hosting a resolver keeps its cached graph until it restarts: issue 8.
  deps.identity?.forget(user.orgId);
  return { ok: true, rows: [row] };
}

/** A note on the lead's timeline; `text` was checked with leadNoteSchema where it arrived. */
export async function addNote(deps: LeadDeps, user: SessionUser, leadId: string, text: string, now = Date.now()): Promise<LeadWriteResult> {
  const access = await findWorkableLead(deps.clickhouse, user, leadId);
  if (!access.ok) return access;
  return commit(deps, [leadRow(user, access.lead, { type: leadEventTypes.noteAdded, summary: `${user.name} added a note`, properties: { text }, at: now })]);
}
