import { error } from '@sveltejs/kit';
import { can } from '$lib/contracts/auth';
import { inboxRequestSchema, type InboxRequest } from '$lib/contracts/inbox';
import { inboxRoom } from '$lib/contracts/realtime';
import { requirePageUser } from '$lib/server/auth/guard';
import { getContext } from '$lib/server/context';
import { listUsers } from '$lib/server/db/queries/identity';
import { loadExceptionSettings } from '$lib/server/db/queries/org-settings';
import { buildInbox } from '$lib/server/inbox';
import type { PageServerLoad } from './$types';

/**
 * The question in the address (?view=mine&filter=<JSON>&hidden=1), so a reload or a shared link
 * shows the same list. A link that no longer parses (an old bookmark) opens the plain inbox and
 * says so, rather than refusing the page.
 */
function requestFromUrl(url: URL, canViewAll: boolean): { request: InboxRequest; problem: string } {
  const params = url.searchParams;
  let filter: unknown = undefined;
  const rawFilter = params.get('filter');
  if (rawFilter) {
    try {
      filter = JSON.parse(rawFilter) as unknown;
    } catch {
      filter = null; // not JSON: refused by the schema below like any other bad filter
    }
  }
  const parsed = inboxRequestSchema.safeParse({
    view: params.get('view') ?? undefined,
    filter,
    includeHidden: params.get('hidden') === '1'
  });
  if (!parsed.success) {
    return { request: inboxRequestSchema.parse({}), problem: 'The link’s filter could not be read, so the whole inbox is shown.' };
  }
  // "All" is for people who may see everyone's leads; anyone else gets their queue.
  if (parsed.data.view === 'all' && !canViewAll) return { request: { ...parsed.data, view: 'queue' }, problem: '' };
  return { request: parsed.data, problem: '' };
}

export const load: PageServerLoad = async ({ locals, url, setHeaders }) => {
  // Refuses (403) a role that cannot work leads; a signed-out visitor goes to the login page.
  const user = requirePageUser(locals, 'leads:work');
  // Live data: never let the back button show it from the cache after logout.
  setHeaders({ 'cache-control': 'no-store' });
  const canViewAll = can(user.role, 'leads:view-all');
  const { request, problem } = requestFromUrl(url, canViewAll);
  const ctx = getContext();
  const [result, users, settings] = await Promise.all([
    buildInbox(ctx, user, request),
    listUsers(ctx.clickhouse, user.orgId),
    loadExceptionSettings(ctx.clickhouse, user.orgId)
  ]);
  if (!result.ok) error(result.status, result.message);
  const { ok: _ok, ...inbox } = result;
  const active = users.filter((u) => u.active);
  return {
    inbox,
    request,
    problem,
    room: inboxRoom(user.orgId),
    me: user.userId,
    canViewAll,
    /** The organisation's currency: the filter's amounts are in it. */
    currency: settings.currency,
    // Names for "claimed by …" (this organisation's people only), and owners a manager can pick.
    people: Object.fromEntries(users.map((u) => [u.userId, u.name])),
    owners: canViewAll ? active.filter((u) => can(u.role, 'leads:work')).map((u) => u.name) : []
  };
};
