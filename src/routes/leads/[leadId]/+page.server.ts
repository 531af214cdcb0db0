import { error, fail } from '@sveltejs/kit';
import { can } from '$lib/contracts/auth';
import { stages } from '$lib/contracts/events';
import { assignLeadSchema } from '$lib/contracts/leads';
import { requirePageUser } from '$lib/server/auth/guard';
import type { AppContext } from '$lib/server/app-context';
import { getContext } from '$lib/server/context';
import { mergedInto } from '$lib/server/db/queries/contacts';
import { listUsers } from '$lib/server/db/queries/identity';
import { knownIntents } from '$lib/server/db/queries/leads';
import { buildTimeline } from '$lib/server/lead-timeline';
import { accessLead, assignableUsers, assignLead, leadDetail } from '$lib/server/leads';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async ({ locals, params, setHeaders }) => {
  const user = requirePageUser(locals);
  const ctx = getContext();
  const access = await accessLead(ctx, user, params.leadId);
  if (!access.ok) error(access.status, access.message);
  setHeaders({ 'cache-control': 'no-store' });
  const { lead } = access;
  const now = Date.now();
  const canAssign = can(user.role, 'leads:assign');
  const canWork = can(user.role, 'leads:work');
  // Awaited, not streamed, although exceptions are computed over the whole organisation (hundreds
  // of ms on a busy ledger): a page that streams a promise always answers 200 (sveltejs/kit#12987),
  // so a refused form action (403) would read as a success.
  const exceptions = openExceptionsOf(ctx, user.orgId, lead.leadId, now).catch((err: unknown) => {
    ctx.log.warn({ err, leadId: lead.leadId }, 'exceptions of a lead could not be computed');
    return null;
  });
  const [detail, users, merged, assignees, open, intents] = await Promise.all([
    leadDetail(ctx, user, lead),
    listUsers(ctx.clickhouse, user.orgId),
    canWork ? mergedInto(ctx.clickhouse, user.orgId, lead.leadId) : Promise.resolve([]),
    canAssign ? assignableUsers(ctx, user.orgId) : Promise.resolve([]),
    exceptions,
    canWork ? knownIntents(ctx.clickhouse, user.orgId) : Promise.resolve([])
  ]);
  const names = new Map(users.map((u) => [u.userId, u.name]));
  const nameOf = (userId: string) => names.get(userId) ?? 'a former user';
  const { timeline, ...rest } = detail;
  return {
    ...rest,
    view: buildTimeline(timeline, names, now),
    /** null when they could not be computed (the page says so rather than showing none). */
    exceptions:
      open?.map((e) => ({
        id: e.id,
        kind: e.kind,
        words: e.words,
        since: e.since,
        claimedBy: e.claimed ? nameOf(e.claimed.userId) : '',
        seenBy: e.acknowledged ? nameOf(e.acknowledged.userId) : ''
      })) ?? null,
    merged: merged.map((m) => ({ leadId: m.leadId, identity: m.identity, linkedAt: m.linkedAt })),
    stages: [...stages],
    intents,
    me: user.userId,
    canWork,
    canAssign,
    assignees,
    now
  };
};

/**
 * Open (not snoozed) exceptions of one lead. The queries cover the organisation (there is no
 * per-lead form yet), so they come from the reads the inboxes share (at most 5 s old), not a
 * fresh organisation-wide run per page load.
 */
async function openExceptionsOf(ctx: AppContext, orgId: string, leadId: string, at: number) {
  return (await ctx.inboxFacts.get(orgId, at)).exceptions.filter((e) => e.leadId === leadId && !e.snoozed);
}

export const actions: Actions = {
  assign: async ({ locals, params, request }) => {
    const user = requirePageUser(locals);
    const parsed = assignLeadSchema.safeParse(Object.fromEntries(await request.formData()));
    if (!parsed.success) return fail(400, { message: 'Choose who should own this lead.' });
    const result = await assignLead(getContext(), user, params.leadId, parsed.data.ownerId);
    if (!result.ok) return fail(result.status, { message: result.message });
    return { assigned: true };
  }
};
