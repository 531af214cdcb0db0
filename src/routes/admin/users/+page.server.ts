import { fail } from '@sveltejs/kit';
import { roles } from '$lib/contracts/auth';
import {
  activateUser,
  changeUserRole,
  createUser,
  deactivateUser,
  describeFormProblem,
  listOrgUsers,
  newUserSchema,
  roleChangeSchema,
  userRefSchema
} from '$lib/server/admin/users';
import { requirePageUser } from '$lib/server/auth/guard';
import { getContext } from '$lib/server/context';
import { endLiveSessions } from '$lib/server/realtime/attach';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async ({ locals, setHeaders }) => {
  const actor = requirePageUser(locals, 'users:manage');
  // The back button after logout must not show the list from the cache.
  setHeaders({ 'cache-control': 'no-store' });
  return { users: await listOrgUsers(getContext().clickhouse, actor), myUserId: actor.userId, roles };
};

/** A text field of the form; a missing field or a file upload reads as empty. */
function text(form: FormData, name: string): string {
  const value = form.get(name);
  return typeof value === 'string' ? value : '';
}

// Every action checks the permission itself: a POST reaches an action without running `load`.
// The organisation always comes from the session; ids from the form are looked up inside it.
export const actions: Actions = {
  create: async ({ locals, request }) => {
    const actor = requirePageUser(locals, 'users:manage');
    const form = await request.formData();
    const echo = { action: 'create' as const, name: text(form, 'name'), email: text(form, 'email'), role: text(form, 'role') };
    const parsed = newUserSchema.safeParse(echo);
    if (!parsed.success) return fail(400, { message: describeFormProblem(parsed.error), ...echo });
    const result = await createUser(getContext().clickhouse, actor, parsed.data);
    if (!result.ok) return fail(result.status, { message: result.message, ...echo });
    return {
      action: 'create' as const,
      notice: `Added ${result.user.name} as ${result.user.role}.`,
      createdEmail: result.user.email,
      temporaryPassword: result.temporaryPassword
    };
  },

  role: async ({ locals, request }) => {
    const actor = requirePageUser(locals, 'users:manage');
    const form = await request.formData();
    const echo = { action: 'role' as const, userId: text(form, 'userId'), role: text(form, 'role') };
    const parsed = roleChangeSchema.safeParse(echo);
    if (!parsed.success) return fail(400, { message: describeFormProblem(parsed.error), ...echo });
    const result = await changeUserRole(getContext().clickhouse, actor, parsed.data);
    if (!result.ok) return fail(result.status, { message: result.message, ...echo });
    return { action: 'role' as const, notice: `${result.user.name} is now ${result.user.role}.` };
  },

  deactivate: async ({ locals, request }) => {
    const actor = requirePageUser(locals, 'users:manage');
    const form = await request.formData();
    const echo = { action: 'deactivate' as const, userId: text(form, 'userId') };
    const parsed = userRefSchema.safeParse(echo);
    if (!parsed.success) return fail(400, { message: describeFormProblem(parsed.error), ...echo });
    const result = await deactivateUser(getContext().clickhouse, actor, parsed.data);
    if (!result.ok) return fail(result.status, { message: result.message, ...echo });
    await endLiveSessions(result.user.userId);
    return { action: 'deactivate' as const, notice: `${result.user.name} is deactivated and signed out everywhere.` };
  },

  activate: async ({ locals, request }) => {
    const actor = requirePageUser(locals, 'users:manage');
    const form = await request.formData();
    const echo = { action: 'activate' as const, userId: text(form, 'userId') };
    const parsed = userRefSchema.safeParse(echo);
    if (!parsed.success) return fail(400, { message: describeFormProblem(parsed.error), ...echo });
    const result = await activateUser(getContext().clickhouse, actor, parsed.data);
    if (!result.ok) return fail(result.status, { message: result.message, ...echo });
    return { action: 'activate' as const, notice: `${result.user.name} can sign in again.` };
  }
};
