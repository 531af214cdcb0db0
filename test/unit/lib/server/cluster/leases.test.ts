import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Coordinator } from '../../../../../src/lib/server/cluster/coordinator';
import { createRoomOwnership, keepLease } from '../../../../../src/lib/server/cluster/leases';

/**
 * A coordinator whose Redis is a map with a hand-turned clock: what the leases decide from each
 * answer (held, taken by another, no answer) without timing anything.
 */
function fakeCoordinator(processId: string, store: Map<string, { holder: string; until: number }>, clock: { now: number }) {
  let answering = true;
  const asked: string[] = [];
  const coordinator: Coordinator = {
    processId,
    redis: null,
    hold(name, ttlMs) {
      asked.push(name);
      if (!answering) return Promise.resolve(null);
      const current = store.get(name);
      if (current && current.until > clock.now && current.holder !== processId) return Promise.resolve(false);
      store.set(name, { holder: processId, until: clock.now + ttlMs });
      return Promise.resolve(true);
    },
    release(name) {
      if (store.get(name)?.holder === processId) store.delete(name);
      return Promise.resolve();
    },
    close: () => Promise.resolve()
  };
  return { coordinator, asked, setAnswering: (on: boolean) => (answering = on) };
}

const flush = () => new Promise((r) => setTimeout(r, 0));

describe('room ownership', () => {
  it('gives a room to one process; the other takes it once the first releases it', async () => {
    const store = new Map<string, { holder: string; until: number }>();
    const clock = { now: 1_000 };
    const one = createRoomOwnership(fakeCoordinator('one', store, clock).coordinator, { ttlMs: 10_000, retryMs: 1_000, now: () => clock.now });
    const two = createRoomOwnership(fakeCoordinator('two', store, clock).coordinator, { ttlMs: 10_000, retryMs: 1_000, now: () => clock.now });
    expect([await one.owns('wall:o1'), await two.owns('wall:o1'), await two.owns('wall:o2')]).toEqual([true, false, true]);
    one.release('wall:o1');
    await flush();
    // Two asked a moment ago and was refused; it asks again after retryMs.
    expect(await two.owns('wall:o1')).toBe(false);
    clock.now += 1_001;
    expect(await two.owns('wall:o1')).toBe(true);
  });

  it('answers a held room from memory until half its lease is gone, then renews it', async () => {
    const store = new Map<string, { holder: string; until: number }>();
    const clock = { now: 0 };
    const fake = fakeCoordinator('one', store, clock);
    const one = createRoomOwnership(fake.coordinator, { ttlMs: 10_000, now: () => clock.now });
    await one.owns('r');
    clock.now = 4_000;
    await one.owns('r');
    expect(fake.asked).toEqual(['room:r']);
    clock.now = 5_001;
    await one.owns('r');
    expect(fake.asked).toEqual(['room:r', 'room:r']);
  });

  it('a process that dies stops renewing, and another takes the room when the lease ends', async () => {
    const store = new Map<string, { holder: string; until: number }>();
    const clock = { now: 0 };
    const one = createRoomOwnership(fakeCoordinator('one', store, clock).coordinator, { ttlMs: 10_000, now: () => clock.now });
    const two = createRoomOwnership(fakeCoordinator('two', store, clock).coordinator, { ttlMs: 10_000, now: () => clock.now });
    expect(await one.owns('r')).toBe(true);
    clock.now = 9_000;
    expect(await two.owns('r')).toBe(false);
    clock.now = 10_001; // one never asked again
    expect(await two.owns('r')).toBe(true);
  });

  it('computes anyway when Redis does not answer: duplicate pushes beat a frozen wall', async () => {
    const fake = fakeCoordinator('one', new Map(), { now: 0 });
    fake.setAnswering(false);
    const one = createRoomOwnership(fake.coordinator);
    expect(await one.owns('r')).toBe(true);
  });
});

describe('the trainer lease', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('one of two processes holds it; the other takes over when the holder stops', async () => {
    const store = new Map<string, { holder: string; until: number }>();
    const clock = { now: 0 };
    const changes: string[] = [];
    const first = keepLease(fakeCoordinator('p1', store, clock).coordinator, 'trainer', { ttlMs: 150, now: () => clock.now, onChange: (h) => changes.push(`p1:${h}`) });
    await vi.advanceTimersByTimeAsync(0);
    const second = keepLease(fakeCoordinator('p2', store, clock).coordinator, 'trainer', { ttlMs: 150, now: () => clock.now, onChange: (h) => changes.push(`p2:${h}`) });
    await vi.advanceTimersByTimeAsync(0);
    expect([first.isHeld(), second.isHeld(), changes]).toEqual([true, false, ['p1:true']]);
    await first.stop();
    await vi.advanceTimersByTimeAsync(50); // second asks every ttl/3
    expect([second.isHeld(), changes]).toEqual([true, ['p1:true', 'p1:false', 'p2:true']]);
    await second.stop();
  });

  it('without answers from Redis, the holder keeps acting only until its own lease would end', async () => {
    const clock = { now: 0 };
    const fake = fakeCoordinator('p1', new Map(), clock);
    const changes: boolean[] = [];
    const lease = keepLease(fake.coordinator, 'trainer', { ttlMs: 3_000, now: () => clock.now, onChange: (h) => changes.push(h) });
    await vi.advanceTimersByTimeAsync(0);
    fake.setAnswering(false);
    clock.now = 1_000; // still well inside the lease
    await vi.advanceTimersByTimeAsync(1_000);
    expect(lease.isHeld()).toBe(true);
    clock.now = 2_100; // within a third of the end: another process may take it soon
    await vi.advanceTimersByTimeAsync(1_000);
    expect([lease.isHeld(), changes]).toEqual([false, [true, false]]);
    await lease.stop();
  });
});
