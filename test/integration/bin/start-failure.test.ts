import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startLocalClickHouse } from '../../../src/lib/server/db/local-server';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Run `npm start`'s entry with its own data dir and no CLICKHOUSE_URL; collect its output and exit code. */
function runStart(dataDir: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const env = { ...process.env };
    delete env.CLICKHOUSE_URL;
    const child = spawn(process.execPath, ['node_modules/tsx/dist/cli.mjs', 'src/bin/start.ts', '--no-demo', '--port', '0', '--data-dir', dataDir], { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('exit', (code) => done({ code, stdout, stderr }));
  });
}

/** Processes whose command line mentions `dir` (a managed server left behind would). */
function processesUsing(dir: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(dir);
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe('npm start when ClickHouse cannot start', () => {
  it('says why in one line and exits non-zero when the data directory cannot be made', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pipewall-start-fail-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'clickhouse'), 'a file where the data directory should be');
    const { code, stderr } = await runStart(dir);
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/^pipewall: .*(ENOTDIR|EEXIST|not a directory)/i);
    expect(processesUsing(dir)).toEqual([]);
  });

  it('names the reason from the server log when another server holds the directory, and leaves no process of its own', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pipewall-start-held-'));
    dirs.push(dir);
    // A server we did not start (no pid file of ours) holds the directory's lock.
    const holder = await startLocalClickHouse({ dataDir: join(dir, 'clickhouse') });
    rmSync(join(dir, 'clickhouse', 'server.pid'));
    try {
      const { code, stderr } = await runStart(dir);
      expect(code).toBe(1);
      expect(stderr.trim().split('\n')).toHaveLength(1);
      expect(stderr).toMatch(/^pipewall: clickhouse-server could not start: .+ \(log: .+server\.err\.log\)/);
      expect(processesUsing(dir)).toEqual([holder.pid]);
    } finally {
      await holder.stop();
    }
  });
});
