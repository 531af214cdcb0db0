import { describe, expect, it } from 'vitest';
import type { LeadException } from '../../../../src/lib/contracts/exceptions';
import { diffExceptions } from '../../../../src/lib/server/exceptions-diff';

const exception = (id: string, over: Partial<LeadException> = {}): LeadException => ({
  id,
  kind: 'silent_after_qualification',
  leadId: `lead-${id}`,
  since: 1_000,
  evidence: { eventId: `evt-${id}`, type: 'lead_qualified', occurredAt: 500, summary: 'Wants a cleaning' },
  words: 'Qualified 30 h ago, no reply from the customer since',
  acknowledged: null,
  snoozed: null,
  claimed: null,
  ...over
});

describe('diffExceptions', () => {
  it('reports nothing when the two computations agree, even as separate objects', () => {
    expect(diffExceptions([exception('a'), exception('b')], [exception('b'), exception('a')])).toEqual({ raised: [], cleared: [], changed: [] });
  });

  it('raises what became true and clears what stopped being true, matched by id', () => {
    const a = exception('a');
    const b = exception('b');
    const c = exception('c', { kind: 'stalled' });
    expect(diffExceptions([a, b], [b, c])).toEqual({ raised: [c], cleared: [a], changed: [] });
  });

  it('everything is raised from an empty start and cleared to an empty end', () => {
    const list = [exception('a'), exception('b')];
    expect(diffExceptions([], list)).toEqual({ raised: list, cleared: [], changed: [] });
    expect(diffExceptions(list, [])).toEqual({ raised: [], cleared: list, changed: [] });
  });

  it('reports a still-true exception as changed when its words or timing change', () => {
    const later = exception('a', { words: 'Qualified 31 h ago, no reply from the customer since' });
    expect(diffExceptions([exception('a')], [later])).toEqual({ raised: [], cleared: [], changed: [later] });
    const moved = exception('a', { since: 2_000 });
    expect(diffExceptions([exception('a')], [moved]).changed).toEqual([moved]);
  });

  it('reports claims, acknowledgements and snoozes by someone else or at another time as changes', () => {
    const claimed = exception('a', { claimed: { userId: 'u-1', at: 10 } });
    expect(diffExceptions([exception('a')], [claimed]).changed).toEqual([claimed]);
    const reclaimed = exception('a', { claimed: { userId: 'u-2', at: 10 } });
    expect(diffExceptions([claimed], [reclaimed]).changed).toEqual([reclaimed]);
    expect(diffExceptions([reclaimed], [exception('a')]).changed).toEqual([exception('a')]);

    const acked = exception('a', { acknowledged: { userId: 'u-1', at: 20 } });
    expect(diffExceptions([exception('a')], [acked]).changed).toEqual([acked]);
    const snoozed = exception('a', { snoozed: { userId: 'u-1', at: 20, until: 99 } });
    const longer = exception('a', { snoozed: { userId: 'u-1', at: 20, until: 120 } });
    expect(diffExceptions([snoozed], [longer]).changed).toEqual([longer]);
  });

  it('reports a changed evidence summary', () => {
    const edited = exception('a', { evidence: { ...exception('a').evidence, summary: 'Wants whitening' } });
    expect(diffExceptions([exception('a')], [edited]).changed).toEqual([edited]);
  });

  it('keeps the order of each list: raised and changed as now, cleared as before', () => {
    const [a, b, c, d] = [exception('a'), exception('b'), exception('c'), exception('d')];
    const b2 = exception('b', { words: 'new' });
    const d2 = exception('d', { words: 'new' });
    const e = exception('e');
    const f = exception('f');
    expect(diffExceptions([d, c, b, a], [f, d2, e, b2])).toEqual({ raised: [f, e], cleared: [c, a], changed: [d2, b2] });
  });
});
