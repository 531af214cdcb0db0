import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { createClickHouse, execute, type ClickHouseClient } from '../../src/lib/server/db/clickhouse';
import { ensureDatabase, migrate } from '../../src/lib/server/db/migrations';
import { ident, sql } from '../../src/lib/server/db/sql';

export interface TestDatabase {
  url: string;
  database: string;
  client: ClickHouseClient;
  /** Drop the database and close the client. */
  drop(): Promise<void>;
}

/**
 * A fresh, migrated database for one test file, so files can run in parallel. The name must
 * contain "test": this helper drops what it creates, and must never be pointed at real data.
 */
export async function createTestDatabase(name: string, options: { migrate?: boolean } = {}): Promise<TestDatabase> {
  const database = `${name}_${randomBytes(4).toString('hex')}`;
  if (!/test/.test(database) || !/^[a-z0-9_]+$/.test(database)) {
    throw new Error(`refusing test database name "${database}": it must contain "test" and be [a-z0-9_]`);
  }
  const url = inject('clickhouseUrl');
  await ensureDatabase({ url, database });
  const client = createClickHouse({ url, database });
  if (options.migrate !== false) await migrate(client);
  return {
    url,
    database,
    client,
    async drop() {
      try {
        await execute(client, sql`DROP DATABASE IF EXISTS ${ident(database)}`);
      } catch (err) {
        // Cleanup, not a behaviour under test: 18.16 waits for running merges before a DROP
        // answers, which on a busy 2-core machine can outlast the client's timeout. The server
        // carries on dropping; the name is unique, so nothing else ever sees that database.
        if (!/timeout/i.test((err as Error).message)) throw err;
        console.warn(`test database ${database}: DROP is still running after the client gave up waiting`);
      } finally {
        await client.close();
      }
    }
  };
}
