import { json } from '@sveltejs/kit';
import { requireApiUser } from '$lib/server/auth/guard';
import { getContext } from '$lib/server/context';
import type { RequestHandler } from './$types';

/**
 * "Retrain now": starts a run in the background and answers 202 with it; progress and the result
 * reach the model page over the socket. A run already going is returned, not doubled.
 */
export const POST: RequestHandler = async ({ locals }) => {
  const user = requireApiUser(locals, 'models:manage');
  const run = getContext().models.trainer.retrain(user.orgId, 'manual');
  return json(run, { status: 202 });
};
