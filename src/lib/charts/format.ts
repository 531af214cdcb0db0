/** Words and number formats shared by the wall's panels. */
import type { Stage } from '$lib/contracts/events';

export const stageLabels: Readonly<Record<Stage, string>> = {
  enquired: 'Enquired',
  qualified: 'Qualified',
  booked: 'Booked',
  attended: 'Attended',
  won: 'Won',
  lost: 'Lost'
};

// A fixed locale: the server renders the first paint, so both sides must format alike.
const countFormat = new Intl.NumberFormat('en');

/** "1,234": grouped so big numbers read at a distance. */
export function formatCount(count: number): string {
  return countFormat.format(count);
}

/** Whole percent, except a decimal under 10 % where one point matters ("4.5%"). */
export function formatPercent(pct: number): string {
  return pct < 10 && pct > 0 ? `${pct.toFixed(1)}%` : `${Math.round(pct)}%`;
}

/** A duration in the unit a person would say: "40 s", "12 min", "3.5 h", "2.1 d". */
export function formatDuration(ms: number): string {
  const s = ms / 1000;
  if (s < 60) return `${Math.round(s)} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  if (s < 86_400) return `${trim(s / 3600)} h`;
  return `${trim(s / 86_400)} d`;
}

const trim = (v: number) => (v < 10 ? v.toFixed(1).replace(/\.0$/, '') : String(Math.round(v)));

/** How long ago `ms` was at `now`, in the same words ("3.5 h"); a future time reads as 0 s. */
export function formatAgo(ms: number, now: number = Date.now()): string {
  return formatDuration(Math.max(0, now - ms));
}

/**
 * Money without cents; compact from 10,000 (€18.4k, £116k) so a figure fits a tile at a distance.
 * Mixed currencies are never added up: callers format each one.
 */
export function formatMoney(value: number, currency: string): string {
  return new Intl.NumberFormat('en-GB', {
    style: 'currency',
    currency,
    ...(value >= 10_000 ? { notation: 'compact', maximumSignificantDigits: 3 } : { maximumFractionDigits: 0 })
  }).format(value);
}
