/**
 * `npm start`: the whole system in one process on one port. A managed ClickHouse (unless
 * CLICKHOUSE_URL is set), migrations, the demo organisation, the built SvelteKit app with
 * socket.io and the ingest endpoint, and a simulator of AI agents posting through the real
 * HTTP API. Ctrl-C stops intake, flushes, closes ClickHouse and stops the managed server.
 *
 * Flags: --no-demo, --port N, --host H, --data-dir D.
 */
import { createServer, type RequestListener, type Server as HttpServer } from 'node:http';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { createIngestClient } from '../../ingest/client';
import { createEventSource, createSimulator, replayHistory } from '../../ingest/simulator';
import { createClickHouse } from '../lib/server/db/clickhouse';
import { findServerBinary, CLICKHOUSE_PACKAGES, startLocalClickHouse, type LocalClickHouse } from '../lib/server/db/local-server';
import { ensureDatabase, migrate } from '../lib/server/db/migrations';
import { INGEST_PATH, serveIngest, type IngestRequest } from '../lib/server/ingest-endpoint';
import { assignDemoLeads, seedDemo, type DemoCredentials } from '../lib/server/demo';
import { createRedisCoordinator } from '../lib/server/cluster/coordinator';
import { createLogger } from '../lib/server/log';
import { ensureAptPackages } from './apt';
import { ensureBuild } from './build';

interface AppRuntime {
  attach(server: HttpServer): { close(): Promise<void> | void };
  shutdown(): Promise<void>;
  /** POST /api/v1/events: the route's handleIngest in the bundle (src/hooks.server.ts). */
  ingest(request: IngestRequest): Promise<Response>;
}

const say = (line: string) => console.log(`pipewall: ${line}`);

function fail(message: string): never {
  console.error(`pipewall: ${message}`);
  process.exit(1);
}

const { values: args } = parseArgs({
  options: {
    'no-demo': { type: 'boolean', default: false },
    port: { type: 'string', default: process.env.PORT ?? '3000' },
    host: { type: 'string', default: process.env.HOST ?? '127.0.0.1' },
    'data-dir': { type: 'string', default: process.env.PIPEWALL_DATA_DIR ?? '.data' }
  }
});
const port = Number(args.port);
const host = args.host;
const dataDir = resolve(args['data-dir']);
const database = process.env.CLICKHOUSE_DATABASE ?? 'pipewall';
const demoRate = Number(process.env.DEMO_RATE ?? 20);

let local: LocalClickHouse | undefined;
const stops: { name: string; stop: () => Promise<void> }[] = [];
let stopping = false;

async function shutdown(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  say('stopping: intake closed, flushing...');
  // Force the exit if something hangs; a stuck flush must not keep the terminal forever.
  setTimeout(() => process.exit(code || 1), 20_000).unref();
  for (const { name, stop } of stops.reverse()) {
    try {
      await stop();
    } catch (err) {
      console.error(`pipewall: error while stopping ${name}:`, err);
    }
  }
  await local?.stop();
  say('stopped');
  process.exit(code);
}
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));

async function main(): Promise<void> {
  let url = process.env.CLICKHOUSE_URL;
  if (url) {
    say(`using ClickHouse at ${url} (CLICKHOUSE_URL); starting none`);
  } else {
    ensureAptPackages('clickhouse-server', () => findServerBinary() !== undefined, CLICKHOUSE_PACKAGES, say);
    local = await startLocalClickHouse({ dataDir: join(dataDir, 'clickhouse') });
    url = local.url;
    say(`managed ClickHouse ready at ${url} (data ${local.dataDir}, log ${local.logFile})`);
  }

  const settings = {
    url,
    database,
    username: process.env.CLICKHOUSE_USER,
    password: process.env.CLICKHOUSE_PASSWORD,
    // A ClickHouse cluster (README, "ClickHouse cluster layout"); the app's config reads the same key.
    cluster: process.env.CLICKHOUSE_CLUSTER || undefined
  };
  await ensureDatabase(settings);
  const admin = createClickHouse(settings);
  stops.push({ name: 'migration client', stop: () => admin.close() });
  const applied = await underMigrationLease(database, () => migrate(admin, Date.now, Infinity, { cluster: settings.cluster }));
  say(applied.length ? `migrations applied: ${applied.join(', ')}` : 'schema up to date');
  const roles = process.env.PIPEWALL_ROLES ?? 'all';
  // The demo's agents post to this process, so it needs the ingest role (and is one per deployment).
  const seedsDemo = !args['no-demo'] && (roles === 'all' || roles.split(',').includes('ingest'));
  const demo: DemoCredentials | undefined = seedsDemo ? await seedDemo(admin) : undefined;

  ensureBuild(say);

  // The bundled app reads these through $env when its handler is imported below.
  const origin = process.env.ORIGIN ?? `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
  Object.assign(process.env, {
    CLICKHOUSE_URL: url,
    CLICKHOUSE_DATABASE: database,
    ORIGIN: origin,
    // Everything this process keeps on disk lives under --data-dir unless set explicitly, so two
    // `npm start`s with different data directories never share (and lock) one spool.
    INGEST_SPOOL_DIR: process.env.INGEST_SPOOL_DIR ?? join(dataDir, 'spool'),
    MODEL_DIR: process.env.MODEL_DIR ?? join(dataDir, 'models'),
    // Ingest enforces its own (larger) limit; adapter-node's default 512 KB would cut it short.
    BODY_SIZE_LIMIT: process.env.BODY_SIZE_LIMIT ?? String(8 * 1024 * 1024)
  });
  const { handler } = (await import(pathToFileURL(resolve('build/handler.js')).href)) as { handler: RequestListener };
  const app = (globalThis as Record<symbol, AppRuntime | undefined>)[Symbol.for('pipewall.app')];
  if (!app?.ingest) fail('build/handler.js did not register the app runtime (hooks.server.ts)');

  // Ingest is the hot path (agents post continuously): it goes straight to the app's
  // handleIngest, ahead of adapter-node's static files, SvelteKit's routing and the session
  // hooks; every other request, and ingest under `vite dev`, takes SvelteKit's route.
  const server = createServer((req, res) => {
    const path = req.url?.split('?', 1)[0];
    if (req.method === 'POST' && path === INGEST_PATH) void serveIngest(req, res, (r) => app.ingest(r));
    else handler(req, res);
  });
  const io = app.attach(server);
  await new Promise<void>((ok, reject) => {
    server.once('error', reject);
    server.listen(port, host, ok);
  }).catch((err: NodeJS.ErrnoException) =>
    fail(err.code === 'EADDRINUSE' ? `port ${port} is in use; try --port ${port + 1}` : `cannot listen: ${err.message}`)
  );
  stops.push({ name: 'app (flush ingest, close ClickHouse)', stop: () => app.shutdown() });
  stops.push({
    name: 'http server and sockets',
    // Stop taking requests and sockets first; the app's writer then flushes what it holds.
    // io.close() also closes the HTTP server; open keep-alive connections are cut so it finishes.
    stop: async () => {
      const closed = new Promise<void>((ok) => server.once('close', () => ok()));
      await io.close();
      server.closeAllConnections();
      await closed;
    }
  });

  say(`serving ${origin} (roles: ${roles}${process.env.REDIS_URL ? ', with the other processes through Redis' : ''})`);
  if (demo) {
    const client = createIngestClient({ baseUrl: origin, apiKey: demo.apiKey });
    // Two weeks of history first, through the same API, then the same leads carry on live.
    let clock: number | undefined;
    const source = createEventSource({ seed: Date.now() >>> 0, leads: 120, now: () => clock ?? Date.now() });
    const historyEvents = Number(process.env.DEMO_HISTORY_EVENTS ?? 6_000);
    if (historyEvents > 0) {
      const started = Date.now();
      const accepted = await replayHistory(client, source, {
        fromMs: started - 14 * 86_400_000,
        toMs: started,
        events: historyEvents,
        setClock: (ms) => (clock = ms)
      });
      say(`demo history: ${accepted} events over the last 14 days sent in ${Date.now() - started} ms`);
      say(`demo: ${await assignDemoLeads(admin)} leads assigned to the demo rep`);
    }
    clock = undefined;
    const simulator = createSimulator({ client, source, seed: 0, ratePerSecond: demoRate });
    simulator.start();
    stops.push({
      name: 'demo simulator',
      stop: async () => {
        await simulator.stop();
        await client.close();
      }
    });
    console.log(
      [
        '',
        `  Pipewall is running: ${origin}`,
        `  Demo organisation "${demo.orgName}", AI agents sending ~${demoRate} events/s`,
        '  Sign in as any of:',
        ...demo.users.map((u) => `    ${u.role.padEnd(8)} ${u.email.padEnd(28)} password ${u.password}`),
        `  Ingest API key (shown once): ${demo.apiKey}`,
        `  Try: curl -X POST ${origin}/api/v1/events -H 'Authorization: Bearer ${demo.apiKey}' \\`,
        `         -H 'Content-Type: application/json' -d '[{"type":"stage_changed","eventId":"try-1","leadId":"lead-try","occurredAt":"${new Date().toISOString()}","stage":"enquired","summary":"hello from curl"}]'`,
        '  Ctrl-C stops everything.',
        ''
      ].join('\n')
    );
  }
}

/**
 * Several processes starting together (issue 8) must not apply a migration twice at once: with
 * REDIS_URL, the one holding the `migrate` lease migrates, the others wait for it and then find
 * the schema up to date. Alone, nothing to wait for.
 */
async function underMigrationLease<T>(namespace: string, work: () => Promise<T>): Promise<T> {
  const url = process.env.REDIS_URL;
  if (!url) return work();
  const coordinator = createRedisCoordinator({ url, namespace, log: createLogger('warn') });
  try {
    const deadline = Date.now() + 120_000;
    // Long enough for the slowest migration (a backfill of a large ledger); renewed below.
    const ttlMs = 60_000;
    while ((await coordinator.hold('migrate', ttlMs)) !== true) {
      if (Date.now() > deadline) throw new Error('another process has held the migration lease for 2 minutes; is Redis reachable?');
      await new Promise((r) => setTimeout(r, 250));
    }
    const renew = setInterval(() => void coordinator.hold('migrate', ttlMs), ttlMs / 3);
    try {
      return await work();
    } finally {
      clearInterval(renew);
      await coordinator.release('migrate');
    }
  } finally {
    await coordinator.close();
  }
}

main().catch(async (err: unknown) => {
  console.error(`pipewall: ${err instanceof Error ? err.message : String(err)}`);
  await local?.stop().catch(() => undefined);
  process.exit(1);
});
