import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createConnection } from 'node:net';
import { freePort } from '../lib/server/db/local-server';

/** Debian's package; `npm test` and `npm run bench` install it when missing (src/bin/apt.ts). */
export const REDIS_BINARY = '/usr/bin/redis-server';
export const REDIS_PACKAGES = ['redis-server'] as const;

export interface LocalRedis {
  url: string;
  port: number;
  /** Stop the server (SIGTERM, then SIGKILL after 5 s). */
  stop(): Promise<void>;
}

/**
 * A private Redis on loopback for tests and the bench (issue 8): the processes under test meet
 * through it as production processes meet through REDIS_URL. Append-only persistence in
 * `dataDir`, so a test can restart it on the same port and find its stream again.
 */
export async function startLocalRedis(options: { dataDir: string; port?: number }): Promise<LocalRedis> {
  if (!existsSync(REDIS_BINARY)) throw new Error(`${REDIS_BINARY} is missing: apt-get install -y ${REDIS_PACKAGES.join(' ')}`);
  mkdirSync(options.dataDir, { recursive: true });
  const port = options.port ?? (await freePort());
  const child: ChildProcess = spawn(
    REDIS_BINARY,
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', options.dataDir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'everysec'],
    { stdio: ['ignore', 'ignore', 'pipe'] }
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 10_000;
  while (!(await answersPing(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`redis-server did not start on port ${port}: ${stderr.trim() || 'no output'}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(killer);
    }
  };
}

/** One PING over a raw socket: no client library needed to know the server is up. */
function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}
