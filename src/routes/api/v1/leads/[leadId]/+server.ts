import { error, json } from '@sveltejs/kit';
import { requireApiUser } from '$lib/server/auth/guard';
import { getContext } from '$lib/server/context';
import { accessLead, leadDetail } from '$lib/server/leads';
import type { RequestHandler } from './$types';

/** A lead and its timeline: 401 signed out, 404 not in the caller's organisation, 403 not theirs to see. */
export const GET: RequestHandler = async ({ locals, params, setHeaders }) => {
  const user = requireApiUser(locals);
  const ctx = getContext();
  const access = await accessLead(ctx, user, params.leadId);
  if (!access.ok) error(access.status, access.message);
  setHeaders({ 'cache-control': 'no-store' });
  return json(await leadDetail(ctx, user, access.lead));
};
