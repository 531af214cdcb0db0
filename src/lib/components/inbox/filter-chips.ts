import { formatMoney } from '$lib/charts/format';
import { channels, channelWords, stages, type Stage } from '$lib/contracts/events';
import { exceptionKinds, type ExceptionKind } from '$lib/contracts/exceptions';
import { leadFilterSchema, scoreBands, type LeadFilter, type OwnerFilter, type ScoreBand } from '$lib/contracts/lead-query';

/**
 * A LeadFilter as chips a person can read, remove and edit (issue 7, item 4), and the inverse:
 * an edit of one chip back into a filter. Pure, so the query bar, the filter selects and the
 * tests all agree on one wording. Editing never builds a filter the server would refuse: every
 * result is checked with the contract's schema.
 */

export type NumberField = 'minValue' | 'maxValue' | 'inactiveDays' | 'activeWithinDays';
export type ChoiceField = 'stages' | 'channels' | 'scoreBands' | 'exceptionKinds';
export type DayField = 'createdFrom' | 'createdTo';
export type ChipField = NumberField | ChoiceField | DayField | 'owner' | 'intent';

export interface Choice {
  value: string;
  /** As it reads inside a sentence ("web chat"); capitalise for a select's option. */
  label: string;
}

/** In-sentence words for every value a choice field takes. */
export const stageWords: Readonly<Record<Stage, string>> = {
  enquired: 'enquired',
  qualified: 'qualified',
  booked: 'booked',
  attended: 'attended',
  won: 'won',
  lost: 'lost'
};
export const bandWords: Readonly<Record<ScoreBand, string>> = {
  high: 'high (60% or more)',
  medium: 'medium (30–60%)',
  low: 'low (under 30%)'
};
export const exceptionWords: Readonly<Record<ExceptionKind, string>> = {
  silent_after_qualification: 'silent after qualifying',
  stalled: 'stalled in stage',
  booked_not_attended: 'missed booking',
  attended_no_outcome: 'attended, no outcome',
  score_dropped: 'score dropped'
};

const choiceWords: Readonly<Record<ChoiceField, Readonly<Record<string, string>>>> = {
  stages: stageWords,
  channels: channelWords,
  scoreBands: bandWords,
  exceptionKinds: exceptionWords
};
const choiceOrder: Readonly<Record<ChoiceField, readonly string[]>> = {
  stages,
  channels,
  scoreBands,
  exceptionKinds
};
const choicePrefix: Readonly<Record<ChoiceField, string>> = {
  stages: 'Stage',
  channels: 'Channel',
  scoreBands: 'Score',
  exceptionKinds: 'Issue'
};

/** The values of a choice field, in the contract's order, with their words. */
export function choicesOf(field: ChoiceField): Choice[] {
  return choiceOrder[field].map((value) => ({ value, label: choiceWords[field][value] ?? value }));
}

export const capitalise = (words: string) => words.charAt(0).toUpperCase() + words.slice(1);

export type ChipEditor =
  | { kind: 'money'; value: number }
  | { kind: 'days'; value: number }
  | { kind: 'choices'; field: ChoiceField; selected: string[] }
  | { kind: 'owner'; value: OwnerFilter }
  | { kind: 'text'; value: string }
  | { kind: 'day'; value: string };

export interface FilterChip {
  field: ChipField;
  label: string;
  editor: ChipEditor;
}

export function ownerWords(owner: OwnerFilter): string {
  if (owner.kind === 'me') return 'me';
  if (owner.kind === 'unassigned') return 'nobody (unclaimed)';
  return owner.name;
}

/** The filter's conditions as chips, in a fixed reading order. `currency` is the organisation's. */
export function filterChips(filter: LeadFilter, currency: string): FilterChip[] {
  const chips: FilterChip[] = [];
  const money = (v: number) => formatMoney(v, currency);
  if (filter.minValue !== undefined)
    chips.push({ field: 'minValue', label: `Value ≥ ${money(filter.minValue)}`, editor: { kind: 'money', value: filter.minValue } });
  if (filter.maxValue !== undefined)
    chips.push({ field: 'maxValue', label: `Value ≤ ${money(filter.maxValue)}`, editor: { kind: 'money', value: filter.maxValue } });
  if (filter.inactiveDays !== undefined)
    chips.push({ field: 'inactiveDays', label: `No activity ≥ ${filter.inactiveDays} d`, editor: { kind: 'days', value: filter.inactiveDays } });
  if (filter.activeWithinDays !== undefined)
    chips.push({
      field: 'activeWithinDays',
      label: `Active in the last ${filter.activeWithinDays} d`,
      editor: { kind: 'days', value: filter.activeWithinDays }
    });
  for (const field of ['stages', 'channels', 'scoreBands', 'exceptionKinds'] as const) {
    const selected = filter[field];
    if (!selected) continue;
    const words = selected.map((v) => (choiceWords[field] as Record<string, string>)[v] ?? v).join(', ');
    chips.push({ field, label: `${choicePrefix[field]}: ${words}`, editor: { kind: 'choices', field, selected: [...selected] } });
  }
  if (filter.owner) chips.push({ field: 'owner', label: `Owner: ${ownerWords(filter.owner)}`, editor: { kind: 'owner', value: filter.owner } });
  if (filter.intent !== undefined)
    chips.push({ field: 'intent', label: `Intent contains “${filter.intent}”`, editor: { kind: 'text', value: filter.intent } });
  if (filter.createdFrom !== undefined)
    chips.push({ field: 'createdFrom', label: `First contact on or after ${filter.createdFrom}`, editor: { kind: 'day', value: filter.createdFrom } });
  if (filter.createdTo !== undefined)
    chips.push({ field: 'createdTo', label: `First contact on or before ${filter.createdTo}`, editor: { kind: 'day', value: filter.createdTo } });
  return chips;
}

/** The filter without one chip's condition. */
export function removeChip(filter: LeadFilter, field: ChipField): LeadFilter {
  const next: LeadFilter = { ...filter };
  delete next[field];
  return next;
}

/** One chip's new value, as its editor produced it. */
export type ChipEdit =
  | { field: NumberField; value: number }
  | { field: ChoiceField; values: string[] }
  | { field: 'owner'; owner: OwnerFilter | undefined }
  | { field: 'intent'; text: string }
  | { field: DayField; day: string };

export type EditResult = { ok: true; filter: LeadFilter } | { ok: false; message: string };

/**
 * The filter with one condition replaced. An empty choice list or blank text removes the
 * condition (that is what "nothing picked" means); anything the contract refuses comes back as
 * a message for the editor to show, and the filter stays as it was.
 */
export function editFilter(filter: LeadFilter, edit: ChipEdit): EditResult {
  const next: Record<string, unknown> = { ...filter };
  if ('value' in edit) next[edit.field] = edit.value;
  else if ('values' in edit) next[edit.field] = edit.values.length > 0 ? [...new Set(edit.values)] : undefined;
  else if (edit.field === 'owner') next.owner = edit.owner;
  else if (edit.field === 'intent') next.intent = edit.text.trim() || undefined;
  else next[edit.field] = edit.day || undefined;
  for (const key of Object.keys(next)) if (next[key] === undefined) delete next[key];
  const parsed = leadFilterSchema.safeParse(next);
  if (parsed.success) return { ok: true, filter: parsed.data };
  return { ok: false, message: messageFor(parsed.error.issues[0]?.path[0], parsed.error.issues[0]?.message) };
}

function messageFor(field: PropertyKey | undefined, zodMessage: string | undefined): string {
  if (field === 'maxValue') return 'The largest value must not be below the smallest.';
  if (field === 'createdTo') return 'The last day must not be before the first.';
  if (field === 'inactiveDays' || field === 'activeWithinDays') return 'Use a whole number of days from 1 to 3650.';
  if (field === 'minValue') return 'Use an amount of 0 or more.';
  if (field === 'intent' || field === 'owner') return 'Use at most 100 characters.';
  return zodMessage ?? 'That value is not allowed here.';
}

/**
 * What a person types for an amount: "50000", "50,000", "€50k", "1.5m", "50 000". Null when it
 * is not an amount, so the editor can say so instead of guessing.
 */
export function parseAmount(text: string): number | null {
  const m = /^(?:[€£$¥]|[A-Z]{3})?\s*(\d[\d\s,]*(?:\.\d+)?|\.\d+)\s*([km])?$/i.exec(text.trim());
  if (!m) return null;
  const base = Number(m[1]!.replace(/[\s,]/g, ''));
  if (!Number.isFinite(base)) return null;
  const scale = m[2]?.toLowerCase() === 'k' ? 1_000 : m[2]?.toLowerCase() === 'm' ? 1_000_000 : 1;
  return Math.round(base * scale * 100) / 100;
}

/** An amount as one would type it back: 50000 → "50k", 1500000 → "1.5m", 950 → "950". */
export function amountText(value: number): string {
  if (value >= 1_000_000 && value % 10_000 === 0) return `${value / 1_000_000}m`;
  if (value >= 1_000 && value % 100 === 0) return `${value / 1_000}k`;
  return String(value);
}

/** A whole number of days, as typed ("14", "14 d", "14 days"); null when it is not one. */
export function parseDays(text: string): number | null {
  const m = /^(\d{1,4})\s*(d|days?)?$/i.exec(text.trim());
  return m ? Number(m[1]) : null;
}

/**
 * What a single-choice select shows for a choice field: '' for any, the value when exactly one
 * is picked, SEVERAL when the chips picked more than one (the select then offers to narrow).
 */
export const SEVERAL = '*';
export function singleChoice(filter: LeadFilter, field: ChoiceField): string {
  const selected = filter[field];
  if (!selected || selected.length === 0) return '';
  return selected.length === 1 ? selected[0]! : SEVERAL;
}
