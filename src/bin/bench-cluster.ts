/**
 * `npm run bench`, part "cluster" (issue 8): event → screen latency with the app split over two
 * processes meeting through Redis, beside the same figure for one process. Posts go to process
 * one; the wall watching is connected to process two, so every pushed event crossed Redis
 * (process one commits it, its row reaches process two on the bus, process two's wall pushes it).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentEvent } from '../lib/contracts/events';
import type { ClickHouseClient } from '../lib/server/db/clickhouse';
import { freePort } from '../lib/server/db/local-server';
import { seedOrganisation } from '../../test/helpers/seed';
import type { ServerProcess } from '../../test/helpers/server-process';
import { probeWall, quantile } from './bench-wall';
import { startLocalRedis } from './local-redis';

/** Starts `src/bin/start.ts` with extra environment (its own data directory) and resolves when it serves. */
export type StartApp = (port: number, env: Record<string, string>) => Promise<ServerProcess>;

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
  const started: ServerProcess[] = [];
  try {
    // Like for like: none of the three scores or trains (that would load the machine unevenly;
    // the other parts measure it). One process alone, then two as two machines would run them,
    // each with its own spool, meeting through Redis; only the first takes events.
    for (const env of [
      { PIPEWALL_ROLES: 'app,ingest' } as Record<string, string>,
      { REDIS_URL: redis.url, PIPEWALL_ROLES: 'app,ingest' },
      { REDIS_URL: redis.url, PIPEWALL_ROLES: 'app' }
    ]) {
      started.push(await deps.startApp(await freePort(), env));
    }
    const [single, p1, p2] = started as [ServerProcess, ServerProcess, ServerProcess];
    const one = await seedOrganisation(client, 'Cluster Bench One');
    const lagsOne = await probeWall(single.url, single.url, one, deps.makeEvents(N, 'c1'), GAP_MS);
    const two = await seedOrganisation(client, 'Cluster Bench Two');
    const lagsTwo = await probeWall(p1.url, p2.url, two, deps.makeEvents(N, 'c2'), GAP_MS);
    const same = await seedOrganisation(client, 'Cluster Bench Same');
    const lagsSame = await probeWall(p1.url, p1.url, same, deps.makeEvents(N, 'c3'), GAP_MS);
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
