import { redirect } from '@sveltejs/kit';
import { can, homeFor } from '$lib/contracts/auth';
import { wallRoom } from '$lib/contracts/realtime';
import { getContext } from '$lib/server/context';
import { findOrganisation, listUsers } from '$lib/server/db/queries/identity';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async ({ locals, setHeaders, url }) => {
  if (!locals.user) redirect(303, '/login');
  // The wall is for managers and RevOps; everyone else starts on their own home page.
  if (!can(locals.user.role, 'wall:view')) redirect(303, homeFor(locals.user.role));
  // Live data: never let the back button show it from the cache after logout.
  setHeaders({ 'cache-control': 'no-store' });
  const ctx = getContext();
  const [snapshot, org, users] = await Promise.all([
    ctx.fanout.snapshot(locals.user.orgId),
    findOrganisation(ctx.clickhouse, locals.user.orgId),
    listUsers(ctx.clickhouse, locals.user.orgId)
  ]);
  return {
    snapshot,
    org: { name: org?.name ?? locals.user.orgId },
    wallRoom: wallRoom(locals.user.orgId),
    // Names for "claimed by …": this organisation's people only.
    people: Object.fromEntries(users.map((u) => [u.userId, u.name])),
    canAct: can(locals.user.role, 'exceptions:act'),
    /** ?kiosk: a TV on the wall — no navigation, no buttons. */
    kiosk: url.searchParams.has('kiosk'),
    user: { userId: locals.user.userId, name: locals.user.name, role: locals.user.role }
  };
};
