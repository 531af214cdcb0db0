import { error, json } from '@sveltejs/kit';
import { funnelStepSchema } from '$lib/contracts/funnel';
import { requireApiUser } from '$lib/server/auth/guard';
import { getContext } from '$lib/server/context';
import { dropOffLeads, stopReasons } from '$lib/server/db/queries/funnel';
import { funnelQueryFromUrl } from '$lib/server/funnel-request';
import type { RequestHandler } from './$types';

const LEADS_SHOWN = 50;

/** Who stopped at `step` in the window, with their last event, and why leads stop there. */
export const GET: RequestHandler = async ({ locals, url, setHeaders }) => {
  const user = requireApiUser(locals, 'wall:view');
  const step = funnelStepSchema.safeParse(url.searchParams.get('step'));
  if (!step.success) error(400, 'step must be one of enquired, qualified, booked, attended, won');
  const { query } = funnelQueryFromUrl(url);
  const ch = getContext().clickhouse;
  setHeaders({ 'cache-control': 'no-store' });
  const [leads, reasons] = await Promise.all([dropOffLeads(ch, user.orgId, step.data, query, LEADS_SHOWN), stopReasons(ch, user.orgId, query)]);
  return json({ step: step.data, leads, reasons: reasons.find((r) => r.step === step.data) ?? null });
};
