import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, inject, it } from 'vitest';
import { clickhouseErrorCode, createClickHouse, execute, queryRows } from '../../../src/lib/server/db/clickhouse';
import { startLocalClickHouse, type LocalClickHouse } from '../../../src/lib/server/db/local-server';
import { sql } from '../../../src/lib/server/db/sql';

const dirs: string[] = [];
const running: LocalClickHouse[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pipewall-local-server-test-'));
  dirs.push(dir);
  return dir;
}

async function start(dataDir: string): Promise<LocalClickHouse> {
  const server = await startLocalClickHouse({ dataDir });
  running.push(server);
  return server;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}

async function ping(url: string): Promise<string> {
  const res = await fetch(`${url}/ping`);
  return res.text();
}

afterEach(async () => {
  // A failed assertion must not leave a server behind; stop() is a no-op once stopped.
  await Promise.all(running.splice(0).map((s) => s.stop()));
});

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('startLocalClickHouse', () => {
  it('answers /ping, records its pid, and stop() ends the process', async () => {
    const dir = tempDir();
    const server = await start(dir);

    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await ping(server.url)).toBe('Ok.\n');
    expect(alive(server.pid)).toBe(true);
    expect(readFileSync(join(dir, 'server.pid'), 'utf8')).toBe(String(server.pid));

    await server.stop();

    expect(alive(server.pid)).toBe(false);
    expect(existsSync(join(dir, 'server.pid'))).toBe(false);
    await expect(ping(server.url)).rejects.toThrow();
  });

  it('starts again on the same directory after stop, and the data is still there', async () => {
    const dir = tempDir();
    const first = await start(dir);
    const client1 = createClickHouse({ url: first.url, database: 'default' });
    await execute(client1, sql`CREATE TABLE persist_test (x UInt32, s String) ENGINE = MergeTree ORDER BY x`);
    await execute(client1, sql`INSERT INTO persist_test (x, s) VALUES (${42}, ${"it's kept"})`);
    await client1.close();
    await first.stop();
    expect(alive(first.pid)).toBe(false);

    const second = await start(dir);
    expect(second.pid).not.toBe(first.pid);
    expect(await ping(second.url)).toBe('Ok.\n');
    const client2 = createClickHouse({ url: second.url, database: 'default' });
    try {
      expect(await queryRows(client2, sql`EXISTS TABLE persist_test`)).toEqual([{ result: 1 }]);
      expect(await queryRows(client2, sql`SELECT x, s FROM persist_test`)).toEqual([{ x: 42, s: "it's kept" }]);
    } finally {
      await client2.close();
    }
    await second.stop();
    expect(alive(second.pid)).toBe(false);
  });

  it('rejects when its data directory cannot be created', async () => {
    const file = join(tempDir(), 'a-regular-file');
    writeFileSync(file, 'not a directory');

    await expect(startLocalClickHouse({ dataDir: join(file, 'clickhouse') })).rejects.toMatchObject({
      code: 'ENOTDIR'
    });
    expect(readFileSync(file, 'utf8')).toBe('not a directory');
  });
});

describe('clickhouseErrorCode against the real server', () => {
  it('reads the code of an error the 18.16 server actually sent', async () => {
    const client = createClickHouse({ url: inject('clickhouseUrl'), database: 'default' });
    try {
      const err = await queryRows(client, sql`SELECT * FROM no_such_table_test`).then(
        () => undefined,
        (e: unknown) => e
      );
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toMatch(/^Code: 60[.,]/);
      expect(clickhouseErrorCode(err)).toBe(60);
    } finally {
      await client.close();
    }
  });
});
