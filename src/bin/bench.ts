/**
 * `npm run bench`: figures, printed as a table. Not tests: nothing here passes or fails.
 * Runs the real entry (`src/bin/start.ts --no-demo`) against a private ClickHouse and measures:
 * - events/s accepted through POST /api/v1/events with 1 and 8 concurrent senders, beside the
 *   same rows inserted raw with `clickhouse-client … FORMAT JSONEachRow` (ratio printed);
 * - event accepted → seen by a socket.io client watching the wall (p50/p99);
 * - `validateSessionToken` (every page request and socket handshake runs it) called in this
 *   process against the same ClickHouse, 2,000 calls one at a time and 2,000 with 8 in flight.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io as connect } from 'socket.io-client';
import type { AgentEvent } from '../lib/contracts/events';
import { wallRoom, type ClientToServerEvents, type ServerToClientEvents } from '../lib/contracts/realtime';
import type { Socket } from 'socket.io-client';
import { createClickHouse, queryRows } from '../lib/server/db/clickhouse';
import { freePort, startLocalClickHouse } from '../lib/server/db/local-server';
import { ensureDatabase, migrate } from '../lib/server/db/migrations';
import { createSession, validateSessionToken, type SessionPolicy } from '../lib/server/auth/session';
import { parseConfig } from '../lib/server/config';
import { EVENT_COLUMNS, toEventRow } from '../lib/server/db/queries/events';
import { sql } from '../lib/server/db/sql';
import { ensureBuild } from './build';
import { seedOrganisation } from '../../test/helpers/seed';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 40_000);
const BATCH = 500;
const DATABASE = 'pipewall_bench';
const rows: [string, string][] = [];
const record = (what: string, figure: string) => {
  rows.push([what, figure]);
  console.log(`  ${what}: ${figure}`);
};

function makeEvents(n: number, prefix: string): AgentEvent[] {
  const t0 = Date.now() - 3_600_000;
  return Array.from({ length: n }, (_, i) => ({
    type: 'message',
    eventId: `${prefix}-${i}`,
    leadId: `lead-${i % 2_000}`,
    occurredAt: new Date(t0 + i).toISOString(),
    channel: 'whatsapp',
    direction: i % 2 ? 'inbound' : 'outbound',
    text: 'Hi! Do you have an opening on Thursday afternoon for a cleaning?',
    agentId: 'agent-bench',
    summary: 'Customer asked for a Thursday slot'
  }));
}

async function postAll(base: string, key: string, events: AgentEvent[], senders: number): Promise<number> {
  const batches: AgentEvent[][] = [];
  for (let i = 0; i < events.length; i += BATCH) batches.push(events.slice(i, i + BATCH));
  const started = performance.now();
  await Promise.all(
    Array.from({ length: senders }, async () => {
      for (let b = batches.shift(); b; b = batches.shift()) {
        const res = await fetch(`${base}/api/v1/events`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify(b)
        });
        if (res.status !== 200) throw new Error(`ingest answered ${res.status}: ${await res.text()}`);
      }
    })
  );
  return events.length / ((performance.now() - started) / 1000);
}

const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))] ?? NaN;

const VALIDATIONS = 2_000;

/** Latency of each call and calls/s for `VALIDATIONS` validations with `inFlight` at a time. */
async function timeValidations(validate: () => Promise<unknown>, inFlight: number): Promise<{ ms: number[]; perSecond: number }> {
  const ms: number[] = [];
  let left = VALIDATIONS;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (left-- > 0) {
        const t = performance.now();
        if (!(await validate())) throw new Error('bench session did not validate');
        ms.push(performance.now() - t);
      }
    })
  );
  return { ms, perSecond: VALIDATIONS / ((performance.now() - started) / 1000) };
}

async function benchSessions(client: ReturnType<typeof createClickHouse>, orgId: string, userId: string, url: string): Promise<void> {
  const config = parseConfig({ CLICKHOUSE_URL: url, CLICKHOUSE_DATABASE: DATABASE });
  const ttlMs = config.SESSION_TTL_HOURS * 3_600_000;
  // Uncached is every first request of a session and every request after SESSION_CACHE_MS;
  // cached is one session asking again and again (a busy tab), the cache's best case.
  const variants: [string, SessionPolicy][] = [
    ['uncached', { ttlMs }],
    [`cached ${config.SESSION_CACHE_MS} ms`, { ttlMs, cacheMs: config.SESSION_CACHE_MS }]
  ];
  for (const [name, policy] of variants) {
    // A fresh session with the app's lifetime, so no call lands in the refresh half (no writes).
    const { token } = await createSession(client, { orgId, userId }, policy);
    for (const inFlight of [1, 8]) {
      const { ms, perSecond } = await timeValidations(() => validateSessionToken(client, token, policy), inFlight);
      const p = (q: number) => quantile(ms, q).toFixed(2);
      record(`validateSessionToken ${name}, ${inFlight} in flight, p50 / p99 ms, validations/s`, `${p(0.5)} / ${p(0.99)}, ${perSecond.toFixed(0)}`);
    }
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'pipewall-bench-'));
  const ch = await startLocalClickHouse({ dataDir: dir });
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  let app: ReturnType<typeof spawn> | undefined;
  try {
    await ensureDatabase({ url: ch.url, database: DATABASE });
    const client = createClickHouse({ url: ch.url, database: DATABASE });
    await migrate(client);
    const org = await seedOrganisation(client, 'Bench Org');
    ensureBuild((l) => console.log(l));
    app = spawn(process.execPath, ['node_modules/tsx/dist/cli.mjs', 'src/bin/start.ts', '--no-demo', '--port', String(port)], {
      // The per-key request limit is lifted: this measures throughput, and 8 senders of 500-event
      // batches on one key can pass the default 50 requests/s.
      env: { ...process.env, CLICKHOUSE_URL: ch.url, CLICKHOUSE_DATABASE: DATABASE, LOG_LEVEL: 'warn', INGEST_MAX_REQUESTS_PER_KEY: '1000000' },
      stdio: 'ignore'
    });
    for (let i = 0; ; i++) {
      if (i > 600) throw new Error('app did not start');
      if (await fetch(`${base}/login`).then((r) => r.ok, () => false)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    console.log(`\nPipewall bench (${EVENTS} events per run, batches of ${BATCH})`);

    // Raw baseline: the same rows, rendered as the endpoint would store them, through clickhouse-client.
    const rawEvents = makeEvents(EVENTS, 'raw');
    const payload = rawEvents.map((e) => JSON.stringify(toEventRow(e, org.orgId, Date.now()))).join('\n');
    const started = performance.now();
    const r = spawnSync(
      'clickhouse-client',
      ['--port', String(ch.tcpPort), '--database', DATABASE, '--query', `INSERT INTO events (${EVENT_COLUMNS.join(', ')}) FORMAT JSONEachRow`],
      { input: payload }
    );
    if (r.status !== 0) throw new Error(`clickhouse-client failed: ${r.stderr.toString()}`);
    const raw = EVENTS / ((performance.now() - started) / 1000);
    record('raw clickhouse-client JSONEachRow, events/s', raw.toFixed(0));

    for (const senders of [1, 8]) {
      const rate = await postAll(base, org.apiKey, makeEvents(EVENTS, `http${senders}`), senders);
      record(`HTTP ingest, ${senders} sender(s), events/s`, `${rate.toFixed(0)} (${(rate / raw).toFixed(2)} of raw)`);
    }
    const [stored] = await queryRows<{ n: string }>(client, sql`SELECT count() AS n FROM events WHERE org_id = ${org.orgId}`);
    record('rows stored (3 runs)', `${stored?.n} of ${EVENTS * 3}`);

    // Event accepted → seen on a socket watching the wall.
    const socket: Socket<ServerToClientEvents, ClientToServerEvents> = connect(base, {
      transports: ['websocket'],
      extraHeaders: { cookie: `pw_session=${org.sessionToken}` }
    });
    // The wall room is asked for (room:join); its snapshot says the socket is in.
    await new Promise<void>((ok, reject) => {
      const timer = setTimeout(() => reject(new Error('no wall snapshot within 10 s')), 10_000);
      socket.once('wall:snapshotted', () => {
        clearTimeout(timer);
        ok();
      });
      socket.emit('room:join', wallRoom(org.orgId), (result) => {
        if (!result.ok) reject(new Error(`room:join refused: ${result.code}`));
      });
    });
    const sentAt = new Map<string, number>();
    const lags: number[] = [];
    socket.on('events:ingested', (items) => {
      for (const it of items) {
        const t = sentAt.get(it.eventId);
        if (t !== undefined) lags.push(performance.now() - t);
      }
    });
    const probes = makeEvents(200, 'lag');
    for (const e of probes) {
      sentAt.set(e.eventId, performance.now());
      await fetch(`${base}/api/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${org.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify([e])
      });
      await new Promise((r) => setTimeout(r, 20)); // ~50 events/s, one per request
    }
    for (let i = 0; i < 100 && lags.length < probes.length; i++) await new Promise((r) => setTimeout(r, 20));
    socket.close();
    record('post → socket, p50 / p99 ms (200 single-event posts at ~50/s)', `${quantile(lags, 0.5).toFixed(0)} / ${quantile(lags, 0.99).toFixed(0)} (${lags.length} seen)`);

    await benchSessions(client, org.orgId, org.user.userId, ch.url);
    await client.close();
  } finally {
    app?.kill('SIGTERM');
    await ch.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log('\n| What | Figure |\n| --- | --- |');
  for (const [what, figure] of rows) console.log(`| ${what} | ${figure} |`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
