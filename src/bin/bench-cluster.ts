/**
 * `npm run bench`, part "cluster" (issue 8): event → screen latency with the app split over two
 * processes meeting through Redis, beside the same figure for one process. Posts go to process
 * one; the wall watching is connected to process two, so every pushed event crossed Redis
 * (process one commits it, its row reaches process two on the bus, process two's wall pushes it).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { io as connect, type Socket } from 'socket.io-client';
import type { AgentEvent } from '../lib/contracts/events';
import { wallRoom, type ClientToServerEvents, type ServerToClientEvents } from '../lib/contracts/realtime';
import type { ClickHouseClient } from '../lib/server/db/clickhouse';
import { freePort } from '../lib/server/db/local-server';
import { seedOrganisation, type SeededOrg } from '../../test/helpers/seed';
import { startLocalRedis } from './local-redis';

type WallSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export interface AppProcess {
  base: string;
  stop(): Promise<void>;
}

/** Starts `src/bin/start.ts` with extra environment and resolves when it serves. */
export type StartApp = (port: number, env: Record<string, string>) => Promise<AppProcess>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function quantile(xs: number[], q: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

async function watchWall(base: string, org: SeededOrg): Promise<WallSocket> {
  const socket: WallSocket = connect(base, { transports: ['websocket'], extraHeaders: { cookie: `pw_session=${org.sessionToken}` }, forceNew: true });
  await new Promise<void>((ok, reject) => {
    const timer = setTimeout(() => reject(new Error('no wall snapshot within 30 s')), 30_000);
    socket.once('wall:snapshotted', () => {
      clearTimeout(timer);
      ok();
    });
    socket.emit('room:join', wallRoom(org.orgId), (r) => !r.ok && reject(new Error(`room:join refused: ${r.code}`)));
  });
  return socket;
}

/**
 * Single-event posts at a steady rate to `postBase`, each timed until a wall socket on
 * `watchBase` names it. Returns the lags in ms.
 */
export async function probeWall(postBase: string, watchBase: string, org: SeededOrg, events: AgentEvent[], gapMs: number): Promise<number[]> {
  const socket = await watchWall(watchBase, org);
  const sentAt = new Map<string, number>();
  const lags: number[] = [];
  socket.on('events:ingested', (items) => {
    for (const it of items) {
      const t = sentAt.get(it.eventId);
      if (t !== undefined) lags.push(performance.now() - t);
    }
  });
  try {
    for (const e of events) {
      sentAt.set(e.eventId, performance.now());
      const res = await fetch(`${postBase}/api/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${org.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify([e])
      });
      if (!res.ok) throw new Error(`ingest answered ${res.status}`);
      await sleep(gapMs);
    }
    for (let i = 0; i < 150 && lags.length < events.length; i++) await sleep(20);
  } finally {
    socket.close();
  }
  return lags;
}

const summary = (lags: number[], sent: number) =>
  `${quantile(lags, 0.5).toFixed(0)} / ${quantile(lags, 0.99).toFixed(0)} / ${Math.max(...lags).toFixed(0)} (${lags.length} of ${sent} seen)`;

export async function benchCluster(deps: {
  client: ClickHouseClient;
  dir: string;
  startApp: StartApp;
  makeEvents: (n: number, prefix: string) => AgentEvent[];
  record: (what: string, value: string) => void;
}): Promise<void> {
  const { client, record } = deps;
  const N = 300;
  const GAP_MS = 20; // ~50 events/s, one per request: the push path, not throughput
  mkdirSync(join(deps.dir, 'redis'), { recursive: true });
  const redis = await startLocalRedis({ dataDir: join(deps.dir, 'redis') });
  const started: AppProcess[] = [];
  try {
    // Like for like: none of the three scores or trains (that would load the machine unevenly;
    // the other parts measure it). One process alone, then two as two machines would run them,
    // each with its own spool, meeting through Redis; only the first takes events.
    for (const [name, env] of [
      ['single', { PIPEWALL_ROLES: 'app,ingest' }],
      ['p1', { REDIS_URL: redis.url, PIPEWALL_ROLES: 'app,ingest' }],
      ['p2', { REDIS_URL: redis.url, PIPEWALL_ROLES: 'app' }]
    ] as const) {
      started.push(
        await deps.startApp(await freePort(), { ...env, INGEST_SPOOL_DIR: join(deps.dir, `spool-${name}`), MODEL_DIR: join(deps.dir, `models-${name}`) })
      );
    }
    const [single, p1, p2] = started as [AppProcess, AppProcess, AppProcess];
    const one = await seedOrganisation(client, 'Cluster Bench One');
    const lagsOne = await probeWall(single.base, single.base, one, deps.makeEvents(N, 'c1'), GAP_MS);
    const two = await seedOrganisation(client, 'Cluster Bench Two');
    const lagsTwo = await probeWall(p1.base, p2.base, two, deps.makeEvents(N, 'c2'), GAP_MS);
    const same = await seedOrganisation(client, 'Cluster Bench Same');
    const lagsSame = await probeWall(p1.base, p1.base, same, deps.makeEvents(N, 'c3'), GAP_MS);
    const p50 = (xs: number[]) => quantile(xs, 0.5);
    record(`event → wall socket, one process (no Redis): p50 / p99 / max ms (${N} single-event posts at ~50/s)`, summary(lagsOne, N));
    record(`event → wall socket, two processes through Redis, posted to one, watched on the other: p50 / p99 / max ms`, summary(lagsTwo, N));
    record(`event → wall socket, two processes through Redis, posted to and watched on the same one: p50 / p99 / max ms`, summary(lagsSame, N));
    record('two processes / one process, p50 event → screen', `${(p50(lagsTwo) / p50(lagsOne)).toFixed(2)}× (+${(p50(lagsTwo) - p50(lagsOne)).toFixed(0)} ms)`);
  } finally {
    for (const p of started) await p.stop();
    await redis.stop();
  }
}
