import type { CountryCode } from 'libphonenumber-js';
import { createIdentityResolver, type IdentityResolver } from '../../../ingest/pipeline/resolve-identity';
import { join } from 'node:path';
import { createApiKeyVerifier } from './auth/api-key';
import { createRateLimiter, type RateLimiter } from './auth/rate-limit';
import { hasRole, type ServerConfig } from './config';
import { createClusterBus, type ClusterBus } from './cluster/bus';
import { createLocalCoordinator, createRedisCoordinator, type Coordinator, type RedisClient } from './cluster/coordinator';
import { createSharedRateLimiter, type SharedRateLimiter } from './auth/shared-rate-limit';
import { createRoomOwnership, keepLease, type KeptLease, type RoomOwnership } from './cluster/leases';
import { createClickHouse, type ClickHouseClient } from './db/clickhouse';
import { insertEventRows, rowsByOrg, type EventRow } from './db/queries/events';
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

/**
 * Abuse limits. Sign-in limits are shared by every process through Redis when it is set (a
 * guesser must not get N budgets behind N processes); the ingest limit guards this process's
 * buffer, so it is this process's own.
 */
export interface AppLimits {
  /** Sign-in attempts keyed by normalised email. */
  loginPerAccount: SharedRateLimiter;
  /** Sign-in attempts keyed by client address. */
  loginPerAddress: SharedRateLimiter;
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
  /** Leases and the Redis client shared with socket.io's adapter (issue 8); local when alone. */
  coordinator: Coordinator;
  /** Committed rows and other news to every process (issue 8); in-process when alone. */
  bus: ClusterBus;
  /** Which process computes each room's pushes (issue 8); this one, alone. */
  ownership: RoomOwnership;
  /** Whether this process is the active trainer now: it scores, trains and resumes deliveries. */
  isTrainer(): boolean;
  /** Stop intake, flush the writer (into the spool if ClickHouse is down), close ClickHouse. */
  close(): Promise<void>;
}

export function createAppContext(config: ServerConfig, log: Logger = createLogger(config.LOG_LEVEL)): AppContext {
  const clickhouse = createClickHouse({
    url: config.CLICKHOUSE_URL,
    database: config.CLICKHOUSE_DATABASE,
    username: config.CLICKHOUSE_USER,
    password: config.CLICKHOUSE_PASSWORD,
    cluster: config.CLICKHOUSE_CLUSTER
  });
  const clustered = config.REDIS_URL !== undefined;
  const coordinator: Coordinator = config.REDIS_URL
    ? createRedisCoordinator({ url: config.REDIS_URL, namespace: config.CLICKHOUSE_DATABASE, log })
    : createLocalCoordinator();
  const bus = createClusterBus({
    redis: coordinator.redis,
    processId: coordinator.processId,
    streamKey: `pipewall:${config.CLICKHOUSE_DATABASE}:bus`,
    maxLen: config.REDIS_STREAM_MAX_LEN,
    log
  });
  // Of the processes with watchers of a room, one computes its pushes (cluster/leases.ts).
  const ownership = createRoomOwnership(coordinator);
  const fanout = createWallFanout({ clickhouse, log, owns: ownership.owns });
  const presence = createPresence({ log });
  const inbox = createInboxNotifier({ owns: ownership.owns });
  // Alone, a process with the trainer role is the trainer; with others, the one holding the lease.
  let trainerActive = hasRole(config, 'trainer') && !clustered;
  const outbound = createOutbound({
    clickhouse,
    log,
    url: config.OUTBOUND_WEBHOOK_URL,
    secret: config.OUTBOUND_WEBHOOK_SECRET,
    // Sent/failed rows reach the lead's timeline and the wall's ticker like any committed event.
    onRecorded: (rows) => bus.committed(rows)
  });
  const models = createModelService({
    clickhouse,
    log,
    onScored: (orgId, leadIds) => inbox.changed(orgId, leadIds, ''),
    isActive: () => trainerActive,
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
    onCommitted: (rows) => bus.committed(rows),
    onRetry: (err, attempt) => log.warn({ err, attempt }, 'event insert failed; retrying'),
    onSpooled: (rows, err) => {
      if (err) log.error({ err, rows, spoolDir }, 'ClickHouse did not take a batch; acknowledged from the local spool');
    },
    onReplayed: (rows) => log.info({ rows, left: spool.pendingRows() }, 'spooled events replayed into ClickHouse'),
    onReplayFailed: (err) => log.warn({ err, rows: spool.pendingRows() }, 'spool replay failed; retrying')
  });
  const identity = createIdentityResolver(clickhouse, { defaultRegion: config.INGEST_DEFAULT_PHONE_REGION as CountryCode | undefined });
  // Every process hears every committed row; each does its part (see the modules for who pushes).
  bus.onCommitted((rows) => {
    if (hasRole(config, 'app')) {
      fanout.publishCommitted(rows);
      for (const [orgId, orgRows] of rowsByOrg(rows)) inbox.rowsCommitted(orgId, [...new Set(orgRows.map((r) => String(r.lead_id)))]);
    }
    if (trainerActive) models.committed(rows);
  });
  bus.onIdentityForgotten((orgId) => identity.forget(orgId));
  bus.handleModelCommands(async (command) => {
    if (!trainerActive) return null;
    if (command.kind === 'retrain') return { kind: 'retrain', run: models.trainer.retrain(command.orgId, 'manual') };
    if (command.kind === 'run') return { kind: 'run', run: models.trainer.currentRun(command.orgId) };
    return { kind: 'rollback', result: await models.trainer.rollback(command.orgId, command.versionId, command.actor) };
  });
  const trainerLease: KeptLease | undefined =
    clustered && hasRole(config, 'trainer')
      ? keepLease(coordinator, 'trainer', {
          // Renewed every 5 s: a dead trainer is replaced within 15 s.
          ttlMs: 15_000,
          onChange: (held) => {
            trainerActive = held;
            if (!held) {
              // Its runs would be refused at the decision anyway; stop spending the CPU on them.
              models.trainer.halt('this process is no longer the active trainer');
              return log.warn('this process is no longer the active trainer');
            }
            log.info('this process is the active trainer');
            models.scorer.reset();
            resumeDeliveries(outbound, log);
          }
        })
      : undefined;
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
    limits: createLimits(config, Date.now, coordinator.redis),
    identity,
    coordinator,
    bus,
    ownership,
    isTrainer: () => trainerActive,
    async close() {
      outbound.stop();
      await writer.close();
      await trainerLease?.stop();
      await ownership.releaseAll();
      models.stop();
      fanout.stop();
      presence.stop();
      inbox.stop();
      await clickhouse.close();
      await bus.close();
      await coordinator.close();
    }
  };
}

/**
 * Approvals a crash left undelivered go out from the active trainer (one process, so two
 * processes starting together do not both send them). Best effort: a failure is logged and the
 * next start or takeover tries again.
 */
export function resumeDeliveries(outbound: Outbound, log: Logger): void {
  outbound.resumePending().then(
    (n) => n > 0 && log.info({ approvals: n }, 'resumed undelivered follow-ups'),
    (err: unknown) => log.warn({ err }, 'could not resume undelivered follow-ups')
  );
}

/** The limiters from config; `now` is there for tests. */
export function createLimits(config: ServerConfig, now: () => number = Date.now, redis: RedisClient | null = null): AppLimits {
  const login = (name: string, limit: number) => {
    const options = { windowMs: config.LOGIN_WINDOW_MS, now, limit };
    return createSharedRateLimiter(createRateLimiter(options), { ...options, redis, name, namespace: config.CLICKHOUSE_DATABASE });
  };
  return {
    loginPerAccount: login('login-account', config.LOGIN_MAX_PER_ACCOUNT),
    loginPerAddress: login('login-address', config.LOGIN_MAX_PER_ADDRESS),
    ingestPerKey: createRateLimiter({ limit: config.INGEST_MAX_REQUESTS_PER_KEY, windowMs: config.INGEST_RATE_WINDOW_MS, now })
  };
}
