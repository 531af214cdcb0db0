import { afterEach, describe, expect, it, vi } from 'vitest';
import type { StageCounts, TickerItem, WallSnapshot } from '$lib/contracts/wall';
import { OFFLINE_AFTER_FAILURES, REFUSED_RETRY_MS, type RealtimeSocket } from '$lib/realtime/client';
import type { AckResult } from '$lib/contracts/realtime';
import {
  TICKER_LIMIT,
  WallState,
  mergeTicker
} from '$lib/state/wall.svelte';
import type { LeadException } from '../../../../src/lib/contracts/exceptions';
import { buildFunnelView, buildKpis, buildTickerItem } from '../../../fixtures/wall';


/** Item n was received n seconds after the base time, so a higher n is newer. */
const item = (n: number, overrides: Partial<TickerItem> = {}) =>
  buildTickerItem({ eventId: `evt-${n}`, receivedAt: 1_700_000_000_000 + n * 1000, ...overrides });

const counts = (overrides: Partial<StageCounts> = {}): StageCounts => ({
  enquired: 10,
  qualified: 6,
  booked: 4,
  attended: 3,
  won: 2,
  lost: 1,
  ...overrides
});

function buildSnapshot(overrides: Partial<WallSnapshot> = {}): WallSnapshot {
  return { stageCounts: counts(), ticker: [item(2), item(1)], kpis: buildKpis(), funnel: buildFunnelView(), exceptions: [], atRisk: [], at: 1_700_000_100_000, ...overrides };
}

/** Just enough of a socket.io client socket for WallState.connect. */
class FakeSocket {
  connected = false;
  active = true;
  connectCalls = 0;
  readonly handlers = new Map<string, Set<(...args: unknown[]) => void>>();

  on(event: string, handler: (...args: unknown[]) => void) {
    const set = this.handlers.get(event) ?? new Set();
    set.add(handler);
    this.handlers.set(event, set);
    return this;
  }

  off(event: string, handler: (...args: unknown[]) => void) {
    this.handlers.get(event)?.delete(handler);
    return this;
  }

  connect() {
    this.connectCalls += 1;
    return this;
  }

  /** room:join requests, answered at once with `joinAnswer`. */
  readonly joins: string[] = [];
  joinAnswer: AckResult = { ok: true };
  emit(event: string, room: string, ack: (result: AckResult) => void) {
    if (event === 'room:join') {
      this.joins.push(room);
      ack(this.joinAnswer);
    }
    return this;
  }

  fire(event: string, ...args: unknown[]) {
    for (const handler of this.handlers.get(event) ?? []) handler(...args);
  }

  listenerCount(): number {
    return [...this.handlers.values()].reduce((sum, set) => sum + set.size, 0);
  }

  asSocket(): RealtimeSocket {
    return this as unknown as RealtimeSocket;
  }
}

const ids = (items: readonly TickerItem[]) => items.map((i) => i.eventId);

describe('mergeTicker', () => {
  it('puts new items above current ones, newest first', () => {
    expect(ids(mergeTicker([item(2), item(1)], [item(4), item(3)]))).toEqual(['evt-4', 'evt-3', 'evt-2', 'evt-1']);
  });

  it('keeps one row per eventId, taking the incoming copy', () => {
    const resent = item(2, { summary: 'resent' });

    expect(mergeTicker([item(2), item(1)], [item(3), resent])).toEqual([item(3), resent, item(1)]);
  });

  it('drops duplicates inside one incoming batch', () => {
    expect(ids(mergeTicker([], [item(1), item(1)]))).toEqual(['evt-1']);
  });

  it('files an old event resent after a reconnect in its place rather than at the top', () => {
    expect(ids(mergeTicker([item(5), item(3)], [item(4)]))).toEqual(['evt-5', 'evt-4', 'evt-3']);
  });

  it('keeps the server order for items received in the same millisecond', () => {
    const same = { receivedAt: 1_700_000_000_000 };

    expect(ids(mergeTicker([], [item(9, same), item(7, same), item(8, same)]))).toEqual(['evt-9', 'evt-7', 'evt-8']);
  });

  it('keeps only the newest `limit` rows', () => {
    const current = Array.from({ length: TICKER_LIMIT }, (_, i) => item(TICKER_LIMIT - i));

    const merged = mergeTicker(current, [item(100)]);

    expect(merged).toHaveLength(TICKER_LIMIT);
    expect([merged[0]?.eventId, merged.at(-1)?.eventId]).toEqual(['evt-100', 'evt-2']);
  });
});

describe('WallState', () => {
  const clock = () => 1_700_000_200_000;

  it('starts from the snapshot, connecting, and stamped with the client clock', () => {
    const wall = new WallState(buildSnapshot(), clock);

    expect({
      stageCounts: wall.stageCounts,
      ticker: wall.ticker,
      status: wall.status,
      hasConnected: wall.hasConnected,
      lastUpdateAt: wall.lastUpdateAt
    }).toEqual({
      stageCounts: counts(),
      ticker: [item(2), item(1)],
      status: 'connecting',
      hasConnected: false,
      lastUpdateAt: 1_700_000_200_000
    });
  });

  it('replaces counts wholesale on a new snapshot, and keeps ticker items pushed while it was on its way', () => {
    let now = 1;
    const wall = new WallState(buildSnapshot({ ticker: [] }), () => now);
    wall.applyIngested([item(3)]);
    now = 2;

    // item(3) was pushed after the snapshot's events were read: it must not vanish.
    wall.applySnapshot(buildSnapshot({ stageCounts: counts({ won: 9 }), ticker: [item(7), item(1)] }));

    expect([wall.stageCounts, ids(wall.ticker), wall.lastUpdateAt]).toEqual([counts({ won: 9 }), ids([item(7), item(3), item(1)]), 2]);
  });

  it('adds ingested items on top and ignores ones it already shows', () => {
    const wall = new WallState(buildSnapshot(), clock);

    wall.applyIngested([item(3), item(2)]);

    expect(ids(wall.ticker)).toEqual(['evt-3', 'evt-2', 'evt-1']);
  });

  it('takes new counts without touching the ticker', () => {
    let now = 1;
    const wall = new WallState(buildSnapshot(), () => now);
    now = 5;

    wall.applyCounts(counts({ lost: 4 }));

    expect([wall.stageCounts, ids(wall.ticker), wall.lastUpdateAt]).toEqual([
      counts({ lost: 4 }),
      ['evt-2', 'evt-1'],
      5
    ]);
  });

  it('does not keep a reference to the counts object it was given', () => {
    const given = counts();
    const wall = new WallState(buildSnapshot(), clock);

    wall.applyCounts(given);
    given.won = 99;

    expect(wall.stageCounts).toEqual(counts());
  });
});

describe('WallState.connect', () => {
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  function connected() {
    const socket = new FakeSocket();
    const wall = new WallState(buildSnapshot(), () => 42);
    const unwire = wall.connect(socket.asSocket(), 'wall:org-1');
    return { socket, wall, unwire };
  }

  it('goes live on connect and applies the server messages', () => {
    const { socket, wall } = connected();

    socket.fire('connect');
    socket.fire('wall:snapshotted', buildSnapshot({ ticker: [item(5)] }));
    socket.fire('events:ingested', [item(6)]);
    socket.fire('stages:counted', counts({ booked: 8 }));
    socket.fire('kpis:computed', buildKpis({ newLeadsLastHour: 99 }));

    expect([wall.status, wall.hasConnected, ids(wall.ticker), wall.stageCounts, wall.kpis?.newLeadsLastHour]).toEqual([
      'live',
      true,
      ['evt-6', 'evt-5', 'evt-2', 'evt-1'],
      counts({ booked: 8 }),
      99
    ]);
  });

  it('asks to join its room on every connect, and stays offline when the server refuses', () => {
    const { socket, wall } = connected();
    socket.fire('connect');
    socket.fire('disconnect', 'transport close');
    socket.joinAnswer = { ok: false, code: 'forbidden' };
    socket.fire('connect');

    expect([socket.joins, wall.status]).toEqual([['wall:org-1', 'wall:org-1'], 'offline']);
  });

  it('is live at once when the socket connected before it was wired', () => {
    const socket = new FakeSocket();
    socket.connected = true;
    const wall = new WallState(buildSnapshot());

    wall.connect(socket.asSocket(), 'wall:org-1');

    expect(wall.status).toBe('live');
  });

  it('reports reconnecting after a dropped transport, and offline when the socket was closed', () => {
    const { socket, wall } = connected();
    socket.fire('connect');

    socket.fire('disconnect', 'transport close');
    const afterDrop = wall.status;
    socket.active = false;
    socket.fire('disconnect', 'io server disconnect');

    expect([afterDrop, wall.status]).toEqual(['connecting', 'offline']);
  });

  it('says offline after repeated failed attempts and live again once one succeeds', () => {
    const { socket, wall } = connected();
    const seen: string[] = [];

    for (let i = 0; i < OFFLINE_AFTER_FAILURES; i++) {
      socket.fire('connect_error', new Error('xhr poll error'));
      seen.push(wall.status);
    }
    socket.fire('connect');
    seen.push(wall.status);

    expect(seen).toEqual([...Array(OFFLINE_AFTER_FAILURES - 1).fill('connecting'), 'offline', 'live']);
  });

  it('retries a refused handshake itself, since socket.io does not', () => {
    vi.useFakeTimers();
    const { socket, wall } = connected();
    socket.active = false;

    socket.fire('connect_error', new Error('unavailable'));
    const statusAfterRefusal = wall.status;
    vi.advanceTimersByTime(REFUSED_RETRY_MS - 1);
    const callsBeforeDelay = socket.connectCalls;
    vi.advanceTimersByTime(1);

    expect([statusAfterRefusal, callsBeforeDelay, socket.connectCalls]).toEqual(['offline', 0, 1]);
  });

  it('drops a malformed payload and keeps the last good state', () => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
    const { socket, wall } = connected();

    socket.fire('stages:counted', { enquired: 'many' });
    socket.fire('events:ingested', [{ eventId: 'evt-x' }]);
    socket.fire('wall:snapshotted', null);
    socket.fire('kpis:computed', { newLeadsLastHour: 'lots' });

    expect([wall.stageCounts, ids(wall.ticker), wall.kpis]).toEqual([counts(), ['evt-2', 'evt-1'], buildKpis()]);
    expect(vi.mocked(console.error).mock.calls.map((call) => call[0])).toEqual([
      "pipewall: dropped malformed 'stages:counted' payload",
      "pipewall: dropped malformed 'events:ingested' payload",
      "pipewall: dropped malformed 'wall:snapshotted' payload",
      "pipewall: dropped malformed 'kpis:computed' payload"
    ]);
  });

  it('removes every listener and any pending retry on cleanup', () => {
    vi.useFakeTimers();
    const { socket, unwire } = connected();
    socket.active = false;
    socket.fire('connect_error', new Error('unavailable'));

    unwire();
    vi.advanceTimersByTime(REFUSED_RETRY_MS);

    expect([socket.listenerCount(), socket.connectCalls]).toEqual([0, 0]);
  });
});

describe('WallState exceptions', () => {
  const exception = (id: string, since: number, claimedBy?: string): LeadException => ({
    id,
    kind: 'silent_after_qualification',
    leadId: `lead-${id}`,
    since,
    evidence: { eventId: `evt-${id}`, type: 'stage_changed', occurredAt: since, summary: '' },
    words: `exception ${id}`,
    acknowledged: null,
    snoozed: null,
    claimed: claimedBy ? { userId: claimedBy, at: since + 1 } : null
  });

  it('patches the list with a delta: cleared out, changed replaced, raised in, oldest first', () => {
    const wall = new WallState(buildSnapshot({ exceptions: [exception('a', 10), exception('b', 20), exception('c', 30)] }), () => 1);
    wall.applyExceptionsDelta({ raised: [exception('d', 5)], cleared: ['b'], changed: [exception('c', 30, 'user-9')] });
    expect(wall.exceptions.map((e) => [e.id, e.claimed?.userId ?? null])).toEqual([
      ['d', null],
      ['a', null],
      ['c', 'user-9']
    ]);
  });

  it('ignores a clear for an id it does not hold, and never lists an id twice', () => {
    const wall = new WallState(buildSnapshot({ exceptions: [exception('a', 10)] }), () => 1);
    wall.applyExceptionsDelta({ raised: [exception('a', 10)], cleared: ['zzz'], changed: [] });
    expect(wall.exceptions.map((e) => e.id)).toEqual(['a']);
  });
});
