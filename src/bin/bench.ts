/**
 * `npm run bench`: figures, printed as a table. Not tests: nothing here passes or fails.
 * Runs the real entry (`src/bin/start.ts --no-demo`) against a private ClickHouse and measures:
 * - events/s accepted through POST /api/v1/events with 1, 8 and 64 concurrent senders (closed
 *   loop, batches of 500), beside the same rows inserted raw with `clickhouse-client … FORMAT
 *   JSONEachRow` (ratio printed), with the CPU each process spent per event;
 * - ack latency (request start → response) at a steady 1k and 5k events/s, sent open loop
 *   (batches of 10 and 50 every 10 ms, whether or not earlier requests have been answered);
 * - the server process's peak memory (VmRSS sampled every 20 ms, and VmHWM) under 64 senders;
 * - event accepted → seen by a socket.io client watching the wall (p50/p99);
 * - `validateSessionToken` (every page request and socket handshake runs it) called in this
 *   process against the same ClickHouse, 2,000 calls one at a time and 2,000 with 8 in flight.
 * The client (this process), the server and ClickHouse share this machine's cores; the table
 * says how many. INGEST_* settings in the environment (e.g. INGEST_FLUSH_MS) reach the server.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
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
import type { LocalClickHouse } from '../lib/server/db/local-server';
import { sql } from '../lib/server/db/sql';
import { ensureBuild } from './build';
import { seedOrganisation } from '../../test/helpers/seed';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 40_000);
const BATCH = 500;
const LATENCY_SECONDS = Number(process.env.BENCH_LATENCY_SECONDS ?? 10);
const RUNS = 3;
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

/**
 * Raw baseline: the same rows, rendered as the endpoint would store them, inserted in one go by
 * clickhouse-client (which parses JSON itself and sends Native blocks). Events/s.
 */
function rawInsert(ch: LocalClickHouse, orgId: string, events: AgentEvent[]): number {
  const payload = events.map((e) => JSON.stringify(toEventRow(e, orgId, Date.now()))).join('\n');
  const started = performance.now();
  const r = spawnSync(
    'clickhouse-client',
    ['--port', String(ch.tcpPort), '--database', DATABASE, '--query', `INSERT INTO events (${EVENT_COLUMNS.join(', ')}) FORMAT JSONEachRow`],
    { input: payload }
  );
  if (r.status !== 0) throw new Error(`clickhouse-client failed: ${r.stderr.toString()}`);
  return events.length / ((performance.now() - started) / 1000);
}

/** CPU seconds (user + system, all threads) a process has used so far. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
}

/** A field of /proc/<pid>/status in MiB, e.g. VmRSS or VmHWM. */
function statusMiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

interface Processes {
  server: number;
  clickhouse: number;
}

/** CPU each process spent while `fn` ran, in µs per event, and the wall time. */
async function measured<T>(procs: Processes, events: number, fn: () => Promise<T>): Promise<{ result: T; seconds: number; cpu: string }> {
  const s0 = cpuSeconds(procs.server);
  const c0 = cpuSeconds(procs.clickhouse);
  const m0 = process.cpuUsage();
  const started = performance.now();
  const result = await fn();
  const seconds = (performance.now() - started) / 1000;
  const m = process.cpuUsage(m0);
  const per = (cpu: number) => ((cpu * 1e6) / events).toFixed(0);
  const cpu = `server ${per(cpuSeconds(procs.server) - s0)}, ClickHouse ${per(cpuSeconds(procs.clickhouse) - c0)}, client ${per((m.user + m.system) / 1e6)}`;
  return { result, seconds, cpu };
}

const post = (base: string, key: string, body: string) =>
  fetch(`${base}/api/v1/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body
  });

/** Request bodies of `size` events each, rendered before any clock starts (as the raw payload is). */
function bodiesOf(events: AgentEvent[], size: number): string[] {
  const bodies: string[] = [];
  for (let i = 0; i < events.length; i += size) bodies.push(JSON.stringify(events.slice(i, i + size)));
  return bodies;
}

/** Closed loop: `senders` each post their next body when the last one was answered. */
async function postAll(base: string, key: string, bodies: string[], senders: number): Promise<void> {
  await Promise.all(
    Array.from({ length: senders }, async () => {
      for (let b = bodies.shift(); b; b = bodies.shift()) {
        const res = await post(base, key, b);
        if (res.status !== 200) throw new Error(`ingest answered ${res.status}: ${await res.text()}`);
        await res.arrayBuffer();
      }
    })
  );
}

/**
 * Open loop: a batch of `batch` events every `everyMs`, on schedule whether or not earlier
 * requests were answered (a slow server meets more requests, as with real agents). Latency is
 * request start → response; `lateMs` is how far the sender itself fell behind its schedule.
 */
async function openLoop(base: string, key: string, bodies: string[], everyMs: number) {
  const ms: number[] = [];
  let refused = 0;
  let lateMs = 0;
  const pending: Promise<void>[] = [];
  const t0 = performance.now() + 20;
  for (let k = 0; k < bodies.length; k++) {
    const due = t0 + k * everyMs;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const started = performance.now();
    lateMs = Math.max(lateMs, started - due);
    pending.push(
      post(base, key, bodies[k] as string).then(async (res) => {
        await res.arrayBuffer();
        if (res.status === 200) ms.push(performance.now() - started);
        else refused++;
      })
    );
  }
  await Promise.all(pending);
  return { ms, refused, lateMs };
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
    // The same flags as `npm start` (package.json): a larger young generation halves the time the
    // server spends in scavenges under ingest load (about +10 % events/s measured here).
    app = spawn(process.execPath, ['--max-semi-space-size=32', '--import', 'tsx', 'src/bin/start.ts', '--no-demo', '--port', String(port)], {
      // The per-key request limit is lifted: this measures throughput, and 8 senders of 500-event
      // batches on one key can pass the default 50 requests/s. Run as `node --import tsx` (not
      // the tsx CLI, which forks) so app.pid is the server, for its CPU and memory.
      env: {
        ...process.env,
        CLICKHOUSE_URL: ch.url,
        CLICKHOUSE_DATABASE: DATABASE,
        LOG_LEVEL: 'warn',
        INGEST_MAX_REQUESTS_PER_KEY: '1000000',
        INGEST_SPOOL_DIR: join(dir, 'spool')
      },
      stdio: 'ignore'
    });
    for (let i = 0; ; i++) {
      if (i > 600) throw new Error('app did not start');
      if (await fetch(`${base}/login`).then((r) => r.ok, () => false)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const server = app.pid as number;
    const procs: Processes = { server, clickhouse: ch.pid };
    console.log(`\nPipewall bench (${EVENTS} events per throughput run, batches of ${BATCH})`);
    record('machine', `${availableParallelism()} cores, shared by the bench client, the server and ClickHouse (the figures are the three together)`);
    const setting = (name: string) => `${name}=${process.env[name] ?? 'default'}`;
    record('writer settings', `${setting('INGEST_FLUSH_ROWS')}, ${setting('INGEST_FLUSH_MS')}`);

    // Each figure is the median of RUNS runs; a raw run goes before each group of HTTP runs, so
    // both see the same state of the machine (other load, ClickHouse merges).
    const median = (xs: number[]) => quantile(xs, 0.5);
    const raws: number[] = [];
    const groups: { senders: number; rates: number[]; cpu: string[] }[] = [];
    let peak = { rss: 0, hwm: 0 };
    for (const senders of [1, 8, 64]) {
      raws.push(rawInsert(ch, org.orgId, makeEvents(EVENTS, `raw${senders}`)));
      const group = { senders, rates: [] as number[], cpu: [] as string[] };
      for (let run = 0; run < RUNS; run++) {
        const bodies = bodiesOf(makeEvents(EVENTS, `http${senders}-${run}`), BATCH);
        let maxRss = 0;
        const sampler = senders === 64 ? setInterval(() => (maxRss = Math.max(maxRss, statusMiB(server, 'VmRSS'))), 20) : undefined;
        const { seconds, cpu } = await measured(procs, EVENTS, () => postAll(base, org.apiKey, bodies, senders));
        clearInterval(sampler);
        if (sampler) peak = { rss: Math.max(peak.rss, maxRss, statusMiB(server, 'VmRSS')), hwm: statusMiB(server, 'VmHWM') };
        group.rates.push(EVENTS / seconds);
        group.cpu.push(cpu);
      }
      groups.push(group);
    }
    const raw = median(raws);
    record(`raw clickhouse-client JSONEachRow, events/s (median; runs)`, `${raw.toFixed(0)} (${raws.map((r) => r.toFixed(0)).join(' / ')})`);
    for (const { senders, rates, cpu } of groups) {
      const rate = median(rates);
      record(
        `HTTP ingest, ${senders} sender(s), events/s (median; runs), of raw; CPU µs/event of the median run`,
        `${rate.toFixed(0)} (${rates.map((r) => r.toFixed(0)).join(' / ')}), ${(rate / raw).toFixed(2)}; ${cpu[rates.indexOf(rate)]}`
      );
    }
    record('server memory under 64 senders: peak VmRSS sampled / VmHWM (MiB)', `${peak.rss.toFixed(0)} / ${peak.hwm.toFixed(0)}`);

    for (const [rate, batch] of [
      [1_000, 10],
      [5_000, 50]
    ] as const) {
      const n = rate * LATENCY_SECONDS;
      const bodies = bodiesOf(makeEvents(n, `lat${rate}`), batch);
      const { result, cpu } = await measured(procs, n, () => openLoop(base, org.apiKey, bodies, 10));
      const { ms, refused, lateMs } = result;
      const p = (q: number) => quantile(ms, q).toFixed(0);
      record(
        `ack latency at ${rate / 1000}k events/s (${batch} every 10 ms, ${LATENCY_SECONDS} s, open loop): p50 / p99 / max ms`,
        `${p(0.5)} / ${p(0.99)} / ${Math.max(...ms).toFixed(0)} (${refused} refused; sender late ≤ ${lateMs.toFixed(0)} ms; CPU µs/event ${cpu})`
      );
    }
    const [stored] = await queryRows<{ n: string }>(client, sql`SELECT count() AS n FROM events WHERE org_id = ${org.orgId}`);
    const expected = EVENTS * 3 * (1 + RUNS) + 6_000 * LATENCY_SECONDS;
    record(`rows stored (all runs above)`, `${stored?.n} of ${expected}`);

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
    if (app && app.exitCode === null) {
      // It flushes and closes its spool first; ClickHouse and the directory go after it.
      const exited = new Promise((r) => app?.once('exit', r));
      app.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
    }
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
