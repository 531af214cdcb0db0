import { redirect } from '@sveltejs/kit';
import { getContext } from '$lib/server/context';
import { findOrganisation } from '$lib/server/db/queries/identity';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async ({ locals, setHeaders }) => {
  if (!locals.user) redirect(303, '/login');
  // Live data: never let the back button show it from the cache after logout.
  setHeaders({ 'cache-control': 'no-store' });
  const ctx = getContext();
  const [snapshot, org] = await Promise.all([
    ctx.fanout.snapshot(locals.user.orgId),
    findOrganisation(ctx.clickhouse, locals.user.orgId)
  ]);
  return {
    snapshot,
    org: { name: org?.name ?? locals.user.orgId },
    user: { name: locals.user.name, role: locals.user.role }
  };
};
