import { json } from '@sveltejs/kit';
import { describeRoles } from '$lib/server/cluster/roles';
import { getContext } from '$lib/server/context';
import type { RequestHandler } from './$types';

/**
 * For load balancers and operators (issue 8): what this process does and whether it is the
 * active trainer. No organisation's data, so no session is needed.
 */
export const GET: RequestHandler = () => {
  const ctx = getContext();
  return json({
    ok: true,
    processId: ctx.coordinator.processId,
    roles: describeRoles(ctx.config.PIPEWALL_ROLES),
    trainer: ctx.isTrainer(),
    clustered: ctx.config.REDIS_URL !== undefined
  });
};
