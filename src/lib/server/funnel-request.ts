import { error } from '@sveltejs/kit';
import {
  funnelPresetSchema,
  funnelQueryFor,
  funnelSplitSchema,
  type FunnelPreset,
  type FunnelQuery
} from '../contracts/funnel';

/**
 * The funnel query a request asks for: `preset` (today, 7d, 30d, or custom with `from`/`to`
 * days), optional `split` and `splitValue`. Bad parameters are a 400 that says which.
 */
export function funnelQueryFromUrl(url: URL, now = Date.now()): { preset: FunnelPreset; query: FunnelQuery } {
  const preset = funnelPresetSchema.safeParse(url.searchParams.get('preset') ?? '7d');
  if (!preset.success) error(400, 'preset must be today, 7d, 30d or custom');
  const base = funnelQueryFor(preset.data, now, {
    from: url.searchParams.get('from') ?? undefined,
    to: url.searchParams.get('to') ?? undefined
  });
  if (!base) error(400, 'custom needs from and to as YYYY-MM-DD, from not after to');
  const splitParam = url.searchParams.get('split');
  const split = splitParam === null || splitParam === '' ? undefined : funnelSplitSchema.safeParse(splitParam);
  if (split && !split.success) error(400, 'split must be channel or agent');
  const splitValue = url.searchParams.get('splitValue') ?? undefined;
  if (splitValue !== undefined && (!split || splitValue.length > 128)) error(400, 'splitValue needs split, at most 128 characters');
  return { preset: preset.data, query: { ...base, ...(split ? { split: split.data } : {}), ...(splitValue !== undefined ? { splitValue } : {}) } };
}
