import { insertRows, queryRows, type ClickHouseClient } from '../clickhouse';
import { sql } from '../sql';

/**
 * A model version's files (model.json, weights.bin, meta.json per candidate; tens of KB), kept
 * in ClickHouse beside its registry row (migration 7, issue 8): a trainer on another machine
 * takes over an organisation's model without a shared disk. Contents are base64, as a String
 * column carries text through JSONEachRow.
 */
export interface ArtifactFile {
  /** Path inside the version's artifact directory, with forward slashes. */
  path: string;
  content: Buffer;
}

export async function saveArtifactFiles(client: ClickHouseClient, orgId: string, artifactDir: string, files: readonly ArtifactFile[], now: number): Promise<void> {
  if (files.length === 0) return;
  await insertRows(
    client,
    'model_artifacts',
    ['org_id', 'artifact_dir', 'path', 'content', 'saved_at'],
    files.map((f) => ({ org_id: orgId, artifact_dir: artifactDir, path: f.path, content: f.content.toString('base64'), saved_at: now }))
  );
}

/** The files of one artifact directory, newest copy of each; empty when none were saved. */
export async function loadArtifactFiles(client: ClickHouseClient, orgId: string, artifactDir: string): Promise<ArtifactFile[]> {
  const rows = await queryRows<{ path: string; content: string }>(
    client,
    sql`SELECT path, argMax(content, saved_at) AS content FROM model_artifacts
        WHERE org_id = ${orgId} AND artifact_dir = ${artifactDir}
        GROUP BY path ORDER BY path`
  );
  return rows.map((r) => ({ path: r.path, content: Buffer.from(r.content, 'base64') }));
}
