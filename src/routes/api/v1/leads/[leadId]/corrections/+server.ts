import { json } from '@sveltejs/kit';
import { leadCorrectionSchema } from '$lib/contracts/inbox';
import { requireApiUser } from '$lib/server/auth/guard';
import { getContext } from '$lib/server/context';
import { readJsonBody } from '$lib/server/json-body';
import { correctLead, leadDepsFrom } from '$lib/server/lead-actions';
import { publishLeadChange } from '$lib/server/lead-changes';
import type { RequestHandler } from './$types';

/**
 * A reviewer corrects what the AI wrote: `{ "kind": "stage", "stage": "qualified" }`,
 * `{ "kind": "intent", "intent": "…" }` or `{ "kind": "unmerge", "mergedLeadId": "…" }`.
 * JSON only (415 otherwise): a cross-site form cannot send it, so no form post can correct a lead.
 */
export const POST: RequestHandler = async ({ locals, params, request }) => {
  const user = requireApiUser(locals, 'leads:work');
  const parsed = leadCorrectionSchema.safeParse(await readJsonBody(request));
  if (!parsed.success) return json({ message: `Send a correction: ${issues(parsed.error.issues)}` }, { status: 400 });
  const ctx = getContext();
  const result = await correctLead(leadDepsFrom(ctx), user, params.leadId, parsed.data);
  if (!result.ok) return json({ message: result.message }, { status: result.status });
  publishLeadChange(ctx, user.orgId, result.rows, user.userId);
  return json({ ok: true });
};

const issues = (list: { path: PropertyKey[]; message: string }[]) => list.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
