import { json } from '@sveltejs/kit';
import { requireApiUser } from '$lib/server/auth/guard';
import { getContext } from '$lib/server/context';
import type { RequestHandler } from './$types';

/** The wall's current snapshot, for roles that may see the wall. */
export const GET: RequestHandler = async ({ locals, setHeaders }) => {
  const user = requireApiUser(locals, 'wall:view');
  setHeaders({ 'cache-control': 'no-store' });
  return json(await getContext().fanout.snapshot(user.orgId));
};
