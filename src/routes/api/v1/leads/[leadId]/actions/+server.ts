import { json } from '@sveltejs/kit';
import { leadActionSchema } from '$lib/contracts/inbox';
import { requireApiUser } from '$lib/server/auth/guard';
import { getContext } from '$lib/server/context';
import { readJsonBody } from '$lib/server/json-body';
import { actOnLead, leadDepsFrom } from '$lib/server/lead-actions';
import { publishLeadChange } from '$lib/server/lead-changes';
import type { RequestHandler } from './$types';

/**
 * Claim, release, snooze or mark reviewed: `{ "action": "claim" }`, `{ "action": "snooze",
 * "until": <epoch ms> }` … 409 when another rep claimed it first (the message names them).
 * JSON only (415 otherwise), so no cross-site form can post one.
 */
export const POST: RequestHandler = async ({ locals, params, request }) => {
  const user = requireApiUser(locals, 'leads:work');
  const parsed = leadActionSchema.safeParse(await readJsonBody(request));
  if (!parsed.success) return json({ message: `Send an action: ${issues(parsed.error.issues)}` }, { status: 400 });
  const ctx = getContext();
  const result = await actOnLead(leadDepsFrom(ctx), user, params.leadId, parsed.data);
  if (!result.ok) return json({ message: result.message }, { status: result.status });
  publishLeadChange(ctx, user.orgId, result.rows, user.userId);
  return json({ ok: true });
};

const issues = (list: { path: PropertyKey[]; message: string }[]) => list.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
