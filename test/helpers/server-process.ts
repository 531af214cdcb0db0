import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBuild } from '../../src/bin/build';
import { queryRows, type ClickHouseClient } from '../../src/lib/server/db/clickhouse';
import { isAlive } from '../../src/lib/server/db/local-server';
import { ident, sql } from '../../src/lib/server/db/sql';
import { buildStageChanged } from '../fixtures/events';
import { waitFor } from './wait';

/**
 * The real server as a child process (the fault tests of issue 4, the two-process browser test
 * and the bench of issue 8), a load of concurrent agents recording what was acknowledged, and the
 * read-side check of what ClickHouse holds.
 */

const BUILD_LOCK = join(tmpdir(), 'pipewall-ensure-build.lock');

/**
 * `ensureBuild` under a lock: the fault test files run in parallel workers, and two vite builds
 * writing build/ at once would break each other. The second waits, then finds the build fresh.
 */
export async function ensureBuildOnce(timeoutMs = 280_000): Promise<void> {
  await waitFor(
    () => {
      try {
        mkdirSync(BUILD_LOCK);
        writeFileSync(join(BUILD_LOCK, 'pid'), String(process.pid));
        return true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        // A holder that died (a killed test run) must not block every later run.
        const owner = Number(existsSync(join(BUILD_LOCK, 'pid')) ? readFileSync(join(BUILD_LOCK, 'pid'), 'utf8') : NaN);
        if (Number.isInteger(owner) && !isAlive(owner)) rmSync(BUILD_LOCK, { recursive: true, force: true });
        return false;
      }
    },
    timeoutMs,
    'the build lock'
  );
  try {
    // Other people's `npm start` builds the same tree and can pull .svelte-kit/output from under
    // a build; the next try then either finds their fresh build or builds on its own.
    for (let tries = 1; ; tries++) {
      try {
        ensureBuild(() => undefined);
        break;
      } catch (err) {
        if (tries === 3) throw err;
      }
    }
  } finally {
    rmSync(BUILD_LOCK, { recursive: true, force: true });
  }
}

export interface ServerProcess {
  /** The node process itself (started with --import tsx, no wrapper), so SIGKILL hits the server. */
  pid: number;
  url: string;
  output(): string;
  isRunning(): boolean;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM (graceful: flush, spool what ClickHouse does not take), SIGKILL after 25 s. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export async function startServer(options: {
  port: number;
  dataDir: string;
  env: Record<string, string>;
  readyTimeoutMs?: number;
  /** Node flags before the entry (the bench passes npm start's). */
  nodeArgs?: string[];
}): Promise<ServerProcess> {
  const args = [...(options.nodeArgs ?? []), '--import', 'tsx', 'src/bin/start.ts', '--no-demo', '--port', String(options.port), '--data-dir', options.dataDir];
  const child = spawn(process.execPath, args, { env: { ...process.env, LOG_LEVEL: 'warn', ...options.env } });
  if (child.pid === undefined) throw new Error('could not spawn the server');
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  let running = true;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.once('exit', (code, signal) => {
      running = false;
      done({ code, signal });
    })
  );
  const server: ServerProcess = {
    pid: child.pid,
    url: `http://127.0.0.1:${options.port}`,
    output: () => out,
    isRunning: () => running,
    exited,
    async stop() {
      if (running) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 25_000);
        await exited;
        clearTimeout(timer);
      }
      return exited;
    }
  };
  try {
    // start.ts may rebuild the app when a source changed since ensureBuildOnce (others edit the tree).
    await waitFor(() => out.includes('pipewall: serving') || !running, options.readyTimeoutMs ?? 90_000, 'the server to listen');
  } catch (err) {
    await server.stop();
    throw err;
  }
  if (!running) throw new Error(`server exited before serving:\n${out}`);
  return server;
}

export type Outcome = number | 'network-error' | 'timeout';

export interface RequestRecord {
  startedAt: number;
  endedAt: number;
  outcome: Outcome;
}

export interface Load {
  /** Event ids answered with a 2xx. */
  acked: Set<string>;
  requests: RequestRecord[];
  /** Hold every agent before its next request (a retry included) until resume(). */
  pause(): void;
  resume(): void;
  /** Let each agent finish the batch it holds (resending it until acknowledged), then stop. */
  stop(): Promise<void>;
}

/**
 * `agents` concurrent senders posting batches of `batchSize` fresh events, each resending the
 * same batch (same ids, like ingest/client.ts) until it gets a 2xx. So when the load stops, every
 * event sent was acknowledged at least once, and ClickHouse must hold exactly the acked ids.
 */
export function startLoad(options: {
  baseUrl: string;
  apiKey: string;
  agents: number;
  batchSize: number;
  /** A request not answered by then is recorded as 'timeout' (the tests' "never a hang" bound). */
  requestTimeoutMs: number;
  /** After stop(), how long an agent keeps resending its last batch before giving up. */
  settleTimeoutMs?: number;
}): Load {
  const acked = new Set<string>();
  const requests: RequestRecord[] = [];
  let stopping = false;
  let stopAt = 0;
  let gate: { opened: Promise<void>; open(): void } | undefined;

  async function post(body: string): Promise<{ outcome: Outcome; retryAfterMs: number }> {
    await gate?.opened;
    const startedAt = Date.now();
    let outcome: Outcome;
    let retryAfterMs = 100;
    try {
      const res = await fetch(`${options.baseUrl}/api/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${options.apiKey}`, 'content-type': 'application/json' },
        body,
        signal: AbortSignal.timeout(options.requestTimeoutMs)
      });
      await res.arrayBuffer();
      outcome = res.status;
      retryAfterMs = Number(res.headers.get('retry-after') ?? 0.1) * 1000;
    } catch (err) {
      outcome = (err as Error).name === 'TimeoutError' ? 'timeout' : 'network-error';
    }
    requests.push({ startedAt, endedAt: Date.now(), outcome });
    return { outcome, retryAfterMs };
  }

  async function agent(n: number): Promise<void> {
    while (!stopping) {
      const events = Array.from({ length: options.batchSize }, (_, i) => buildStageChanged({ leadId: `lead-${n}-${i % 25}` }));
      const body = JSON.stringify(events);
      for (;;) {
        const { outcome, retryAfterMs } = await post(body);
        if (typeof outcome === 'number' && outcome >= 200 && outcome < 300) {
          for (const e of events) acked.add(e.eventId);
          break;
        }
        if (stopping && Date.now() - stopAt > (options.settleTimeoutMs ?? 30_000)) {
          throw new Error(`agent ${n}: batch still not acknowledged ${options.settleTimeoutMs ?? 30_000} ms after the load stopped`);
        }
        // The client's backoff, capped so the test moves on quickly once the server answers again.
        await new Promise((r) => setTimeout(r, Math.min(retryAfterMs, 250)));
      }
    }
  }

  function resume(): void {
    gate?.open();
    gate = undefined;
  }

  const agents = Array.from({ length: options.agents }, (_, n) => agent(n));
  return {
    acked,
    requests,
    pause() {
      let open = () => {};
      const opened = new Promise<void>((r) => (open = r));
      gate ??= { opened, open };
    },
    resume,
    async stop() {
      resume();
      stopping = true;
      stopAt = Date.now();
      await Promise.all(agents);
    }
  };
}

/** What reads see for an organisation: `count()` with FINAL, and the distinct ids. */
export async function storedEvents(
  client: ClickHouseClient,
  orgId: string,
  table: 'events' | 'events_parked' = 'events'
): Promise<{ count: number; ids: Set<string> }> {
  const from = ident(table);
  const [row] = await queryRows<{ n: string }>(client, sql`SELECT count() AS n FROM ${from} FINAL WHERE org_id = ${orgId}`);
  const rows = await queryRows<{ event_id: string }>(client, sql`SELECT event_id FROM ${from} FINAL WHERE org_id = ${orgId}`);
  return { count: Number(row?.n), ids: new Set(rows.map((r) => r.event_id)) };
}

/** Segment files left in a spool directory tree (none once everything is replayed). */
export function spoolSegments(spoolRoot: string): string[] {
  if (!existsSync(spoolRoot)) return [];
  return readdirSync(spoolRoot, { recursive: true, encoding: 'utf8' }).filter((f) => /seg-\d+\.ndjson$/.test(f));
}
