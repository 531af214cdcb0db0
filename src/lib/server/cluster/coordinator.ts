import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Redis } from 'ioredis';
import type { Logger } from '../log';

/**
 * ioredis, not node-redis: the Streams adapter supports both, but with node-redis 5 closing the
 * adapter leaves an unhandled rejection from its pub/sub connection (seen in this repo's tests).
 */
export type RedisClient = Redis;

/**
 * How processes agree on who does a job that must run once (issue 8): the active trainer, the
 * process that computes an organisation's wall, the one that runs migrations. A lease is a Redis
 * key holding the holder's process id with an expiry, taken with SET NX and kept by renewing it
 * well before it ends; a process that dies simply stops renewing, and another takes over when
 * the key expires. Without REDIS_URL there is one process, and it holds every lease.
 */
export interface Coordinator {
  /** Unique per process start: host, pid and random, so a restarted process is a new holder. */
  readonly processId: string;
  /** The Redis client (socket.io's adapter shares it), or null in a one-process setup. */
  readonly redis: RedisClient | null;
  /**
   * Take or renew the lease `name` for `ttlMs`: true when this process holds it now, false when
   * another does, null when Redis did not answer within the timeout — callers decide what not
   * knowing means for their job (see leases.ts).
   */
  hold(name: string, ttlMs: number): Promise<boolean | null>;
  /** Give the lease up at once if this process holds it (a clean stop, the last watcher left). */
  release(name: string): Promise<void>;
  close(): Promise<void>;
}

/** Take the lease if free, renew it if ours: one round trip, atomic in Redis. */
const HOLD_SCRIPT = `
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0`;

const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/**
 * A Redis answer, or `fallback` when it fails or has not come within `ms`: commands wait in the
 * client's queue while Redis is away, and no caller here may wait that long.
 */
export function withTimeout<T>(work: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<T>((resolve) => (timer = setTimeout(() => resolve(fallback), ms)));
  return Promise.race([work.catch(() => fallback), late]).finally(() => clearTimeout(timer));
}

export function newProcessId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
}

/** A single process: it holds every lease. */
export function createLocalCoordinator(processId = newProcessId()): Coordinator {
  return {
    processId,
    redis: null,
    hold: () => Promise.resolve(true),
    release: () => Promise.resolve(),
    close: () => Promise.resolve()
  };
}

/**
 * Leases in Redis under `pipewall:<namespace>:lease:<name>` (the namespace is the ClickHouse
 * database, so two deployments sharing a Redis do not take each other's leases). The client
 * connects in the background and reconnects by itself.
 */
export function createRedisCoordinator(options: { url: string; namespace: string; log: Logger; timeoutMs?: number; processId?: string }): Coordinator {
  const { log } = options;
  const processId = options.processId ?? newProcessId();
  const timeoutMs = options.timeoutMs ?? 1_000;
  // Commands wait in the client's queue while it (re)connects; every call here has its own timeout.
  const redis = new Redis(options.url, { maxRetriesPerRequest: null });
  let lastError = '';
  redis.on('error', (err: Error) => {
    // The client reports each failed reconnect; say it once per distinct cause.
    if (err.message !== lastError) log.warn({ err }, 'Redis connection failed; retrying');
    lastError = err.message;
  });
  redis.on('ready', () => {
    if (lastError) log.info('Redis connection restored');
    lastError = '';
  });
  const key = (name: string) => `pipewall:${options.namespace}:lease:${name}`;

  return {
    processId,
    redis,
    hold(name, ttlMs) {
      const taken = redis.eval(HOLD_SCRIPT, 1, key(name), processId, String(Math.round(ttlMs)));
      return withTimeout<boolean | null>(
        taken.then((r) => Number(r) === 1),
        timeoutMs,
        null
      );
    },
    async release(name) {
      await withTimeout(redis.eval(RELEASE_SCRIPT, 1, key(name), processId), timeoutMs, 0);
    },
    async close() {
      // QUIT waits in the offline queue while Redis is away; a stopping process does not wait long.
      await withTimeout(redis.quit(), timeoutMs, undefined);
      redis.disconnect();
    }
  };
}
