import { error, json } from '@sveltejs/kit';
import { draftRequestSchema, type FollowUpDraft } from '$lib/contracts/follow-ups';
import type { LeadSummary } from '$lib/contracts/leads';
import { requireApiUser } from '$lib/server/auth/guard';
import { getContext } from '$lib/server/context';
import { readJsonBody } from '$lib/server/json-body';
import { draftContextsFor } from '$lib/server/follow-ups/context';
import { draftFollowUp } from '$lib/server/follow-ups/draft';
import { findWorkableLead } from '$lib/server/lead-actions';
import type { RequestHandler } from './$types';

/**
 * Draft follow-ups for leads the caller may work. Drafting sends nothing: a draft only leaves
 * Pipewall through POST /api/v1/follow-ups/approve. Leads the caller may not work are listed in
 * `refused`; when none could be drafted the answer is that refusal (404/403), so nothing about
 * another organisation's ids is confirmed.
 */
export const POST: RequestHandler = async ({ locals, request }) => {
  const user = requireApiUser(locals, 'leads:work');
  const body = draftRequestSchema.safeParse(await readJsonBody(request));
  if (!body.success) error(400, 'Send {"leadIds": ["…"]} with 1 to 50 lead ids.');
  const ctx = getContext();
  const ids = [...new Set(body.data.leadIds)];
  const found = await Promise.all(ids.map((id) => findWorkableLead(ctx.clickhouse, user, id)));
  const workable: LeadSummary[] = [];
  const refused: { leadId: string; message: string }[] = [];
  found.forEach((f, i) => (f.ok ? workable.push(f.lead) : refused.push({ leadId: ids[i]!, message: f.message })));
  if (workable.length === 0) {
    const first = found.find((f) => !f.ok);
    error(first && !first.ok ? first.status : 404, first && !first.ok ? first.message : 'No such lead.');
  }
  const contexts = await draftContextsFor(ctx, user, workable);
  // One at a time: a model answers in seconds, and 50 parallel calls would hit its rate limit.
  // The batch has one budget (two model timeouts): past it the rest are templates, so a hanging
  // model cannot keep a person waiting 50 × the timeout.
  const deadline = Date.now() + 2 * ctx.config.OPENAI_TIMEOUT_MS;
  const drafts: FollowUpDraft[] = [];
  for (const c of contexts) drafts.push(await draftFollowUp(c, Date.now() < deadline ? ctx.language : null, ctx.log));
  return json({ drafts, refused });
};
