import type { LayoutServerLoad } from './$types';

/** The signed-in user (or null) for every page's navigation; never more than SessionUser holds. */
export const load: LayoutServerLoad = ({ locals }) => ({
  user: locals.user ? { userId: locals.user.userId, name: locals.user.name, role: locals.user.role } : null
});
