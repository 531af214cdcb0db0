import { can, type SessionUser } from '../contracts/auth';
import type { LeadSummary, TimelineEntry } from '../contracts/leads';
import type { LeadScore } from '../contracts/model-registry';
import { latestScores, listModelVersions, scoreHistory as scoreHistoryOf } from './db/queries/models';
import type { AppContext } from './app-context';
import { randomId } from './auth/token';
import { humanEventRow } from './db/queries/events';
import { findUser, listUsers } from './db/queries/identity';
import { findLead, leadTimeline } from './db/queries/leads';
import { canSeeLead } from './lead-actions';

export type LeadAccess =
  | { ok: true; lead: LeadSummary }
  | { ok: false; status: 404 | 403; message: string };

/**
 * A lead as `user` may see it. The lookup is scoped to the user's organisation, so another
 * organisation's lead is "not found" (404) and nothing confirms it exists; a lead of this
 * organisation the role may not see is 403 (a rep asking for another rep's lead). Reps see their
 * own leads and the unclaimed ones (the shared queue): the rule lead-actions.ts works leads by.
 */
export async function accessLead(ctx: AppContext, user: SessionUser, leadId: string): Promise<LeadAccess> {
  const lead = await findLead(ctx.clickhouse, user.orgId, leadId);
  if (!lead) return { ok: false, status: 404, message: 'No such lead.' };
  if (canSeeLead(user, lead)) return { ok: true, lead };
  return { ok: false, status: 403, message: 'This lead belongs to someone else.' };
}

export interface LeadDetail {
  lead: LeadSummary;
  timeline: TimelineEntry[];
  ownerName: string;
  /** The latest score with its reasons; null until the lead has been scored (or once it closed). */
  score: LeadScore | null;
  scoreHistory: { at: number; score: number }[];
}

export async function leadDetail(ctx: AppContext, user: SessionUser, lead: LeadSummary): Promise<LeadDetail> {
  const [timeline, owner, scores, scoreHistory, versions] = await Promise.all([
    leadTimeline(ctx.clickhouse, user.orgId, lead.leadId),
    lead.ownerId ? findUser(ctx.clickhouse, user.orgId, lead.ownerId) : Promise.resolve(null),
    latestScores(ctx.clickhouse, user.orgId, [lead.leadId]),
    scoreHistoryOf(ctx.clickhouse, user.orgId, lead.leadId),
    // The registry, not the loaded model: an app process need not hold model artifacts (issue 8).
    listModelVersions(ctx.clickhouse, user.orgId).catch(() => [])
  ]);
  const latest = scores.get(lead.leadId);
  // A closed lead keeps its history but shows no current score: there is nothing left to predict.
  const open = lead.stage !== 'won' && lead.stage !== 'lost';
  const scope = versions.find((v) => v.versionId === latest?.versionId)?.scope ?? 'org';
  return { lead, timeline, ownerName: owner?.name ?? '', score: latest && open ? { ...latest, scope } : null, scoreHistory };
}

/** People a lead can be assigned to: active reps and managers of the organisation. */
export async function assignableUsers(ctx: AppContext, orgId: string) {
  const users = await listUsers(ctx.clickhouse, orgId);
  return users.filter((u) => u.active && (u.role === 'rep' || u.role === 'manager')).map((u) => ({ userId: u.userId, name: u.name }));
}

export type AssignResult = { ok: true } | { ok: false; status: 400 | 403 | 404; message: string };

/** Assign a lead; the assignment is a human event in the ledger, committed before this returns. */
export async function assignLead(ctx: AppContext, actor: SessionUser, leadId: string, ownerId: string, now = Date.now()): Promise<AssignResult> {
  if (!can(actor.role, 'leads:assign')) return { ok: false, status: 403, message: 'Your role cannot assign leads.' };
  const lead = await findLead(ctx.clickhouse, actor.orgId, leadId);
  if (!lead) return { ok: false, status: 404, message: 'No such lead.' };
  const owner = await findUser(ctx.clickhouse, actor.orgId, ownerId);
  if (!owner || !owner.active || (owner.role !== 'rep' && owner.role !== 'manager')) {
    return { ok: false, status: 400, message: 'Choose an active rep or manager of your organisation.' };
  }
  await ctx.writer.write([
    humanEventRow({
      orgId: actor.orgId,
      eventId: `human-${randomId()}`,
      leadId,
      type: 'lead_assigned',
      userId: actor.userId,
      summary: `${actor.name} assigned the lead to ${owner.name}`,
      properties: { ownerId: owner.userId },
      at: now
    })
  ]);
  return { ok: true };
}
