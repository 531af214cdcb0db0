import { error, fail } from '@sveltejs/kit';
import { can } from '$lib/contracts/auth';
import { assignLeadSchema } from '$lib/contracts/leads';
import { requirePageUser } from '$lib/server/auth/guard';
import { getContext } from '$lib/server/context';
import { accessLead, assignableUsers, assignLead, leadDetail } from '$lib/server/leads';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async ({ locals, params, setHeaders }) => {
  const user = requirePageUser(locals);
  const ctx = getContext();
  const access = await accessLead(ctx, user, params.leadId);
  if (!access.ok) error(access.status, access.message);
  setHeaders({ 'cache-control': 'no-store' });
  const canAssign = can(user.role, 'leads:assign');
  return {
    ...(await leadDetail(ctx, user, access.lead)),
    canAssign,
    assignees: canAssign ? await assignableUsers(ctx, user.orgId) : []
  };
};

export const actions: Actions = {
  assign: async ({ locals, params, request }) => {
    const user = requirePageUser(locals);
    const parsed = assignLeadSchema.safeParse(Object.fromEntries(await request.formData()));
    if (!parsed.success) return fail(400, { message: 'Choose who should own this lead.' });
    const result = await assignLead(getContext(), user, params.leadId, parsed.data.ownerId);
    if (!result.ok) return fail(result.status, { message: result.message });
    return { assigned: true };
  }
};
