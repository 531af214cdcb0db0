import { json } from '@sveltejs/kit';
import { leadActionSchema } from '$lib/contracts/inbox';
import { requireApiUser } from '$lib/server/auth/guard';
import { getContext } from '$lib/server/context';
import { describeIssues, readJsonBody } from '$lib/server/json-body';
import { actOnLead, leadDepsFrom } from '$lib/server/lead-actions';
import { answerLeadWrite } from '$lib/server/lead-changes';
import type { RequestHandler } from './$types';

/**
 * Claim, release, snooze or mark reviewed: `{ "action": "claim" }`, `{ "action": "snooze",
 * "until": <epoch ms> }` … 409 when another rep claimed it first (the message names them).
 * JSON only (415 otherwise), so no cross-site form can post one.
 */
export const POST: RequestHandler = async ({ locals, params, request }) => {
  const user = requireApiUser(locals, 'leads:work');
  const parsed = leadActionSchema.safeParse(await readJsonBody(request));
  if (!parsed.success) return json({ message: `Send an action: ${describeIssues(parsed.error.issues)}` }, { status: 400 });
  const ctx = getContext();
  return answerLeadWrite(ctx, user, await actOnLead(leadDepsFrom(ctx), user, params.leadId, parsed.data));
};
