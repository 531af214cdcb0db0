import type { Redis } from 'ioredis';
import { withTimeout } from '../cluster/coordinator';
import type { RateDecision, RateLimiter, RateLimiterOptions } from './rate-limit';

/**
 * Sign-in limits shared by every process (issue 8): behind N app processes an in-process limit
 * would give a password guesser N times the budget. With Redis, the same token bucket as
 * rate-limit.ts (integer units, `limit` per `windowMs`) lives in one Redis hash per key, updated
 * atomically by a script; the clock is the caller's, as in-process. Without Redis, or when Redis
 * does not answer in time, the in-process limiter decides: still a limit, per process.
 */
export interface SharedRateLimiter {
  consume(key: string): Promise<RateDecision>;
  reset(key: string): Promise<void>;
  /** Keys the in-process limiter holds (its memory bound is tested). */
  size(): number;
}

const CONSUME_SCRIPT = `
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local full = limit * window
local b = redis.call('HMGET', KEYS[1], 'u', 'at')
local units = tonumber(b[1]) or full
local at = tonumber(b[2]) or now
if now > at then units = math.min(full, units + (now - at) * limit) end
local allowed = 0
local retry = 0
if units >= window then
  units = units - window
  allowed = 1
else
  retry = math.ceil((window - units) / limit)
end
redis.call('HSET', KEYS[1], 'u', units, 'at', math.max(now, at))
redis.call('PEXPIRE', KEYS[1], window + 1000)
return {allowed, retry, math.floor(units / window)}`;

export function createSharedRateLimiter(
  local: RateLimiter,
  options: RateLimiterOptions & { redis: Redis | null; name: string; namespace: string; timeoutMs?: number }
): SharedRateLimiter {
  const { redis, limit, windowMs } = options;
  const now = options.now ?? Date.now;
  const timeoutMs = options.timeoutMs ?? 500;
  const key = (k: string) => `pipewall:${options.namespace}:limit:${options.name}:${k}`;

  return {
    async consume(k) {
      if (!redis) return local.consume(k);
      const asked = redis.eval(CONSUME_SCRIPT, 1, key(k), String(limit), String(windowMs), String(now())) as Promise<number[]>;
      const answer = await withTimeout<number[] | null>(asked, timeoutMs, null);
      if (!answer) return local.consume(k); // Redis away: this process's own count still limits
      const [allowed, retryAfterMs, remaining] = answer.map(Number) as [number, number, number];
      return { allowed: allowed === 1, retryAfterMs, remaining };
    },
    async reset(k) {
      local.reset(k);
      if (redis) await withTimeout(redis.del(key(k)), timeoutMs, 0);
    },
    size: () => local.size()
  };
}
