import { stageLabels } from '$lib/charts/format';
import type { Stage } from '$lib/contracts/events';

// Times in UTC with a fixed locale: the server renders the first paint, so both sides agree.
const dayTime = new Intl.DateTimeFormat('en-GB', { timeZone: 'UTC', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
const dayTimeYear = new Intl.DateTimeFormat('en-GB', { timeZone: 'UTC', day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit' });
const day = new Intl.DateTimeFormat('en-GB', { timeZone: 'UTC', day: 'numeric', month: 'short' });
const clock = new Intl.DateTimeFormat('en-GB', { timeZone: 'UTC', hour: '2-digit', minute: '2-digit' });

export const formatDay = (ms: number) => day.format(ms);
export const formatClock = (ms: number) => clock.format(ms);

/** Day and time; the year only when it is not this one (by the server's clock `now`, so both renders agree). */
export const formatWhen = (ms: number, now: number) =>
  (new Date(ms).getUTCFullYear() === new Date(now).getUTCFullYear() ? dayTime : dayTimeYear).format(ms);

const isSameDay = (a: number, b: number) => new Date(a).toISOString().slice(0, 10) === new Date(b).toISOString().slice(0, 10);

/** From `a` to `b`, the second day left out when both fall on the same one. */
export const formatSpan = (a: number, b: number, now: number) =>
  a === b ? formatWhen(a, now) : isSameDay(a, b) ? `${formatWhen(a, now)}–${clock.format(b)}` : `${formatWhen(a, now)} – ${formatWhen(b, now)}`;

export const formatStage = (s: string) => stageLabels[s as Stage] ?? (s || 'none');
