import { fail, redirect } from '@sveltejs/kit';
import { setSessionCookie } from '$lib/server/auth/cookies';
import { verifyPassword } from '$lib/server/auth/password';
import { createSession } from '$lib/server/auth/session';
import { isDevelopment } from '$lib/server/config';
import { getContext } from '$lib/server/context';
import { findUserByEmail } from '$lib/server/db/queries/identity';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = ({ locals }) => {
  if (locals.user) redirect(303, '/');
};

export const actions: Actions = {
  default: async ({ request, cookies }) => {
    const form = await request.formData();
    const email = String(form.get('email') ?? '').trim().toLowerCase();
    const password = String(form.get('password') ?? '');
    if (!email || !password) return fail(400, { message: 'Enter your email and password.', email });
    const ctx = getContext();
    const user = await findUserByEmail(ctx.clickhouse, email);
    // One message for every failure, so the form does not reveal which emails exist.
    if (!user || !user.active || !(await verifyPassword(user.passwordHash, password))) {
      return fail(400, { message: 'Email or password is wrong.', email });
    }
    const { token, session } = await createSession(ctx.clickhouse, user, { ttlMs: ctx.config.SESSION_TTL_HOURS * 3_600_000 });
    setSessionCookie(cookies, token, session.expiresAt, !isDevelopment(ctx.config));
    redirect(303, '/');
  }
};
