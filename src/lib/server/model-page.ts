import type { ModelPage } from '../contracts/model-registry';
import type { AppContext } from './app-context';

/**
 * The model page from any process (issue 8): the registry is in ClickHouse, but a run in
 * progress is held by the active trainer, which may be another process; it is asked for it.
 */
export async function modelPageFor(ctx: Pick<AppContext, 'bus' | 'models' | 'isTrainer' | 'config'>, orgId: string): Promise<ModelPage> {
  if (ctx.isTrainer() || !ctx.config.REDIS_URL) return ctx.models.trainer.page(orgId);
  const answer = await ctx.bus.modelCommand({ kind: 'run', orgId });
  return ctx.models.trainer.page(orgId, answer?.kind === 'run' ? answer.run : null);
}
