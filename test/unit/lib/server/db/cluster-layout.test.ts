import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  ClusterLayoutError,
  MaterializedView,
  placeMigrationsTable,
  placeOnCluster,
  type ClusterTarget
} from '../../../../../src/lib/server/db/cluster-layout';
import { MIGRATIONS_TABLE, migrations } from '../../../../../src/lib/server/db/migrations';
import { sql, trustedSql, type SqlFragment } from '../../../../../src/lib/server/db/sql';

const cluster: ClusterTarget = { cluster: 'pw', database: 'pipewall' };
const rehearsal: ClusterTarget = { ...cluster, localRehearsal: true };

const statements = migrations.flatMap((m) => m.statements);
const tableName = (s: SqlFragment) => /^CREATE TABLE IF NOT EXISTS (\w+) /.exec(s.text)?.[1];
const tables = statements.filter((s) => tableName(s) !== undefined);
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** Each table's engine on a cluster: the Replicated variant, its own path per shard, its version column. */
const replicatedEngines: Record<string, string> = {
  events: "ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/pipewall/events_local', '{replica}')",
  organisations: "ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/pipewall/organisations_local', '{replica}', version)",
  users: "ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/pipewall/users_local', '{replica}', version)",
  sessions: "ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/pipewall/sessions_local', '{replica}', version)",
  api_keys: "ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/pipewall/api_keys_local', '{replica}', version)",
  contact_identities: "ReplicatedMergeTree('/clickhouse/tables/{shard}/pipewall/contact_identities_local', '{replica}')",
  lead_links: "ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/pipewall/lead_links_local', '{replica}', version)",
  org_settings: "ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/pipewall/org_settings_local', '{replica}', version)",
  lead_funnel: "ReplicatedAggregatingMergeTree('/clickhouse/tables/{shard}/pipewall/lead_funnel_local', '{replica}')",
  model_versions: "ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/pipewall/model_versions_local', '{replica}')",
  model_decisions: "ReplicatedMergeTree('/clickhouse/tables/{shard}/pipewall/model_decisions_local', '{replica}')",
  lead_scores: "ReplicatedMergeTree('/clickhouse/tables/{shard}/pipewall/lead_scores_local', '{replica}')",
  model_artifacts: "ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/pipewall/model_artifacts_local', '{replica}')"
};

describe('the single-server layout', () => {
  it('keeps the statements of versions 1–6 byte for byte as existing databases ran them', () => {
    // Hashes of the texts before the cluster layout existed. A change here changes what an
    // applied migration means: add a new version instead.
    const hashes = Object.fromEntries(
      migrations.filter((m) => m.version <= 6).map((m) => [m.version, sha256(m.statements.map((s) => s.text).join('\n;\n'))])
    );
    expect(hashes).toEqual({
      1: 'bfce3873e87e3dd21625648be06b1af9bd0bbc639c4517e4e753bde53bbc0e68',
      2: '37e2d63ba58f6c4bb1f324e9112c51cf5037c6d654493ac40fb79cae8317118b',
      3: 'e8976b1b056e740d4baab3fc2a645f018a6f8bd0c22fc6c6b15f6f7597b0e83b',
      4: 'b47f3dfc8c0f3060260895b84ac452ce0ae812d11a3ee67efb529df26257e270',
      5: 'e81c58a7d294b082f070883225d4904e9ebc1e2d5b957b9a4db23e21991973da',
      6: 'b4003d614596bb35cfe612b6064fbb7bf2d106d1a0f889eef28ae0b0100a2d98'
    });
    expect(sha256(MIGRATIONS_TABLE.text)).toBe('2da6aeec6681dfc8f4768f5252efb056f538ac57a7a6071d74193e2418fd7b13');
  });

  it('writes the funnel view as the plain statement over the plain tables', () => {
    const view = statements.find((s) => s instanceof MaterializedView);
    expect(view?.text.startsWith('CREATE MATERIALIZED VIEW IF NOT EXISTS lead_funnel_mv TO lead_funnel AS SELECT org_id, lead_id,')).toBe(true);
    expect(view?.text).toContain('FROM `events`\n');
  });
});

describe('placeOnCluster', () => {
  it('covers every table the migrations create', () => {
    expect(tables.map(tableName).sort()).toEqual(Object.keys(replicatedEngines).sort());
  });

  it.each(Object.keys(replicatedEngines))('creates %s as a Replicated local table ON CLUSTER, with a Distributed table sharded by organisation in front', (name) => {
    const original = tables.find((s) => tableName(s) === name) as SqlFragment;
    const [local, distributed, ...more] = placeOnCluster(original, cluster);
    expect(more).toEqual([]);
    // Same columns, PARTITION BY and ORDER BY; only the name, ON CLUSTER and the engine differ.
    expect(local?.text).toBe(
      original.text
        .replace(`CREATE TABLE IF NOT EXISTS ${name} (`, `CREATE TABLE IF NOT EXISTS \`pipewall\`.\`${name}_local\` ON CLUSTER \`pw\` (`)
        .replace(/\) ENGINE = \w*MergeTree(\(version\))?/, `) ENGINE = ${replicatedEngines[name]}`)
    );
    expect(distributed?.text).toBe(
      `CREATE TABLE IF NOT EXISTS \`pipewall\`.\`${name}\` ON CLUSTER \`pw\` AS \`pipewall\`.\`${name}_local\` ` +
        `ENGINE = Distributed('pw', 'pipewall', '${name}_local', cityHash64(org_id))`
    );
  });

  it('writes the whole events table as expected', () => {
    const events = tables.find((s) => tableName(s) === 'events') as SqlFragment;
    const [local] = placeOnCluster(events, cluster);
    expect(local?.text.replace(/\s+/g, ' ')).toBe(
      'CREATE TABLE IF NOT EXISTS `pipewall`.`events_local` ON CLUSTER `pw` ( org_id String, event_id String, lead_id String, ' +
        'contact_id String, type String, channel String, stage String, intent String, actor String, agent_id String, ' +
        'value Decimal(18, 2), currency String, summary String, occurred_at UInt64, received_at UInt64, properties String ) ' +
        "ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/pipewall/events_local', '{replica}') " +
        "PARTITION BY toYYYYMM(toDateTime(intDiv(occurred_at, 1000), 'UTC')) ORDER BY (org_id, lead_id, event_id)"
    );
  });

  it('makes the funnel view read events_local and write lead_funnel_local on each node', () => {
    const view = statements.find((s) => s instanceof MaterializedView) as MaterializedView;
    const placed = placeOnCluster(view, cluster);
    expect(placed.map((s) => s.text)).toEqual([
      view.text
        .replace(
          'CREATE MATERIALIZED VIEW IF NOT EXISTS lead_funnel_mv TO lead_funnel AS',
          'CREATE MATERIALIZED VIEW IF NOT EXISTS `pipewall`.`lead_funnel_mv` ON CLUSTER `pw` TO `pipewall`.`lead_funnel_local` AS'
        )
        .replace('FROM `events`\n', 'FROM `pipewall`.`events_local`\n')
    ]);
  });

  it('runs the funnel backfill as written, through the Distributed tables', () => {
    const backfill = statements.find((s) => s.text.startsWith('INSERT INTO lead_funnel SELECT')) as SqlFragment;
    expect(placeOnCluster(backfill, cluster)).toEqual([backfill]);
  });

  it('places a migration in order: every local table before the Distributed table that reads it', () => {
    const v2 = migrations.find((m) => m.version === 2);
    const names = (v2?.statements ?? []).flatMap((s) => placeOnCluster(s, cluster)).map((s) => /`pipewall`\.`(\w+)`/.exec(s.text)?.[1]);
    expect(names).toEqual(['organisations_local', 'organisations', 'users_local', 'users', 'sessions_local', 'sessions', 'api_keys_local', 'api_keys']);
  });

  it('refuses a statement it cannot place rather than run it on one node', () => {
    expect(() => placeOnCluster(trustedSql('ALTER TABLE events ADD COLUMN x String'), cluster)).toThrow(ClusterLayoutError);
    expect(() => placeOnCluster(trustedSql('CREATE TABLE IF NOT EXISTS t (id String) ENGINE = MergeTree ORDER BY (id)'), cluster)).toThrow(
      'org_id is not its first column'
    );
    expect(() =>
      placeOnCluster(trustedSql("CREATE TABLE IF NOT EXISTS t (org_id String) ENGINE = ReplicatedMergeTree('/p', 'r') ORDER BY (org_id)"), cluster)
    ).toThrow(ClusterLayoutError);
  });

  it('renders names and paths through the sql escaping', () => {
    const odd: ClusterTarget = { cluster: 'c`1', database: "d'b" };
    const [local, distributed] = placeOnCluster(trustedSql('CREATE TABLE IF NOT EXISTS t (org_id String) ENGINE = MergeTree ORDER BY (org_id)'), odd);
    expect(local?.text).toBe(
      "CREATE TABLE IF NOT EXISTS `d'b`.`t_local` ON CLUSTER `c``1` (org_id String) ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/d\\'b/t_local', '{replica}') ORDER BY (org_id)"
    );
    expect(distributed?.text).toBe(
      "CREATE TABLE IF NOT EXISTS `d'b`.`t` ON CLUSTER `c``1` AS `d'b`.`t_local` ENGINE = Distributed('c`1', 'd\\'b', 't_local', cityHash64(org_id))"
    );
  });
});

describe('placeMigrationsTable', () => {
  it('makes schema_migrations one table replicated to every node of every shard, not sharded', () => {
    expect(placeMigrationsTable(MIGRATIONS_TABLE, cluster).map((s) => s.text)).toEqual([
      'CREATE TABLE IF NOT EXISTS `pipewall`.`schema_migrations` ON CLUSTER `pw` (\n  version UInt32,\n  name String,\n  applied_at UInt64\n) ' +
        "ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/all/pipewall/schema_migrations', '{shard}-{replica}') ORDER BY (version)"
    ]);
  });
});

describe('the local rehearsal (test only)', () => {
  it('runs the same Distributed tables and view as a cluster, without ON CLUSTER', () => {
    const onCluster = statements.flatMap((s) => placeOnCluster(s, cluster)).filter((s) => !/ENGINE = Replicated/.test(s.text));
    const rehearsed = statements.flatMap((s) => placeOnCluster(s, rehearsal)).filter((s) => !/_local` \(/.test(s.text));
    expect(rehearsed.map((s) => s.text)).toEqual(onCluster.map((s) => s.text.replace(' ON CLUSTER `pw`', '')));
    expect(rehearsed.length).toBe(tables.length + 2); // a Distributed table each, the view and the backfill
  });

  it('keeps each local table on the engine it has on one server', () => {
    const lines = tables.map((s) => {
      const [local] = placeOnCluster(s, rehearsal);
      return [/ENGINE = (\S+)/.exec(s.text)?.[1], /ENGINE = (\S+)/.exec(local?.text ?? '')?.[1], local?.text.includes('ON CLUSTER')];
    });
    expect(lines).toEqual(tables.map((s) => [/ENGINE = (\S+)/.exec(s.text)?.[1], /ENGINE = (\S+)/.exec(s.text)?.[1], false]));
  });

  it('keeps schema_migrations on its plain engine, on the node it runs on', () => {
    expect(placeMigrationsTable(MIGRATIONS_TABLE, rehearsal).map((s) => s.text)).toEqual([
      MIGRATIONS_TABLE.text.replace('schema_migrations (', '`pipewall`.`schema_migrations` (')
    ]);
  });

  it('renders a view from its sql fragments like any statement', () => {
    const view = new MaterializedView('v', 't', 's', (source) => sql`SELECT org_id FROM ${source} WHERE x = ${"it's"}`);
    expect(view.text).toBe("CREATE MATERIALIZED VIEW IF NOT EXISTS v TO t AS SELECT org_id FROM `s` WHERE x = 'it\\'s'");
    expect(placeOnCluster(view, rehearsal).map((s) => s.text)).toEqual([
      "CREATE MATERIALIZED VIEW IF NOT EXISTS `pipewall`.`v` TO `pipewall`.`t_local` AS SELECT org_id FROM `pipewall`.`s_local` WHERE x = 'it\\'s'"
    ]);
  });
});
