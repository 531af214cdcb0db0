/**
 * In-memory rate limits for sign-in attempts and ingest requests, one limiter per process.
 *
 * A token bucket rather than a fixed window: each key holds at most `limit` tokens and gets them
 * back at `limit` per `windowMs`, continuously. A fixed window lets a client spend `limit` at
 * the end of one window and `limit` again at the start of the next, twice the limit in a moment
 * (ten password guesses in a second for a limit of five); the bucket caps any burst at `limit`
 * and allows the same long-run rate. It also keeps two numbers per key, and a key whose bucket
 * has refilled is the same as a key never seen, so dropping it loses nothing.
 *
 * Memory is bounded: keys live in a Map ordered by last use. Each call drops up to two of the
 * least recently used keys whose buckets have refilled, and beyond `maxKeys` the least recently
 * used key is dropped even if it is not full. A flood of random keys therefore costs at most
 * `maxKeys` entries; to free a key that is being refused, an attacker must push `maxKeys` new
 * keys through between two uses of it (each use moves it to the back), which the per-address
 * sign-in limit and API-key verification make expensive.
 *
 * Limits hold per process; shared-rate-limit.ts shares the sign-in limits through Redis (issue 8).
 */

export interface RateLimiterOptions {
  /** Hits allowed in a burst, and per `windowMs` on average. */
  limit: number;
  /** Time in which a fully spent bucket refills, in ms. */
  windowMs: number;
  /** Clock in epoch ms; tests inject one. */
  now?: () => number;
  /** Most keys held at once (default 10,000). */
  maxKeys?: number;
}

export interface RateDecision {
  allowed: boolean;
  /** 0 when allowed; otherwise ms until one hit is allowed again. */
  retryAfterMs: number;
  /** Hits still allowed right now after this one. */
  remaining: number;
}

export interface RateLimiter {
  /** Count one hit against `key`. A refused hit costs nothing. */
  consume(key: string): RateDecision;
  /** Forget `key`: its bucket is full again. */
  reset(key: string): void;
  /** Keys currently held (for tests and metrics). */
  size(): number;
}

/**
 * One token is `windowMs` units and the bucket gains `limit` units per ms, so with integer clock
 * readings every figure stays an exact integer: no float drift can make a client that waited
 * exactly `retryAfterMs` find itself a hair short of a token.
 */
interface Bucket {
  units: number;
  /** epoch ms at which `units` was computed */
  at: number;
}

const SWEEP_PER_CALL = 2;

export function createRateLimiter({ limit, windowMs, now = Date.now, maxKeys = 10_000 }: RateLimiterOptions): RateLimiter {
  if (!(Number.isInteger(limit) && limit >= 1 && windowMs > 0 && maxKeys >= 1)) {
    throw new RangeError(`rate limiter needs an integer limit >= 1, windowMs > 0, maxKeys >= 1 (got ${limit}, ${windowMs}, ${maxKeys})`);
  }
  const full = limit * windowMs;
  const buckets = new Map<string, Bucket>();

  const unitsAt = (b: Bucket, t: number) => Math.min(full, b.units + Math.min(windowMs, Math.max(0, t - b.at)) * limit);

  function sweep(t: number): void {
    let checked = 0;
    for (const [key, b] of buckets) {
      if (checked++ >= SWEEP_PER_CALL) break;
      if (unitsAt(b, t) >= full) buckets.delete(key);
    }
  }

  return {
    consume(key) {
      const t = now();
      sweep(t);
      const existing = buckets.get(key);
      const units = existing ? unitsAt(existing, t) : full;
      // Re-insert so the Map stays ordered by last use (eviction takes from the front).
      buckets.delete(key);
      if (units >= windowMs) {
        buckets.set(key, { units: units - windowMs, at: t });
        if (buckets.size > maxKeys) buckets.delete(buckets.keys().next().value as string);
        return { allowed: true, retryAfterMs: 0, remaining: Math.floor((units - windowMs) / windowMs) };
      }
      buckets.set(key, { units, at: t });
      // Rounded up, so a client that waits exactly this long is allowed.
      return { allowed: false, retryAfterMs: Math.ceil((windowMs - units) / limit), remaining: 0 };
    },
    reset(key) {
      buckets.delete(key);
    },
    size: () => buckets.size
  };
}
