import type { ParsedQuery } from '../../contracts/lead-query';
import type { Logger } from '../log';
import type { LanguageModel } from '../openai';
import { parseLocally } from './local-parser';
import { queryFromModel } from './openai-query';

/**
 * A sentence from the query bar, understood. The local parser answers first (no network, the
 * same answer every time). The configured model is asked only for what the parser could not do
 * fully: a sentence it did not understand, or one where it had to skip words. Never for a
 * sentence refused as unsafe (a request to delete or change data, SQL): that refusal stands.
 * Either way the result is a validated LeadQuery, never SQL.
 */
export async function understand(text: string, now: number, model: LanguageModel | null, log?: Logger): Promise<ParsedQuery> {
  const local = parseLocally(text, now);
  if (!model) return local;
  if (local.ok && local.ignored.length === 0) return local;
  if (!local.ok && local.unsafe) return local;
  const remote = await queryFromModel(model, text, now, log);
  if (remote.ok) return remote;
  // The parser's partial reading beats nothing; its refusal says what would work.
  return local.ok ? local : { ok: false, message: `${local.message} The assistant could not help either: ${remote.message}` };
}
