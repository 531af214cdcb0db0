import { can } from '$lib/contracts/auth';
import { modelsRoom } from '$lib/contracts/realtime';
import { requirePageUser } from '$lib/server/auth/guard';
import { getContext } from '$lib/server/context';
import { modelPageFor } from '$lib/server/model-page';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async ({ locals, setHeaders }) => {
  const user = requirePageUser(locals, 'models:view');
  setHeaders({ 'cache-control': 'no-store' });
  return {
    model: await modelPageFor(getContext(), user.orgId),
    canManage: can(user.role, 'models:manage'),
    // The browser does not otherwise know its organisation id; the server still checks the join.
    modelsRoom: modelsRoom(user.orgId)
  };
};
