import type { ExceptionKind } from '../../../contracts/exceptions';

/**
 * The sentences a rep reads on the wall. Pure, so the SQL module stays about SQL and the wording
 * can be tested and changed on its own. Durations are relative ("30 h"), never clock times: the
 * wall is read in the organisation's timezone, which the server does not know yet.
 */

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** "45 min", "30 h", "3 d": rounded down, so "24 h" means at least a full day of hours. */
export function formatDuration(ms: number): string {
  const v = Math.max(0, ms);
  if (v < HOUR) return `${Math.floor(v / MINUTE)} min`;
  if (v < 2 * DAY) return `${Math.floor(v / HOUR)} h`;
  return `${Math.floor(v / DAY)} d`;
}

export function formatMoney(value: number, currency: string): string {
  try {
    return new Intl.NumberFormat('en', { style: 'currency', currency, maximumFractionDigits: 0 }).format(value);
  } catch {
    // An unknown currency code is still worth showing; Intl refuses only malformed codes.
    return `${currency} ${Math.round(value)}`;
  }
}

export const silentWords = (qualifiedAgo: number, intent: string) =>
  `Qualified ${formatDuration(qualifiedAgo)} ago${intent ? ` (intent: ${intent})` : ''}, no reply from the customer since`;

export const stalledWords = (stage: string, inStage: number, p75: number, samples: number) =>
  `In ${stage} for ${formatDuration(inStage)}; 3 in 4 leads move on within ${formatDuration(p75)} (${samples} past stays)`;

export const notAttendedWords = (startedAgo: number, noShow: boolean) =>
  `Booking started ${formatDuration(startedAgo)} ago, ${noShow ? 'marked as not attended' : 'no attendance recorded'}`;

export const noOutcomeWords = (attendedAgo: number) =>
  `Attended ${formatDuration(attendedAgo)} ago, no won or lost recorded since`;

/** Short names for the "also …" part of an at-risk reason. */
export const kindLabels: Record<ExceptionKind, string> = {
  silent_after_qualification: 'silent since qualification',
  stalled: 'stalled in stage',
  booked_not_attended: 'missed booking',
  attended_no_outcome: 'no outcome after the visit',
  score_dropped: 'score dropped'
};
