import type { HumanMark, LeadException } from '../contracts/exceptions';

/**
 * What changed between two computations of an organisation's exceptions, for pushing deltas to
 * watchers (issue 5: "pushed the moment it becomes true or stops being true"). Exceptions are
 * matched by id, which is stable across recomputation (kind + lead + evidence event).
 */
export interface ExceptionDiff {
  /** Became true (or reappeared after a snooze), in `current` order. */
  raised: LeadException[];
  /** Stopped being true (or was snoozed), as they were last seen, in `previous` order. */
  cleared: LeadException[];
  /** Still true with something different: words, timing, evidence summary or human state. */
  changed: LeadException[];
}

const sameMark = (a: HumanMark | null, b: HumanMark | null) => a === b || (a !== null && b !== null && a.userId === b.userId && a.at === b.at);

function isSame(a: LeadException, b: LeadException): boolean {
  return (
    a.kind === b.kind &&
    a.leadId === b.leadId &&
    a.since === b.since &&
    a.words === b.words &&
    a.evidence.eventId === b.evidence.eventId &&
    a.evidence.type === b.evidence.type &&
    a.evidence.occurredAt === b.evidence.occurredAt &&
    a.evidence.summary === b.evidence.summary &&
    sameMark(a.acknowledged, b.acknowledged) &&
    sameMark(a.claimed, b.claimed) &&
    sameMark(a.snoozed, b.snoozed) &&
    a.snoozed?.until === b.snoozed?.until
  );
}

export function diffExceptions(previous: readonly LeadException[], current: readonly LeadException[]): ExceptionDiff {
  const before = new Map(previous.map((e) => [e.id, e]));
  const now = new Set(current.map((e) => e.id));
  const raised: LeadException[] = [];
  const changed: LeadException[] = [];
  for (const e of current) {
    const old = before.get(e.id);
    if (!old) raised.push(e);
    else if (!isSame(old, e)) changed.push(e);
  }
  return { raised, cleared: previous.filter((e) => !now.has(e.id)), changed };
}
