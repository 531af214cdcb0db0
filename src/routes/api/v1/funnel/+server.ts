import { json } from '@sveltejs/kit';
import type { FunnelView } from '$lib/contracts/funnel';
import { requireApiUser } from '$lib/server/auth/guard';
import { getContext } from '$lib/server/context';
import { funnelSteps } from '$lib/server/db/queries/funnel';
import { funnelQueryFromUrl } from '$lib/server/funnel-request';
import type { RequestHandler } from './$types';

/** The drop-off funnel of the caller's organisation for a window (and split), for wall viewers. */
export const GET: RequestHandler = async ({ locals, url, setHeaders }) => {
  const user = requireApiUser(locals, 'wall:view');
  const { preset, query } = funnelQueryFromUrl(url);
  setHeaders({ 'cache-control': 'no-store' });
  const view: FunnelView = { preset, from: query.from, to: query.to, result: await funnelSteps(getContext().clickhouse, user.orgId, query) };
  return json(view);
};
