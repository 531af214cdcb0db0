import type { Heard } from './local-vocabulary';

/**
 * Durations and calendar days (UTC) for the local parser: "14 days", "a month", "since Monday",
 * "1 Nov", "last week". Pure: every reading takes `now` from the caller.
 */
const R = String.raw;
// ---------------------------------------------------------------------------------------------
// Durations and calendar days (UTC), shared by activity and first contact.

export const DAY_MS = 86_400_000;
export const NUMBER_WORDS: Record<string, number> = {
  a: 1, an: 1, one: 1, two: 2, three: 3, four: 4, five: 5, six: 6, seven: 7, eight: 8, nine: 9, ten: 10, eleven: 11, twelve: 12
};
export const NUMBER_WORD = Object.keys(NUMBER_WORDS).join('|');
export const UNIT = R`days?|d|weeks?|wks?|w|months?|mos?|fortnights?|years?|yrs?`;
/** A month is 30 days and a year 365: the filter counts days, not calendar months. */
export const UNIT_DAYS: Record<string, number> = { d: 1, day: 1, w: 7, wk: 7, week: 7, fortnight: 14, mo: 30, month: 30, yr: 365, year: 365 };
export const DURATION_HEAD = R`(?:(?:the\s+)?(?:last|past)\s+)?(?:(?:over|more\s+than|at\s+least|longer\s+than|>=?)\s*)?`;
/** "14 days", "30+ days", "a month", "the last 2 weeks", "over 3 weeks"; comparators include the number. */
export const DURATION = R`${DURATION_HEAD}(?:-\s*)?(?:\d+(?:\.\d+)?|(?:${NUMBER_WORD})\b)?\s*\+?\s*(?:${UNIT})\b\+?`;
export const DURATION_PARTS = new RegExp(R`^${DURATION_HEAD}(-\s*)?(\d+(?:\.\d+)?|${NUMBER_WORD})?\s*\+?\s*(${UNIT})\+?$`, 'u');
/** leadFilterSchema's limit for day counts. */
export const MAX_DAYS = 3650;

export function checkedDays(days: number, said: string, heard: Heard): number | undefined {
  if (days < 1) heard.refuse(`"${said}": a number of days must be 1 or more.`, 'inactive 30+ days');
  else if (days > MAX_DAYS) heard.refuse(`"${said}" is longer than I can search (at most ${MAX_DAYS} days).`, 'no activity in 6 months');
  else return days;
  return undefined;
}

/** Whole days in a DURATION; `undefined` when it is not one, or (after refusing) when it is impossible. */
export function parseDuration(text: string, said: string, heard: Heard): number | undefined {
  const parts = DURATION_PARTS.exec(text);
  if (!parts) return undefined;
  const [, minus, count, unit = ''] = parts;
  const singular = unit.replace(/s$/u, '');
  // "in days" or a bare "d" gives no number to search with.
  if (count === undefined && (singular !== unit || unit.length === 1)) return undefined;
  const n = count === undefined ? 1 : (NUMBER_WORDS[count] ?? Number(count));
  return checkedDays(Math.round((minus ? -n : n) * (UNIT_DAYS[singular] ?? 1)), said, heard);
}

export const MONTH = R`jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?`;
export const WEEKDAY = R`mon(?:day)?|tue(?:s(?:day)?)?|wed(?:nesday)?|thu(?:rs?(?:day)?)?|fri(?:day)?|sat(?:urday)?|sun(?:day)?`;
export const MONTH_NAMES = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
export const WEEKDAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
export const ORDINAL = R`(?:st|nd|rd|th)?`;
/** A day, week, month or year: "2026-11-01", "1 Nov", "Nov 1st", "November", "Monday", "last week", "today". */
export const POINT = R`(?:(?<!\d)\d{4}-\d{2}-\d{2}(?!\d)|(?<![\d.,])\d{1,2}${ORDINAL}\s+(?:of\s+)?(?:${MONTH})\b(?:,?\s+\d{4}\b)?|(?:${MONTH})\b\s+\d{1,2}${ORDINAL}\b(?:,?\s+\d{4}\b)?|(?:${MONTH})\b(?:\s+\d{4}\b)?|(?:last\s+)?(?:${WEEKDAY})\b|today|yesterday|(?:this|last)\s+(?:week|month|year))`;

interface DaySpan {
  /** UTC midnights, inclusive. */
  from: number;
  to: number;
  isOneDay: boolean;
}

export const todayOf = (now: number) => Math.floor(now / DAY_MS) * DAY_MS;
export const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);
export const utcDay = (year: number, month: number, day: number) => new Date(0).setUTCFullYear(year, month, day);
export const span = (from: number, to: number): DaySpan => ({ from, to, isOneDay: from === to });

/** A real calendar day, or undefined for "31 Nov". */
export function calendarDay(year: number, month: number, day: number): DaySpan | undefined {
  const ms = utcDay(year, month, day);
  return new Date(ms).getUTCDate() === day ? span(ms, ms) : undefined;
}

export function relativeSpan(text: string, today: number): DaySpan | undefined {
  const date = new Date(today);
  const [year, month] = [date.getUTCFullYear(), date.getUTCMonth()];
  const monday = today - ((date.getUTCDay() + 6) % 7) * DAY_MS;
  const spans: Record<string, () => DaySpan> = {
    today: () => span(today, today),
    yesterday: () => span(today - DAY_MS, today - DAY_MS),
    'this week': () => span(monday, monday + 6 * DAY_MS),
    'last week': () => span(monday - 7 * DAY_MS, monday - DAY_MS),
    'this month': () => span(utcDay(year, month, 1), utcDay(year, month + 1, 0)),
    'last month': () => span(utcDay(year, month - 1, 1), utcDay(year, month, 0)),
    'this year': () => span(utcDay(year, 0, 1), utcDay(year, 11, 31)),
    'last year': () => span(utcDay(year - 1, 0, 1), utcDay(year - 1, 11, 31))
  };
  return spans[text.replace(/\s+/gu, ' ')]?.();
}

/** Days back from today to the weekday: 0 when it is today, unless `isStrictlyBefore` ("last Monday"). */
export function weekdayDaysAgo(today: number, word: string, isStrictlyBefore: boolean): number {
  const back = (new Date(today).getUTCDay() - WEEKDAY_NAMES.indexOf(word.slice(0, 3)) + 7) % 7;
  return back === 0 && isStrictlyBefore ? 7 : back;
}

/** The days a POINT covers. Without a year it is the latest such day or month not after today. */
export function readPoint(text: string, now: number): DaySpan | undefined {
  const today = todayOf(now);
  const [thisYear, thisMonth] = [new Date(today).getUTCFullYear(), new Date(today).getUTCMonth()];
  const relative = relativeSpan(text, today);
  if (relative) return relative;
  const iso = /^(\d{4})-(\d{2})-(\d{2})$/u.exec(text);
  if (iso) return calendarDay(Number(iso[1]), Number(iso[2]) - 1, Number(iso[3]));
  const dmy = /^(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?([a-z]+)(?:,?\s+(\d{4}))?$/u.exec(text);
  const mdy = /^([a-z]+)\s+(\d{1,2})(?:st|nd|rd|th)?(?:,?\s+(\d{4}))?$/u.exec(text);
  const dayMonth = dmy ? { day: dmy[1], month: dmy[2], year: dmy[3] } : mdy ? { day: mdy[2], month: mdy[1], year: mdy[3] } : undefined;
  if (dayMonth) {
    const inYear = (year: number) => calendarDay(year, MONTH_NAMES.indexOf((dayMonth.month ?? '').slice(0, 3)), Number(dayMonth.day));
    if (dayMonth.year) return inYear(Number(dayMonth.year));
    const candidate = inYear(thisYear);
    return candidate && candidate.from > today ? inYear(thisYear - 1) : candidate;
  }
  const named = /^(last\s+)?([a-z]+)(?:\s+(\d{4}))?$/u.exec(text);
  if (!named) return undefined;
  const [, last, word = '', yearWord] = named;
  const month = MONTH_NAMES.indexOf(word.slice(0, 3));
  if (month >= 0 && !last) {
    const year = yearWord ? Number(yearWord) : month <= thisMonth ? thisYear : thisYear - 1;
    return span(utcDay(year, month, 1), utcDay(year, month + 1, 0));
  }
  if (WEEKDAY_NAMES.includes(word.slice(0, 3)) && !yearWord) {
    const day = today - weekdayDaysAgo(today, word, last !== undefined) * DAY_MS;
    return span(day, day);
  }
  return undefined;
}

/** Reads the POINT in `text`, refusing one that is not a real day ("31 Nov"). */
export function pointOrRefuse(text: string, said: string, heard: Heard): DaySpan | undefined {
  const found = readPoint(text, heard.now);
  if (!found) heard.refuse(`"${said}" is not a date I know.`, 'leads since 2026-11-01');
  return found;
}

