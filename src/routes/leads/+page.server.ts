import { can } from '$lib/contracts/auth';
import { requirePageUser } from '$lib/server/auth/guard';
import { getContext } from '$lib/server/context';
import { listUsers } from '$lib/server/db/queries/identity';
import { listLeads } from '$lib/server/db/queries/leads';
import { error } from '@sveltejs/kit';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async ({ locals, setHeaders }) => {
  const user = requirePageUser(locals);
  const seesAll = can(user.role, 'leads:view-all');
  if (!seesAll && !can(user.role, 'leads:view-own')) error(403, 'Your role does not allow this page.');
  setHeaders({ 'cache-control': 'no-store' });
  const ctx = getContext();
  const [leads, users] = await Promise.all([
    // A rep sees the leads assigned to them; a manager the whole organisation's.
    listLeads(ctx.clickhouse, user.orgId, { ownerId: seesAll ? undefined : user.userId, count: 200 }),
    listUsers(ctx.clickhouse, user.orgId)
  ]);
  const names = new Map(users.map((u) => [u.userId, u.name]));
  return {
    scope: seesAll ? ('all' as const) : ('mine' as const),
    leads: leads.map((l) => ({ ...l, ownerName: names.get(l.ownerId) ?? '' }))
  };
};
