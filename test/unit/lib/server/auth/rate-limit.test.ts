import { describe, expect, it } from 'vitest';
import { createRateLimiter } from '../../../../../src/lib/server/auth/rate-limit';

/** A clock the test moves by hand. */
function manualClock(start = Date.parse('2026-11-01T10:00:00Z')) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

const MINUTE = 60_000;

describe('createRateLimiter', () => {
  it('allows `limit` hits in a burst, then refuses with the time until one hit is allowed again', () => {
    const clock = manualClock();
    const limiter = createRateLimiter({ limit: 5, windowMs: 15 * MINUTE, now: clock.now });
    const burst = Array.from({ length: 5 }, () => limiter.consume('a@example.test'));
    expect(burst.map((d) => d.remaining)).toEqual([4, 3, 2, 1, 0]);
    expect(burst.every((d) => d.allowed && d.retryAfterMs === 0)).toBe(true);
    // One of five tokens comes back every 15 / 5 = 3 minutes.
    expect(limiter.consume('a@example.test')).toEqual({ allowed: false, retryAfterMs: 3 * MINUTE, remaining: 0 });
    clock.advance(MINUTE);
    expect(limiter.consume('a@example.test')).toEqual({ allowed: false, retryAfterMs: 2 * MINUTE, remaining: 0 });
  });

  it('allows exactly one more hit once retryAfterMs has passed, and refused hits cost nothing', () => {
    const clock = manualClock();
    const limiter = createRateLimiter({ limit: 3, windowMs: 1_000, now: clock.now });
    for (let i = 0; i < 3; i++) limiter.consume('k');
    for (let i = 0; i < 10; i++) expect(limiter.consume('k').allowed).toBe(false);
    const { retryAfterMs } = limiter.consume('k');
    expect(retryAfterMs).toBe(334); // 1000 / 3 rounded up
    clock.advance(retryAfterMs - 1);
    expect(limiter.consume('k').allowed).toBe(false);
    clock.advance(1);
    expect(limiter.consume('k')).toEqual({ allowed: true, retryAfterMs: 0, remaining: 0 });
    expect(limiter.consume('k').allowed).toBe(false);
  });

  it('recovers the whole burst after a window without hits', () => {
    const clock = manualClock();
    const limiter = createRateLimiter({ limit: 5, windowMs: 15 * MINUTE, now: clock.now });
    for (let i = 0; i < 6; i++) limiter.consume('k');
    clock.advance(15 * MINUTE);
    const again = Array.from({ length: 6 }, () => limiter.consume('k').allowed);
    expect(again).toEqual([true, true, true, true, true, false]);
  });

  it('caps any burst at `limit`, including around the end of a window', () => {
    const clock = manualClock();
    const limiter = createRateLimiter({ limit: 5, windowMs: 1_000, now: clock.now });
    // Hammer the key every 10 ms for 2 s: a fixed window would allow 10 around the 1 s edge.
    const allowedAt: number[] = [];
    for (let ms = 0; ms < 2_000; ms += 10) {
      if (limiter.consume('k').allowed) allowedAt.push(ms);
      clock.advance(10);
    }
    // Five at once, then one every 1000 / 5 = 200 ms.
    expect(allowedAt).toEqual([0, 10, 20, 30, 40, 200, 400, 600, 800, 1_000, 1_200, 1_400, 1_600, 1_800]);
  });

  it('keeps keys independent', () => {
    const clock = manualClock();
    const limiter = createRateLimiter({ limit: 2, windowMs: 1_000, now: clock.now });
    limiter.consume('a');
    limiter.consume('a');
    expect(limiter.consume('a').allowed).toBe(false);
    expect(limiter.consume('b')).toEqual({ allowed: true, retryAfterMs: 0, remaining: 1 });
  });

  it('forgets a key on reset', () => {
    const clock = manualClock();
    const limiter = createRateLimiter({ limit: 2, windowMs: 1_000, now: clock.now });
    limiter.consume('a');
    limiter.consume('a');
    limiter.reset('a');
    expect(limiter.consume('a')).toEqual({ allowed: true, retryAfterMs: 0, remaining: 1 });
  });

  it('holds at most maxKeys under a flood of 100,000 distinct keys, keeping the ones in use', () => {
    const clock = manualClock();
    const limiter = createRateLimiter({ limit: 1, windowMs: 60_000, now: clock.now, maxKeys: 1_000 });
    limiter.consume('victim');
    let peak = 0;
    for (let i = 0; i < 100_000; i++) {
      limiter.consume(`random-${i}`);
      peak = Math.max(peak, limiter.size());
      // The limited key keeps being used, so it stays at the recent end and is not evicted.
      if (i % 500 === 0) expect(limiter.consume('victim').allowed).toBe(false);
    }
    expect(peak).toBe(1_000);
    expect(limiter.consume('victim').allowed).toBe(false);
  });

  it('drops keys whose buckets have refilled, so idle keys do not pile up', () => {
    const clock = manualClock();
    const limiter = createRateLimiter({ limit: 5, windowMs: 1_000, now: clock.now });
    for (let i = 0; i < 100; i++) limiter.consume(`idle-${i}`);
    expect(limiter.size()).toBe(100);
    clock.advance(1_000);
    for (let i = 0; i < 60; i++) limiter.consume('busy');
    // Each call sweeps two refilled keys from the least recently used end.
    expect(limiter.size()).toBe(1);
  });

  it('refuses nonsensical settings', () => {
    expect(() => createRateLimiter({ limit: 0, windowMs: 1_000 })).toThrow(RangeError);
    expect(() => createRateLimiter({ limit: 1.5, windowMs: 1_000 })).toThrow(RangeError);
    expect(() => createRateLimiter({ limit: 1, windowMs: 0 })).toThrow(RangeError);
  });
});
