import { error, json } from '@sveltejs/kit';
import { requireApiUser } from '$lib/server/auth/guard';
import { getContext } from '$lib/server/context';
import type { RequestHandler } from './$types';

/**
 * "Retrain now": starts a run in the background and answers 202 with it; progress and the result
 * reach the model page over the socket. A run already going is returned, not doubled.
 */
export const POST: RequestHandler = async ({ locals }) => {
  const user = requireApiUser(locals, 'models:manage');
  // The active trainer may be another process (issue 8): the bus finds it.
  const answer = await getContext().bus.modelCommand({ kind: 'retrain', orgId: user.orgId });
  if (answer?.kind !== 'retrain') error(503, 'No trainer process is running; training starts when one is.');
  return json(answer.run, { status: 202 });
};
