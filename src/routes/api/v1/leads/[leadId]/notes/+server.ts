import { json } from '@sveltejs/kit';
import { leadNoteSchema } from '$lib/contracts/inbox';
import { requireApiUser } from '$lib/server/auth/guard';
import { getContext } from '$lib/server/context';
import { readJsonBody } from '$lib/server/json-body';
import { addNote, leadDepsFrom } from '$lib/server/lead-actions';
import { answerLeadWrite } from '$lib/server/lead-changes';
import type { RequestHandler } from './$types';

/** A note on the lead's timeline: `{ "text": "…" }`. JSON only (415 otherwise), so no cross-site form can post one. */
export const POST: RequestHandler = async ({ locals, params, request }) => {
  const user = requireApiUser(locals, 'leads:work');
  const parsed = leadNoteSchema.safeParse(await readJsonBody(request));
  if (!parsed.success) return json({ message: 'Write a note of 1 to 2,000 characters.' }, { status: 400 });
  const ctx = getContext();
  return answerLeadWrite(ctx, user, await addNote(leadDepsFrom(ctx), user, params.leadId, parsed.data.text));
};
