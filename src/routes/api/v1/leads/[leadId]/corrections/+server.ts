import { json } from '@sveltejs/kit';
import { leadCorrectionSchema } from '$lib/contracts/inbox';
import { requireApiUser } from '$lib/server/auth/guard';
import { getContext } from '$lib/server/context';
import { describeIssues, readJsonBody } from '$lib/server/json-body';
import { correctLead, leadDepsFrom } from '$lib/server/lead-actions';
import { answerLeadWrite } from '$lib/server/lead-changes';
import type { RequestHandler } from './$types';

/**
 * A reviewer corrects what the AI wrote: `{ "kind": "stage", "stage": "qualified" }`,
 * `{ "kind": "intent", "intent": "…" }` or `{ "kind": "unmerge", "mergedLeadId": "…" }`.
 * JSON only (415 otherwise): a cross-site form cannot send it, so no form post can correct a lead.
 */
export const POST: RequestHandler = async ({ locals, params, request }) => {
  const user = requireApiUser(locals, 'leads:work');
  const parsed = leadCorrectionSchema.safeParse(await readJsonBody(request));
  if (!parsed.success) return json({ message: `Send a correction: ${describeIssues(parsed.error.issues)}` }, { status: 400 });
  const ctx = getContext();
  return answerLeadWrite(ctx, user, await correctLead(leadDepsFrom(ctx), user, params.leadId, parsed.data));
};
