import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import type { ClickHouseClient } from '../db/clickhouse';
import { loadArtifactFiles, saveArtifactFiles, type ArtifactFile } from '../db/queries/model-artifacts';

/**
 * MODEL_DIR is a cache; ClickHouse holds every version's files (issue 8: no state on one
 * machine that another process needs). The trainer publishes a version's files before its
 * registry row, so whoever sees the row can fetch them; a process missing them locally (a new
 * machine, a trainer taking over) writes them into its MODEL_DIR once.
 */
export async function publishArtifacts(clickhouse: ClickHouseClient, modelDir: string, orgId: string, artifactDir: string, now: number): Promise<void> {
  const root = join(modelDir, artifactDir);
  const files: ArtifactFile[] = [];
  for (const path of await listFiles(root)) {
    files.push({ path: relative(root, path).split(sep).join('/'), content: await readFile(path) });
  }
  await saveArtifactFiles(clickhouse, orgId, artifactDir, files, now);
}

/** Make sure the version's files are in MODEL_DIR; fetched from ClickHouse when they are not. */
export async function ensureArtifacts(clickhouse: ClickHouseClient, modelDir: string, orgId: string, artifactDir: string): Promise<void> {
  const root = join(modelDir, artifactDir);
  if (existsSync(root)) return;
  const files = await loadArtifactFiles(clickhouse, orgId, artifactDir);
  if (files.length === 0) throw new Error(`model files for ${artifactDir} are neither in ${modelDir} nor in ClickHouse`);
  // Written beside, then renamed into place: a crash half-way leaves no half directory that
  // existsSync above would take for a whole one.
  const partial = `${root}.partial-${process.pid}`;
  for (const f of files) {
    const target = join(partial, f.path);
    if (relative(partial, target).startsWith('..')) throw new Error(`refusing model file path ${f.path}`);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, f.content);
  }
  await mkdir(dirname(root), { recursive: true });
  await rename(partial, root).catch(async (err: unknown) => {
    await rm(partial, { recursive: true, force: true });
    // Another load of the same version won the rename: its copy is as good as ours.
    if (!existsSync(root)) throw err;
  });
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(path)));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}
