import { fail, redirect } from '@sveltejs/kit';
import { homeFor } from '$lib/contracts/auth';
import { setSessionCookie } from '$lib/server/auth/cookies';
import { signIn } from '$lib/server/auth/sign-in';
import { isDevelopment } from '$lib/server/config';
import { getContext } from '$lib/server/context';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = ({ locals }) => {
  if (locals.user) redirect(303, homeFor(locals.user.role));
};

export const actions: Actions = {
  default: async ({ request, cookies, getClientAddress }) => {
    const form = await request.formData();
    const email = String(form.get('email') ?? '').trim().toLowerCase();
    const password = String(form.get('password') ?? '');
    const ctx = getContext();
    const result = await signIn(ctx, { email, password, address: getClientAddress() });
    if (!result.ok) return fail(result.status, { message: result.message, email });
    setSessionCookie(cookies, result.token, result.session.expiresAt, !isDevelopment(ctx.config));
    redirect(303, homeFor(result.user.role));
  }
};
