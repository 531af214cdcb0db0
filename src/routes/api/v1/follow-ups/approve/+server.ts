import { error, json } from '@sveltejs/kit';
import { approveFollowUpSchema } from '$lib/contracts/follow-ups';
import { requireApiUser } from '$lib/server/auth/guard';
import { getContext } from '$lib/server/context';
import { describeIssues, readJsonBody } from '$lib/server/json-body';
import { approveFollowUp } from '$lib/server/follow-ups/approve';
import { publishLeadChange } from '$lib/server/lead-changes';
import type { RequestHandler } from './$types';

/**
 * A person approves a follow-up as edited: recorded in the ledger first, then handed to the
 * outbound webhook. The answer says what happened to it: pending (being delivered), or
 * not_configured (recorded, not sent: no webhook).
 */
export const POST: RequestHandler = async ({ locals, request }) => {
  const user = requireApiUser(locals, 'leads:work');
  const body = approveFollowUpSchema.safeParse(await readJsonBody(request));
  if (!body.success) error(400, describeIssues(body.error.issues));
  const ctx = getContext();
  const result = await approveFollowUp(ctx, user, body.data);
  if (!result.ok) error(result.status, result.message);
  publishLeadChange(ctx, user.orgId, result.rows, user.userId);
  return json({ approvalId: result.approvalId, delivery: result.delivery });
};
