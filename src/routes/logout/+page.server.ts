import { redirect } from '@sveltejs/kit';
import { deleteSessionCookie } from '$lib/server/auth/cookies';
import { invalidateSession } from '$lib/server/auth/session';
import { getContext } from '$lib/server/context';
import { endLiveSessions } from '$lib/server/realtime/attach';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = () => redirect(303, '/');

export const actions: Actions = {
  default: async ({ locals, cookies }) => {
    if (locals.session) {
      await invalidateSession(getContext().clickhouse, locals.session);
      await endLiveSessions(locals.session.userId, locals.session.sessionId);
    }
    deleteSessionCookie(cookies);
    redirect(303, '/login');
  }
};
