import { ident, sql, SqlFragment, trustedSql } from './sql';

/**
 * The cluster layout (issue 8 item 3; README "ClickHouse cluster layout"). The schema is written
 * once, for one server, in migrations.ts; the functions here turn each of its statements into the
 * statements a cluster runs instead:
 *
 * - a table `x` becomes `x_local` on every node (`ON CLUSTER`), with the Replicated variant of its
 *   engine (one ZooKeeper path per shard, the replica name from each node's macros), and `x`
 *   becomes a Distributed table over the `x_local`s, sharded by organisation;
 * - a materialized view reads and writes the local tables, so each node folds its own rows;
 * - a data statement (`INSERT … SELECT`) runs as written, through the Distributed tables;
 * - schema_migrations becomes one table replicated to every node, not sharded (see
 *   `placeMigrationsTable`).
 *
 * Queries keep the plain names, so the same SQL reads the tables on one server and the
 * Distributed tables on a cluster.
 *
 * Sharding by `cityHash64(org_id)` keeps all rows of one organisation on one shard. Every sorting
 * key starts with org_id, so every ReplacingMergeTree/AggregatingMergeTree key lives on one shard:
 * FINAL, argMax and GROUP BY per lead fold complete data on each shard, and an IN or JOIN subquery
 * can read the shard's local table (distributed_product_mode = 'local', set by clickhouse.ts).
 */

export interface ClusterTarget {
  /** The cluster's name in every node's `remote_servers`. */
  cluster: string;
  /** The database holding the tables, the same on every node. */
  database: string;
  /**
   * Test only (test/integration/db/cluster-layout.test.ts). The same local and Distributed
   * tables, but with the engines as written (not Replicated) and without ON CLUSTER, to be run
   * on each node in turn: both Replicated tables and ON CLUSTER need ZooKeeper or Keeper, which
   * the 18.16 used for tests here does not have. Never for a real cluster: its nodes would hold
   * unreplicated copies and no DDL would reach the other nodes.
   */
  localRehearsal?: boolean;
}

export class ClusterLayoutError extends Error {}

/** The local table behind the Distributed table `table`. */
const localTableName = (table: string): string => `${table}_local`;

/** All rows of one organisation on one shard; must be an integer expression (Distributed). */
const SHARDING_KEY = 'cityHash64(org_id)';

/**
 * A materialized view that the cluster layout can place: its SELECT is rendered over `source`, so
 * on a cluster it reads the local source table. Its text is the single-server statement, built
 * from `sql` fragments like any other (`select` must render with the `sql` tag).
 */
export class MaterializedView extends SqlFragment {
  constructor(
    readonly name: string,
    readonly target: string,
    readonly source: string,
    readonly select: (source: SqlFragment) => SqlFragment
  ) {
    super(`CREATE MATERIALIZED VIEW IF NOT EXISTS ${name} TO ${target} AS ${select(ident(source)).text}`);
  }
}

// The single-server CREATE TABLE as migrations.ts writes it: name, column list, engine with its
// optional argument (a version column), then PARTITION BY / ORDER BY. Anything else is refused
// rather than guessed at.
const CREATE_TABLE = /^CREATE TABLE IF NOT EXISTS (\w+) (\([\s\S]*\)) ENGINE = (?!Replicated)(\w*MergeTree)(?:\((\w*)\))?(\s[\s\S]*)$/;
const INSERT_SELECT = /^INSERT INTO \w+ SELECT\s/;

interface TableParts {
  name: string;
  columns: string;
  engine: string;
  engineArgs: string | undefined;
  rest: string;
}

function parseCreateTable(statement: SqlFragment): TableParts | undefined {
  const m = CREATE_TABLE.exec(statement.text);
  if (!m) return undefined;
  const [, name = '', columns = '', engine = '', engineArgs, rest = ''] = m;
  return { name, columns, engine, engineArgs: engineArgs || undefined, rest };
}

const qualified = (t: ClusterTarget, table: string) => sql`${ident(t.database)}.${ident(table)}`;
const onCluster = (t: ClusterTarget) => (t.localRehearsal ? trustedSql('') : sql` ON CLUSTER ${ident(t.cluster)}`);

/** `ReplicatedX('<path>', '<replica>'[, version])`, or the engine as written in a rehearsal. */
function engineOf(t: ClusterTarget, table: TableParts, zooKeeperPath: string, replica: string): SqlFragment {
  if (t.localRehearsal) return trustedSql(table.engineArgs ? `${table.engine}(${table.engineArgs})` : table.engine);
  const version = trustedSql(table.engineArgs ? `, ${table.engineArgs}` : '');
  return sql`Replicated${trustedSql(table.engine)}(${zooKeeperPath}, ${replica}${version})`;
}

function placeTable(t: ClusterTarget, table: TableParts): SqlFragment[] {
  if (!/^\(\s*org_id String\b/.test(table.columns)) {
    throw new ClusterLayoutError(`table ${table.name} cannot be sharded by organisation: org_id is not its first column`);
  }
  const local = localTableName(table.name);
  // {shard} and {replica} are macros from each node's config: one path per shard, one replica
  // name per node. The database is part of the path so two databases never share a table.
  const path = `/clickhouse/tables/{shard}/${t.database}/${local}`;
  return [
    sql`CREATE TABLE IF NOT EXISTS ${qualified(t, local)}${onCluster(t)} ${trustedSql(table.columns)} ENGINE = ${engineOf(t, table, path, '{replica}')}${trustedSql(table.rest)}`,
    sql`CREATE TABLE IF NOT EXISTS ${qualified(t, table.name)}${onCluster(t)} AS ${qualified(t, local)} ENGINE = Distributed(${t.cluster}, ${t.database}, ${local}, ${trustedSql(SHARDING_KEY)})`
  ];
}

function placeView(t: ClusterTarget, view: MaterializedView): SqlFragment {
  const source = qualified(t, localTableName(view.source));
  return sql`CREATE MATERIALIZED VIEW IF NOT EXISTS ${qualified(t, view.name)}${onCluster(t)} TO ${qualified(t, localTableName(view.target))} AS ${view.select(source)}`;
}

/**
 * The statements a cluster runs for one single-server statement of migrations.ts, in order.
 * Throws for a statement it does not know how to place (an ALTER, say): teach it here, with a
 * test, rather than let the statement reach only one node.
 */
export function placeOnCluster(statement: SqlFragment, target: ClusterTarget): SqlFragment[] {
  if (statement instanceof MaterializedView) return [placeView(target, statement)];
  const table = parseCreateTable(statement);
  if (table) return placeTable(target, table);
  // Through the Distributed tables: each row lands on its organisation's shard, where the local
  // materialized views see it. Needs insert_distributed_sync (clickhouse.ts) to be done on return.
  if (INSERT_SELECT.test(statement.text)) return [statement];
  throw new ClusterLayoutError(`no cluster placement for: ${statement.text.slice(0, 80)}`);
}

/**
 * schema_migrations on a cluster: one ReplicatedReplacingMergeTree with a single ZooKeeper path
 * (no {shard}), so every node of every shard is a replica of the same small table. It describes
 * the schema, not an organisation, so it is not sharded; whichever node a migrator connects to
 * reads the full history locally, and migrate's own SELECT and INSERT stay as written. The replica
 * name joins {shard} and {replica} because it must be unique across the whole cluster, and a
 * {replica} macro is often only unique within its shard.
 */
export function placeMigrationsTable(statement: SqlFragment, target: ClusterTarget): SqlFragment[] {
  const table = parseCreateTable(statement);
  if (!table) throw new ClusterLayoutError(`not a CREATE TABLE: ${statement.text.slice(0, 80)}`);
  const path = `/clickhouse/tables/all/${target.database}/${table.name}`;
  return [
    sql`CREATE TABLE IF NOT EXISTS ${qualified(target, table.name)}${onCluster(target)} ${trustedSql(table.columns)} ENGINE = ${engineOf(target, table, path, '{shard}-{replica}')}${trustedSql(table.rest)}`
  ];
}
