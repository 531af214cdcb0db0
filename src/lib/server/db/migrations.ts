import { createClickHouse, execute, queryRows, type ClickHouseClient, type ClickHouseSettings } from './clickhouse';
import { funnelSteps } from '../../contracts/funnel';
import { bookkeepingEventTypes } from '../../contracts/leads';
import { ident, inList, sql, trustedSql, type SqlFragment } from './sql';
import { MaterializedView, placeMigrationsTable, placeOnCluster, type ClusterTarget } from './cluster-layout';

/**
 * Versioned schema. Every statement runs on ClickHouse 18.16 (tests) and 24+ (production):
 * no DateTime64 (times are UInt64 epoch milliseconds), no TTL/CODEC/INDEX, no Nullable keys,
 * `IF NOT EXISTS` everywhere so a half-applied migration can simply run again.
 * Current state in mutable tables is a ReplacingMergeTree row with a higher `version`; a change
 * (revocation, deactivation) is a newer row, never an UPDATE or DELETE.
 */
export interface Migration {
  version: number;
  name: string;
  statements: SqlFragment[];
}

// Partition by month of the event time; 18.16 needs the explicit conversion from epoch ms.
const monthOfMs = (column: string) => `toYYYYMM(toDateTime(intDiv(${column}, 1000), 'UTC'))`;

export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'event ledger',
    statements: [
      trustedSql(`CREATE TABLE IF NOT EXISTS events (
        org_id String,
        event_id String,
        lead_id String,
        contact_id String,
        type String,
        channel String,
        stage String,
        intent String,
        actor String,
        agent_id String,
        value Decimal(18, 2),
        currency String,
        summary String,
        occurred_at UInt64,
        received_at UInt64,
        properties String
      ) ENGINE = ReplacingMergeTree
      PARTITION BY ${monthOfMs('occurred_at')}
      ORDER BY (org_id, lead_id, event_id)`)
      // occurred_at and received_at are epoch milliseconds (18.16 has no DateTime64).
      // ReplacingMergeTree on (org_id, lead_id, event_id) folds a retried event into one row
      // at merge time; reads that count must still dedupe (FINAL, argMax or LIMIT 1 BY).
    ]
  },
  {
    version: 2,
    name: 'organisations, users, sessions, api keys',
    statements: [
      trustedSql(`CREATE TABLE IF NOT EXISTS organisations (
        org_id String,
        name String,
        created_at UInt64,
        version UInt64
      ) ENGINE = ReplacingMergeTree(version) ORDER BY (org_id)`),
      trustedSql(`CREATE TABLE IF NOT EXISTS users (
        org_id String,
        user_id String,
        email String,
        name String,
        role String,
        password_hash String,
        active UInt8,
        created_at UInt64,
        version UInt64
      ) ENGINE = ReplacingMergeTree(version) ORDER BY (org_id, user_id)`),
      trustedSql(`CREATE TABLE IF NOT EXISTS sessions (
        org_id String,
        session_id String,
        user_id String,
        secret_hash String,
        created_at UInt64,
        expires_at UInt64,
        revoked UInt8,
        version UInt64
      ) ENGINE = ReplacingMergeTree(version) ORDER BY (org_id, session_id)`),
      trustedSql(`CREATE TABLE IF NOT EXISTS api_keys (
        org_id String,
        key_id String,
        name String,
        secret_hash String,
        created_at UInt64,
        revoked UInt8,
        version UInt64
      ) ENGINE = ReplacingMergeTree(version) ORDER BY (org_id, key_id)`)
    ]
  },
  {
    version: 3,
    name: 'identity resolution: identities and lead links',
    statements: [
      // Which lead first showed a strong identity (normalised email or E.164 phone); the earliest
      // row wins on read (argMin), so two processes racing on one identity agree.
      trustedSql(`CREATE TABLE IF NOT EXISTS contact_identities (
        org_id String,
        identity String,
        lead_id String,
        created_at UInt64
      ) ENGINE = MergeTree ORDER BY (org_id, identity)`),
      // lead_id was found to be the same person as canonical_lead_id. Links are kept flat (always
      // to a root); re-pointing a link is a newer version. The ledger itself is never rewritten.
      trustedSql(`CREATE TABLE IF NOT EXISTS lead_links (
        org_id String,
        lead_id String,
        canonical_lead_id String,
        identity String,
        version UInt64
      ) ENGINE = ReplacingMergeTree(version) ORDER BY (org_id, lead_id)`)
    ]
  },
  {
    version: 4,
    name: 'organisation settings',
    statements: [
      // One JSON document per organisation and kind (e.g. 'exceptions'), validated by its zod
      // schema on read; a change is a newer version, who made it is kept.
      trustedSql(`CREATE TABLE IF NOT EXISTS org_settings (
        org_id String,
        kind String,
        settings String,
        updated_by String,
        version UInt64
      ) ENGINE = ReplacingMergeTree(version) ORDER BY (org_id, kind)`)
    ]
  },
  {
    version: 5,
    name: 'per-lead funnel summary (materialised view)',
    statements: [
      // The funnel's per-lead facts, folded at insert time so the wall does not re-read the
      // ledger: at 1M events the fold from raw rows took ~1.2 s. Only idempotent aggregates
      // (min, max, min of a tuple), so a retried or re-batched event, the backfill below racing
      // with live inserts, or an out-of-order event cannot change a result: the state of a
      // lead is the same however often and in whatever order its events arrive.
      trustedSql(`CREATE TABLE IF NOT EXISTS lead_funnel (
        org_id String,
        lead_id String,
        s_top AggregateFunction(max, UInt8),
        s_t1 AggregateFunction(minIf, UInt64, UInt8),
        s_t2 AggregateFunction(minIf, UInt64, UInt8),
        s_t3 AggregateFunction(minIf, UInt64, UInt8),
        s_t4 AggregateFunction(minIf, UInt64, UInt8),
        s_t5 AggregateFunction(minIf, UInt64, UInt8),
        s_lost AggregateFunction(maxIf, UInt64, UInt8),
        s_channel AggregateFunction(minIf, Tuple(UInt64, String, String), UInt8),
        s_agent AggregateFunction(minIf, Tuple(UInt64, String, String), UInt8)
      ) ENGINE = AggregatingMergeTree ORDER BY (org_id, lead_id)`),
      // s_* columns hold aggregate states; read them with the -Merge combinator (queries/funnel.ts).
      // On a cluster the view reads events_local and writes lead_funnel_local on each node
      // (cluster-layout.ts): each shard folds the leads it holds.
      new MaterializedView('lead_funnel_mv', 'lead_funnel', 'events', leadFunnelSelect),
      // Rows stored before the view existed. Rows inserted between the two statements are
      // folded twice, which idempotent aggregates make harmless. On a cluster this runs through
      // the Distributed tables, so each lead's state lands on its organisation's shard.
      sql`INSERT INTO lead_funnel ${leadFunnelSelect(ident('events'))}`
    ]
  },
  {
    version: 6,
    name: 'model registry, promotion log and lead scores',
    statements: [
      // One row per trained version, written once; metrics, features and the holdout sample are
      // JSON validated by contracts/model-registry.ts on read. ReplacingMergeTree so a retried
      // insert of the same version folds. Artifacts live on disk under MODEL_DIR.
      trustedSql(`CREATE TABLE IF NOT EXISTS model_versions (
        org_id String,
        version_id String,
        created_at UInt64,
        kind String,
        scope String,
        backend String,
        train_from UInt64,
        train_to UInt64,
        n_train UInt32,
        n_holdout UInt32,
        positives UInt32,
        holdout_leads UInt32,
        holdout_leads_won UInt32,
        training_ms UInt32,
        metrics String,
        baseline String,
        features String,
        holdout String,
        reference String,
        artifact_dir String
      ) ENGINE = ReplacingMergeTree ORDER BY (org_id, version_id)`),
      // Every promotion, rejection and rollback with its reason and who made it; the active
      // version is the latest promoted or rolled-back one, so history is never rewritten.
      trustedSql(`CREATE TABLE IF NOT EXISTS model_decisions (
        org_id String,
        at UInt64,
        version_id String,
        decision String,
        reason String,
        actor String
      ) ENGINE = MergeTree ORDER BY (org_id, at, version_id)`),
      // Score history: one row per lead per scoring. `channel` is kept for drift by channel.
      trustedSql(`CREATE TABLE IF NOT EXISTS lead_scores (
        org_id String,
        lead_id String,
        scored_at UInt64,
        version_id String,
        score Float64,
        channel String,
        reasons String
      ) ENGINE = MergeTree PARTITION BY ${monthOfMs('scored_at')} ORDER BY (org_id, lead_id, scored_at)`)
    ]
  },
  {
    version: 7,
    name: 'model artifacts',
    statements: [
      // A version's files (tens of KB, base64), so a trainer on another machine can load any
      // version without a shared MODEL_DIR (issue 8). Written once per path; a retried write
      // folds into one row.
      trustedSql(`CREATE TABLE IF NOT EXISTS model_artifacts (
        org_id String,
        artifact_dir String,
        path String,
        content String,
        saved_at UInt64
      ) ENGINE = ReplacingMergeTree ORDER BY (org_id, artifact_dir, path)`)
    ]
  }
];

/**
 * Per-lead funnel states from ledger rows: `step` is the 1-based funnel position of a
 * stage_changed (enquired 1 … won 5; lost and other types 0), bookkeeping events (claims,
 * assignments) are not what the customer did and are left out, as in queries/funnel.ts.
 */
function leadFunnelSelect(source: SqlFragment): SqlFragment {
  const step = sql`toUInt8(if(type = 'stage_changed', indexOf(${[...funnelSteps]}, stage), 0))`;
  return sql`SELECT org_id, lead_id,
      maxState(${step}) AS s_top,
      minIfState(occurred_at, ${step} >= 1) AS s_t1,
      minIfState(occurred_at, ${step} >= 2) AS s_t2,
      minIfState(occurred_at, ${step} >= 3) AS s_t3,
      minIfState(occurred_at, ${step} >= 4) AS s_t4,
      minIfState(occurred_at, ${step} >= 5) AS s_t5,
      maxIfState(occurred_at, type = 'stage_changed' AND stage = 'lost') AS s_lost,
      minIfState(tuple(occurred_at, event_id, channel), channel != '') AS s_channel,
      minIfState(tuple(occurred_at, event_id, agent_id), agent_id != '') AS s_agent
    FROM ${source}
    WHERE type NOT IN ${inList([...bookkeepingEventTypes])}
    GROUP BY org_id, lead_id`;
}

/**
 * Bookkeeping for migrations. It is the one table without `org_id` first in its key: it
 * describes the schema, not any organisation's data (on a cluster: one table replicated to every
 * node, cluster-layout.ts `placeMigrationsTable`).
 */
export const MIGRATIONS_TABLE = trustedSql(`CREATE TABLE IF NOT EXISTS schema_migrations (
  version UInt32,
  name String,
  applied_at UInt64
) ENGINE = ReplacingMergeTree ORDER BY (version)`);

/**
 * CREATE DATABASE needs a connection that does not already name the database. With
 * `settings.cluster`, the database is created on every node of the cluster.
 */
export async function ensureDatabase(settings: ClickHouseSettings): Promise<void> {
  const bootstrap = createClickHouse({ ...settings, database: 'default' });
  const onCluster = settings.cluster ? sql` ON CLUSTER ${ident(settings.cluster)}` : trustedSql('');
  try {
    // No ENGINE: the default is Ordinary on 18.16 and Atomic on modern servers.
    await execute(bootstrap, sql`CREATE DATABASE IF NOT EXISTS ${ident(settings.database)}${onCluster}`);
  } finally {
    await bootstrap.close();
  }
}

/** Where the tables go: one server (the default), or a cluster (README "ClickHouse cluster layout"). */
export interface SchemaLayout {
  /**
   * The cluster's name in `remote_servers`: each table is created as Replicated `x_local` ON
   * CLUSTER with a Distributed `x` in front, sharded by organisation (cluster-layout.ts). The
   * client must then be created with the same `cluster` (clickhouse.ts session settings).
   */
  cluster?: string;
  /**
   * Test only: see `ClusterTarget.localRehearsal`. Run migrate on every node, one version at a
   * time on all of them (`upTo`), as ON CLUSTER would: a data statement reads through the
   * Distributed tables, so every node must have the tables first.
   */
  localRehearsal?: boolean;
}

interface Placement {
  schema(statement: SqlFragment): SqlFragment[];
  migrationsTable(statement: SqlFragment): SqlFragment[];
}

const SINGLE_SERVER: Placement = { schema: (s) => [s], migrationsTable: (s) => [s] };

async function placementFor(client: ClickHouseClient, layout: SchemaLayout): Promise<Placement> {
  if (!layout.cluster) return SINGLE_SERVER;
  // The cluster DDL names the database (ZooKeeper paths, Distributed, ON CLUSTER on other nodes).
  const [row] = await queryRows<{ db: string }>(client, sql`SELECT currentDatabase() AS db`);
  if (!row) throw new Error('SELECT currentDatabase() returned no row');
  const target: ClusterTarget = { cluster: layout.cluster, database: row.db, localRehearsal: layout.localRehearsal };
  return { schema: (s) => placeOnCluster(s, target), migrationsTable: (s) => placeMigrationsTable(s, target) };
}

/**
 * Apply every migration not yet recorded, in order, up to `upTo` (all by default; tests stop
 * early to hold data as an older version stored it). Returns the versions applied now. With
 * `layout.cluster`, each statement runs as cluster-layout.ts places it, and every node of the
 * cluster must be up (ON CLUSTER waits for all of them); versions are recorded as on one server.
 */
export async function migrate(
  client: ClickHouseClient,
  now = Date.now,
  upTo = Infinity,
  layout: SchemaLayout = {}
): Promise<number[]> {
  const place = await placementFor(client, layout);
  for (const statement of place.migrationsTable(MIGRATIONS_TABLE)) await execute(client, statement);
  const done = await queryRows<{ version: number }>(client, sql`SELECT DISTINCT version FROM schema_migrations`);
  const applied = new Set(done.map((r) => Number(r.version)));
  const ran: number[] = [];
  for (const m of migrations) {
    if (applied.has(m.version) || m.version > upTo) continue;
    for (const statement of m.statements) {
      for (const placed of place.schema(statement)) await execute(client, placed);
    }
    await execute(
      client,
      sql`INSERT INTO schema_migrations (version, name, applied_at) VALUES (${m.version}, ${m.name}, ${now()})`
    );
    ran.push(m.version);
  }
  return ran;
}
