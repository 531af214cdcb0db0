import { error, redirect } from '@sveltejs/kit';
import { can, type Permission, type SessionUser } from '../../contracts/auth';

/**
 * Guards for routes. Pages send a signed-out visitor to the login page; JSON endpoints answer
 * 401. A signed-in user without the permission gets 403. Nothing of the resource is read before
 * the guard passes, so a refusal carries no data.
 */
export function requirePageUser(locals: App.Locals, permission?: Permission): SessionUser {
  if (!locals.user) redirect(303, '/login');
  if (permission && !can(locals.user.role, permission)) error(403, 'Your role does not allow this page.');
  return locals.user;
}

export function requireApiUser(locals: App.Locals, permission?: Permission): SessionUser {
  if (!locals.user) error(401, 'Sign in first.');
  if (permission && !can(locals.user.role, permission)) error(403, 'Your role does not allow this.');
  return locals.user;
}
