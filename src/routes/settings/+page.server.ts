import { fail } from '@sveltejs/kit';
import { exceptionSettingsSchema } from '$lib/contracts/exceptions';
import { requirePageUser } from '$lib/server/auth/guard';
import { getContext } from '$lib/server/context';
import { loadExceptionSettings, saveExceptionSettings } from '$lib/server/db/queries/org-settings';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async ({ locals, setHeaders }) => {
  const user = requirePageUser(locals, 'settings:manage');
  setHeaders({ 'cache-control': 'no-store' });
  return { settings: await loadExceptionSettings(getContext().clickhouse, user.orgId) };
};

const NUMBER_FIELDS = ['silentAfterHours', 'stalledMinSamples', 'attendanceGraceHours', 'outcomeAfterDays', 'defaultDealValue'] as const;

export const actions: Actions = {
  // The permission is checked here too: a POST reaches an action without running `load`.
  save: async ({ locals, request }) => {
    const user = requirePageUser(locals, 'settings:manage');
    const form = await request.formData();
    const input: Record<string, unknown> = { currency: String(form.get('currency') ?? '').trim().toUpperCase() };
    for (const field of NUMBER_FIELDS) {
      const raw = String(form.get(field) ?? '').trim();
      input[field] = raw === '' ? undefined : Number(raw);
    }
    const parsed = exceptionSettingsSchema.safeParse(input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return fail(400, { message: `${issue?.path.join('.') || 'settings'}: ${issue?.message ?? 'invalid'}` });
    }
    const ctx = getContext();
    await saveExceptionSettings(ctx.clickhouse, user.orgId, user.userId, parsed.data, Date.now());
    ctx.fanout.settingsChanged(user.orgId);
    return { notice: 'Saved. The wall recomputes its exceptions now.' };
  }
};
