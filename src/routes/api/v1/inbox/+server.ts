import { error, json } from '@sveltejs/kit';
import { inboxRequestSchema } from '$lib/contracts/inbox';
import { requireApiUser } from '$lib/server/auth/guard';
import { getContext } from '$lib/server/context';
import { buildInbox } from '$lib/server/inbox';
import { describeIssues } from '$lib/server/json-body';
import type { RequestHandler } from './$types';

/**
 * The caller's inbox: `view` (queue | mine | shared | all), `filter` (a LeadFilter as JSON, as
 * the query bar produced and the person edited it) and `hidden=1` for snoozed and reviewed
 * leads too. The filter is validated like any input; it never reaches SQL as text.
 */
export const GET: RequestHandler = async ({ locals, url, setHeaders }) => {
  const user = requireApiUser(locals, 'leads:work');
  let filter: unknown = {};
  const raw = url.searchParams.get('filter');
  if (raw) {
    try {
      filter = JSON.parse(raw);
    } catch {
      error(400, 'filter must be JSON, e.g. {"inactiveDays":14}');
    }
  }
  const parsed = inboxRequestSchema.safeParse({
    view: url.searchParams.get('view') ?? undefined,
    filter,
    includeHidden: url.searchParams.get('hidden') === '1'
  });
  if (!parsed.success) {
    error(400, describeIssues(parsed.error.issues, 'request'));
  }
  const result = await buildInbox(getContext(), user, parsed.data);
  if (!result.ok) error(result.status, result.message);
  setHeaders({ 'cache-control': 'no-store' });
  const { ok: _ok, ...response } = result;
  return json(response);
};
