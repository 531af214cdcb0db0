import { error, json } from '@sveltejs/kit';
import { z } from 'zod';
import { requireApiUser } from '$lib/server/auth/guard';
import { getContext } from '$lib/server/context';
import type { RequestHandler } from './$types';

const bodySchema = z.strictObject({ versionId: z.string().min(1).max(100) });

/** Make an earlier version active again; the decision is logged with who made it. */
export const POST: RequestHandler = async ({ locals, request }) => {
  const user = requireApiUser(locals, 'models:manage');
  const parsed = bodySchema.safeParse(await request.json().catch(() => undefined));
  if (!parsed.success) error(400, 'send { "versionId": "…" }');
  // On the active trainer, wherever it runs (issue 8), so its scorer switches models at once.
  const answer = await getContext().bus.modelCommand({ kind: 'rollback', orgId: user.orgId, versionId: parsed.data.versionId, actor: `human:${user.userId}` });
  if (answer?.kind !== 'rollback') error(503, 'No trainer process is running; try again in a moment.');
  const result = answer.result;
  if (!result.ok) error(result.reason === 'No such version.' ? 404 : 409, result.reason);
  return json({ ok: true });
};
