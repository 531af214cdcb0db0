import { error, json } from '@sveltejs/kit';
import { askRequestSchema } from '$lib/contracts/lead-query';
import { requireApiUser } from '$lib/server/auth/guard';
import { getContext } from '$lib/server/context';
import { readJsonBody } from '$lib/server/json-body';
import { understand } from '$lib/server/ask/understand';
import type { RequestHandler } from './$types';

/**
 * The query bar: `{ "text": "deals over 50k with no activity in 14 days" }` → the understood
 * query (200) or a refusal that says what would work (422). It only reads the sentence; the
 * inbox runs the filter (GET /api/v1/inbox), after the person has seen and could edit it.
 */
export const POST: RequestHandler = async ({ locals, request }) => {
  requireApiUser(locals, 'leads:work');
  const body = askRequestSchema.safeParse(await readJsonBody(request));
  if (!body.success) error(400, 'Send {"text": "…"} with 1 to 500 characters.');
  const ctx = getContext();
  const parsed = await understand(body.data.text, Date.now(), ctx.language, ctx.log);
  if (!parsed.ok) return json({ ok: false, message: parsed.message }, { status: 422 });
  return json(parsed);
};
