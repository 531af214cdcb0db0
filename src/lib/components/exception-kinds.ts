import type { ExceptionKind } from '$lib/contracts/exceptions';

/** Short names of the exception kinds, as the wall's panel and a lead's alerts show them. */
export const kindLabel: Record<ExceptionKind, string> = {
  silent_after_qualification: 'Silent',
  stalled: 'Stalled',
  booked_not_attended: 'No-show',
  attended_no_outcome: 'No outcome',
  score_dropped: 'Score drop'
};
