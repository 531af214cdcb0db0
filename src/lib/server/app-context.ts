import type { CountryCode } from 'libphonenumber-js';
import { createIdentityResolver, type IdentityResolver } from '../../../ingest/pipeline/resolve-identity';
import { join } from 'node:path';
import { createApiKeyVerifier } from './auth/api-key';
import { createRateLimiter, type RateLimiter } from './auth/rate-limit';
import type { ServerConfig } from './config';
import { createClickHouse, type ClickHouseClient } from './db/clickhouse';
import { insertEventRows, type EventRow } from './db/queries/events';
import { createLogger, type Logger } from './log';
import { createInboxNotifier, type InboxNotifier } from './realtime/inbox-notifier';
import { createOrgFactsCache, type OrgFactsCache } from './inbox-facts';
import { createOutbound, type Outbound } from './follow-ups/outbound';
import { createLanguageModel, type LanguageModel } from './openai';
import { createPresence, type Presence } from './realtime/presence';
import { createWallFanout, type WallFanout } from './realtime/wall-fanout';
import { createModelService, type ModelService } from './scoring/model-service';
import { createBatchWriter, type BatchWriter } from '../../../ingest/sink/clickhouse-writer';
import { openSpool } from '../../../ingest/sink/spool';

/** Abuse limits; each is one per process, so the counts are shared by every request. */
export interface AppLimits {
  /** Sign-in attempts keyed by normalised email. */
  loginPerAccount: RateLimiter;
  /** Sign-in attempts keyed by client address. */
  loginPerAddress: RateLimiter;
  /** Ingest requests keyed by API key id. */
  ingestPerKey: RateLimiter;
}

/**
 * Everything the app process holds once: one ClickHouse client, the ingest writer, the
 * realtime fan-out and the rate limiters. Built from a config object so tests can make their own.
 */
export interface AppContext {
  config: ServerConfig;
  log: Logger;
  clickhouse: ClickHouseClient;
  writer: BatchWriter<EventRow>;
  fanout: WallFanout;
  presence: Presence;
  /** Tells open inboxes which leads changed (issue 7). */
  inbox: InboxNotifier;
  /** Organisation-wide inbox reads (values, scores, exceptions), shared by every open inbox. */
  inboxFacts: OrgFactsCache;
  /** The configured OpenAI-compatible model, or null: the local parser and templates answer. */
  language: LanguageModel | null;
  /** Delivers approved follow-ups to the outbound webhook (issue 7). */
  outbound: Outbound;
  /** Lead scoring, training and the model registry (issue 6). */
  models: ModelService;
  verifyApiKey: ReturnType<typeof createApiKeyVerifier>;
  limits: AppLimits;
  identity: IdentityResolver;
  /** Stop intake, flush the writer (into the spool if ClickHouse is down), close ClickHouse. */
  close(): Promise<void>;
}

export function createAppContext(config: ServerConfig, log: Logger = createLogger(config.LOG_LEVEL)): AppContext {
  const clickhouse = createClickHouse({
    url: config.CLICKHOUSE_URL,
    database: config.CLICKHOUSE_DATABASE,
    username: config.CLICKHOUSE_USER,
    password: config.CLICKHOUSE_PASSWORD
  });
  const fanout = createWallFanout({ clickhouse, log });
  const presence = createPresence({ log });
  const inbox = createInboxNotifier();
  const outbound = createOutbound({
    clickhouse,
    log,
    url: config.OUTBOUND_WEBHOOK_URL,
    secret: config.OUTBOUND_WEBHOOK_SECRET,
    // Sent/failed rows reach the lead's timeline and the wall's ticker like any committed event.
    onRecorded: (rows) => {
      fanout.publishCommitted(rows);
      notifyInboxes(inbox, rows);
    }
  });
  const models = createModelService({
    clickhouse,
    log,
    onScored: (orgId, leadIds) => inbox.changed(orgId, leadIds, ''),
    modelDir: config.MODEL_DIR,
    settings: {
      minWon: config.MODEL_MIN_WON,
      minLost: config.MODEL_MIN_LOST,
      retrainAfterOutcomes: config.RETRAIN_AFTER_OUTCOMES,
      retrainIntervalMs: config.RETRAIN_INTERVAL_HOURS * 3_600_000,
      seed: config.MODEL_SEED
    }
  });
  // Per database, so rows spooled for one database are never replayed into another. The
  // directory is this process's alone (openSpool locks it): several processes, or replicas, each
  // need their own INGEST_SPOOL_DIR; a second one on the same directory fails here at start.
  const spoolDir = join(config.INGEST_SPOOL_DIR, config.CLICKHOUSE_DATABASE);
  const spool = openSpool<EventRow>(spoolDir, {
    maxBytes: config.INGEST_SPOOL_MAX_BYTES,
    onCorrupt: (file, line) => log.error({ spoolDir, file, line }, 'damaged spool record skipped; segment kept as *.corrupt')
  });
  if (spool.pendingRows() > 0) {
    log.warn({ spoolDir, rows: spool.pendingRows() }, 'events left in the ingest spool by an earlier run; replaying');
  }
  const writer = createBatchWriter<EventRow>({
    insert: (rows) => insertEventRows(clickhouse, rows),
    maxRows: config.INGEST_FLUSH_ROWS,
    maxDelayMs: config.INGEST_FLUSH_MS,
    maxBuffered: config.INGEST_MAX_BUFFERED_ROWS,
    spool,
    // Replayed rows reach the wall too, once they are in ClickHouse.
    onCommitted: (rows) => {
      fanout.publishCommitted(rows);
      notifyInboxes(inbox, rows);
      if (config.MODEL_SCORING === 'on') models.committed(rows);
    },
    onRetry: (err, attempt) => log.warn({ err, attempt }, 'event insert failed; retrying'),
    onSpooled: (rows, err) => {
      if (err) log.error({ err, rows, spoolDir }, 'ClickHouse did not take a batch; acknowledged from the local spool');
    },
    onReplayed: (rows) => log.info({ rows, left: spool.pendingRows() }, 'spooled events replayed into ClickHouse'),
    onReplayFailed: (err) => log.warn({ err, rows: spool.pendingRows() }, 'spool replay failed; retrying')
  });
  return {
    config,
    log,
    clickhouse,
    writer,
    fanout,
    presence,
    inbox,
    inboxFacts: createOrgFactsCache(clickhouse),
    language: createLanguageModel(config),
    outbound,
    models,
    verifyApiKey: createApiKeyVerifier(clickhouse, config.API_KEY_CACHE_MS),
    limits: createLimits(config),
    identity: createIdentityResolver(clickhouse, { defaultRegion: config.INGEST_DEFAULT_PHONE_REGION as CountryCode | undefined }),
    async close() {
      outbound.stop();
      await writer.close();
      models.stop();
      fanout.stop();
      presence.stop();
      inbox.stop();
      await clickhouse.close();
    }
  };
}

/** Agents' committed events, per organisation, to the inboxes (coalesced there). */
function notifyInboxes(inbox: InboxNotifier, rows: readonly EventRow[]): void {
  const byOrg = new Map<string, Set<string>>();
  for (const r of rows) {
    const ids = byOrg.get(String(r.org_id)) ?? new Set<string>();
    ids.add(String(r.lead_id));
    byOrg.set(String(r.org_id), ids);
  }
  for (const [orgId, ids] of byOrg) inbox.changed(orgId, [...ids], '');
}

/** The limiters from config; `now` is there for tests. */
export function createLimits(config: ServerConfig, now: () => number = Date.now): AppLimits {
  const login = { windowMs: config.LOGIN_WINDOW_MS, now };
  return {
    loginPerAccount: createRateLimiter({ ...login, limit: config.LOGIN_MAX_PER_ACCOUNT }),
    loginPerAddress: createRateLimiter({ ...login, limit: config.LOGIN_MAX_PER_ADDRESS }),
    ingestPerKey: createRateLimiter({ limit: config.INGEST_MAX_REQUESTS_PER_KEY, windowMs: config.INGEST_RATE_WINDOW_MS, now })
  };
}
