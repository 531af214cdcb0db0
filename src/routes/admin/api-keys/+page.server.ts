import { fail } from '@sveltejs/kit';
import { apiKeyRefSchema, createOrgApiKey, listOrgApiKeys, newApiKeySchema, revokeOrgApiKey } from '$lib/server/admin/api-keys';
import { requirePageUser } from '$lib/server/auth/guard';
import { getContext } from '$lib/server/context';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async ({ locals, setHeaders }) => {
  const actor = requirePageUser(locals, 'api-keys:manage');
  // The back button after logout must not show the list from the cache.
  setHeaders({ 'cache-control': 'no-store' });
  return { keys: await listOrgApiKeys(getContext().clickhouse, actor) };
};

/** A text field of the form; a missing field or a file upload reads as empty. */
function text(form: FormData, name: string): string {
  const value = form.get(name);
  return typeof value === 'string' ? value : '';
}

// Every action checks the permission itself: a POST reaches an action without running `load`.
// The organisation always comes from the session; a key id from the form must belong to it.
export const actions: Actions = {
  create: async ({ locals, request }) => {
    const actor = requirePageUser(locals, 'api-keys:manage');
    const echo = { action: 'create' as const, name: text(await request.formData(), 'name') };
    const parsed = newApiKeySchema.safeParse(echo);
    if (!parsed.success) return fail(400, { message: parsed.error.issues[0]?.message ?? 'Check the form.', ...echo });
    const result = await createOrgApiKey(getContext().clickhouse, actor, parsed.data);
    if (!result.ok) return fail(result.status, { message: result.message, ...echo });
    return { action: 'create' as const, notice: `Created the key “${result.name}”.`, keyName: result.name, token: result.token };
  },

  revoke: async ({ locals, request }) => {
    const actor = requirePageUser(locals, 'api-keys:manage');
    const echo = { action: 'revoke' as const, keyId: text(await request.formData(), 'keyId') };
    const parsed = apiKeyRefSchema.safeParse(echo);
    if (!parsed.success) return fail(400, { message: parsed.error.issues[0]?.message ?? 'Check the form.', ...echo });
    const result = await revokeOrgApiKey(getContext().clickhouse, actor, parsed.data);
    if (!result.ok) return fail(result.status, { message: result.message, ...echo });
    return { action: 'revoke' as const, notice: 'Key revoked. Agents using it are refused within a few seconds.' };
  }
};
