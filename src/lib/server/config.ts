import { z } from 'zod';
import { parseRoles, processRoles, type ProcessRole } from './cluster/roles';

/**
 * Settings of the app process (HTTP, socket.io and in-process ingest). Parsed once at start from
 * the environment; code receives the frozen object as an argument, so tests pass their own.
 * Every key is listed in .env.example and in the README.
 */
const int = (fallback: number) => z.coerce.number().int().positive().default(fallback);

export const configSchema = z.object({
  /** Set by `npm start` when it runs its own server; required otherwise. */
  CLICKHOUSE_URL: z.url(),
  CLICKHOUSE_DATABASE: z.string().regex(/^[A-Za-z0-9_]+$/).default('pipewall'),
  CLICKHOUSE_USER: z.string().default('default'),
  CLICKHOUSE_PASSWORD: z.string().default(''),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  NODE_ENV: z.string().default('production'),
  /** Sliding session lifetime: a session used within this window is extended by it. */
  SESSION_TTL_HOURS: int(24 * 14),
  /** Largest ingest request: a burst from one agent, not a bulk import (413 beyond). */
  INGEST_MAX_EVENTS: int(5_000),
  INGEST_MAX_BYTES: int(5 * 1024 * 1024),
  /** A batch is flushed at this many rows or after this delay, whichever comes first. */
  INGEST_FLUSH_ROWS: int(5_000),
  INGEST_FLUSH_MS: int(50),
  /** Rows held in memory waiting for ClickHouse; beyond it the endpoint answers 429. */
  INGEST_MAX_BUFFERED_ROWS: int(50_000),
  /**
   * Local spool for batches ClickHouse did not take (issue 4): they are fsynced here before the
   * 2xx and replayed when ClickHouse answers again, or by the next start. The process uses the
   * subdirectory named after CLICKHOUSE_DATABASE, so a spool is never replayed into another
   * database. One process per directory: it locks it, and a second process pointed at the same
   * one refuses to start; give each process (or replica) its own directory on local disk.
   */
  INGEST_SPOOL_DIR: z.string().min(1).default('.data/spool'),
  /**
   * Disk the spool may fill; beyond it ingest answers 503 instead of filling the disk. 512 MiB
   * holds about 1.3 M events at ~400 B each: over 40 min of an outage at 500 events/s.
   */
  INGEST_SPOOL_MAX_BYTES: int(512 * 1024 * 1024),
  /** ISO country whose national phone numbers (no +country code) count as strong identities. */
  INGEST_DEFAULT_PHONE_REGION: z.string().regex(/^[A-Z]{2}$/).optional(),
  /** How long a validated API key is trusted without asking ClickHouse again (revocation delay). */
  API_KEY_CACHE_MS: int(5_000),
  /**
   * How long a validated session is trusted without asking ClickHouse again: bounds how long a
   * revoked session still works in another tab/process (this process forgets it at once).
   * 0 turns the cache off.
   */
  SESSION_CACHE_MS: z.coerce.number().int().nonnegative().default(2_000),
  /**
   * Sign-in attempts, as token buckets refilling over LOGIN_WINDOW_MS. Per account: 5 per 15 min
   * lets a person mistype a few times but caps a guesser at 480 tries a day. Per client address:
   * 30, so one machine cannot spray a common password over many accounts, while a few people
   * behind one office NAT can still sign in.
   */
  LOGIN_MAX_PER_ACCOUNT: int(5),
  LOGIN_MAX_PER_ADDRESS: int(30),
  LOGIN_WINDOW_MS: int(15 * 60_000),
  /**
   * Ingest requests per API key per INGEST_RATE_WINDOW_MS (a token bucket). 50 requests/s of up
   * to INGEST_MAX_EVENTS each is far above any agent's real traffic; it stops a runaway retry
   * loop, not normal bursts. The row buffer (INGEST_MAX_BUFFERED_ROWS) still guards the store.
   */
  INGEST_MAX_REQUESTS_PER_KEY: int(50),
  INGEST_RATE_WINDOW_MS: int(1_000),
  /** Model artifacts (model.json, weights.bin, meta.json per version); metadata is in ClickHouse. */
  MODEL_DIR: z.string().min(1).default('.data/models'),
  /**
   * Outcomes of each kind an organisation needs before its own model replaces the prior: 40 and
   * 40 is Dynamics 365's minimum; below it a 20 % holdout has under ten of a class (see trainer.ts).
   */
  MODEL_MIN_WON: int(40),
  MODEL_MIN_LOST: int(40),
  /** Retrain when this many new outcomes arrived, and at least every RETRAIN_INTERVAL_HOURS. */
  RETRAIN_AFTER_OUTCOMES: int(50),
  RETRAIN_INTERVAL_HOURS: z.coerce.number().positive().default(24),
  /** Seeds training (shuffles, initial weights, cutoffs), so a run can be repeated. */
  MODEL_SEED: int(20261202),
  /**
   * What this process does (issue 8): `all` (the default: everything in one process), or a
   * comma-separated list of `app` (pages, API, sockets), `ingest` (POST /api/v1/events with its
   * own spool) and `trainer` (scores leads as events commit, trains and promotes models, resumes
   * undelivered follow-ups; one process holds the role at a time). Separate roles need REDIS_URL,
   * through which processes hear each other's committed events.
   */
  PIPEWALL_ROLES: z.string().default('all').transform((text, ctx) => {
    const roles = parseRoles(text);
    if (!roles) ctx.addIssue({ code: 'custom', message: `"${text}" is not "all" or a list of app, ingest, trainer` });
    return roles ?? new Set(processRoles);
  }),
  /**
   * Several processes (issue 8): socket.io's Redis Streams adapter carries live pushes and the
   * processes' messages; leases in Redis choose the active trainer and who computes each
   * organisation's wall. Unset: one process, which does everything itself.
   */
  REDIS_URL: z.url().optional(),
  /**
   * Messages the Redis stream keeps. A process that loses Redis resumes from where it stopped
   * if the stream still holds that point: 5,000 messages is tens of seconds at full ingest
   * (rows travel in messages of ≤ 200, ~80 KB), so a Redis restart loses nothing, while Redis's
   * memory stays bounded (≲ 400 MB in the worst case).
   */
  REDIS_STREAM_MAX_LEN: int(5_000),
  /**
   * A ClickHouse cluster (issue 8): migrations create Replicated tables on every node with
   * Distributed tables in front, sharded by organisation (see README, "ClickHouse cluster
   * layout"). Unset: one server, plain MergeTree tables. Queries are the same either way.
   */
  CLICKHOUSE_CLUSTER: z.string().regex(/^[A-Za-z0-9_]+$/).optional(),
  /**
   * Natural-language features (the query bar's fallback, drafted follow-ups) use any
   * OpenAI-compatible server when a key is set; without one, the local parser and templates.
   */
  OPENAI_API_KEY: z.string().min(1).optional(),
  OPENAI_BASE_URL: z.url().optional(),
  OPENAI_MODEL: z.string().min(1).default('gpt-4o-mini'),
  /** One request to the model; past it the local fallback answers. */
  OPENAI_TIMEOUT_MS: int(15_000),
  /**
   * Approved follow-ups are POSTed here (the agent platform that sends them). Unset: approvals are
   * recorded and shown as "not sent: no outbound webhook configured".
   */
  OUTBOUND_WEBHOOK_URL: z.url().optional(),
  /** Signs each delivery (HMAC-SHA256 of the body, header x-pipewall-signature) when set. */
  OUTBOUND_WEBHOOK_SECRET: z.string().min(16).optional()
});

export type ServerConfig = Readonly<z.infer<typeof configSchema>>;

/** Whether this process has a role (PIPEWALL_ROLES). */
export const hasRole = (config: Pick<ServerConfig, 'PIPEWALL_ROLES'>, role: ProcessRole): boolean => config.PIPEWALL_ROLES.has(role);

export class ConfigError extends Error {}

/** Parse settings, reporting every bad key in one error. */
export function parseConfig(env: Record<string, string | undefined>): ServerConfig {
  const result = configSchema.safeParse(env);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  return Object.freeze(result.data);
}

export const isDevelopment = (config: ServerConfig) => config.NODE_ENV === 'development';
