import { redirect } from '@sveltejs/kit';
import { deleteSessionCookie } from '$lib/server/auth/cookies';
import { requirePageUser } from '$lib/server/auth/guard';
import { invalidateUserSessions } from '$lib/server/auth/session';
import { endLiveSessions } from '$lib/server/realtime/attach';
import { getContext } from '$lib/server/context';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = ({ locals, setHeaders }) => {
  const user = requirePageUser(locals);
  // The back button after "log out everywhere" must not show the account from the cache.
  setHeaders({ 'cache-control': 'no-store' });
  return { user: { name: user.name, email: user.email, role: user.role } };
};

export const actions: Actions = {
  /** Revokes every session of the caller (this browser's included) and signs this one out. */
  everywhere: async ({ locals, cookies }) => {
    const user = requirePageUser(locals);
    await invalidateUserSessions(getContext().clickhouse, user.orgId, user.userId);
    await endLiveSessions(user.userId);
    deleteSessionCookie(cookies);
    redirect(303, '/login');
  }
};
