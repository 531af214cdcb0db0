import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startLocalClickHouse, type LocalClickHouse } from '../../src/lib/server/db/local-server';

declare module 'vitest' {
  export interface ProvidedContext {
    clickhouseUrl: string;
  }
}

/**
 * One ClickHouse for the whole integration run: the one in CLICKHOUSE_URL (npm test passes its
 * own), or a private server in a temporary directory. Each test file then makes its own database.
 */
export default async function setup(project: TestProject) {
  let local: LocalClickHouse | undefined;
  let dir: string | undefined;
  let url = process.env.CLICKHOUSE_URL;
  if (!url) {
    dir = mkdtempSync(join(tmpdir(), 'pipewall-ch-'));
    local = await startLocalClickHouse({ dataDir: dir });
    url = local.url;
  }
  project.provide('clickhouseUrl', url);
  return async () => {
    await local?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  };
}
