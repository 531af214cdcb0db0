import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAppContext, type AppContext } from '../../src/lib/server/app-context';
import { parseConfig } from '../../src/lib/server/config';
import type { TestDatabase } from './clickhouse';

/**
 * An app context on a test database, quiet, with settings overridable per test. Each context
 * gets its own spool directory, as each server process owns its own.
 */
export function createTestContext(db: TestDatabase, overrides: Record<string, string> = {}): AppContext {
  const config = parseConfig({
    CLICKHOUSE_URL: db.url,
    CLICKHOUSE_DATABASE: db.database,
    LOG_LEVEL: 'silent',
    INGEST_FLUSH_MS: '10',
    INGEST_SPOOL_DIR: mkdtempSync(join(tmpdir(), 'pipewall-spool-')),
    ...overrides
  });
  return createAppContext(config);
}

/** POST a body to the ingest handler as an HTTP request would. */
export function ingestRequest(apiKey: string | null, body: unknown, headers: Record<string, string> = {}): Request {
  return new Request('http://pipewall.test/api/v1/events', {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}),
      ...headers
    },
    body: typeof body === 'string' ? body : JSON.stringify(body)
  });
}
