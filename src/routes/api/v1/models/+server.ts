import { json } from '@sveltejs/kit';
import { requireApiUser } from '$lib/server/auth/guard';
import { getContext } from '$lib/server/context';
import { modelPageFor } from '$lib/server/model-page';
import type { RequestHandler } from './$types';

/** The model page's data for the caller's organisation: versions, promotions, live accuracy, drift. */
export const GET: RequestHandler = async ({ locals, setHeaders }) => {
  const user = requireApiUser(locals, 'models:view');
  setHeaders({ 'cache-control': 'no-store' });
  return json(await modelPageFor(getContext(), user.orgId));
};
