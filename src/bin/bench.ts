/**
 * `npm run bench`: figures, printed as a table. Not tests: nothing here passes or fails.
 * Runs the real entry (`src/bin/start.ts --no-demo`) against a private ClickHouse and measures:
 * - events/s accepted through POST /api/v1/events with 1, 8 and 64 concurrent senders (closed
 *   loop, batches of 500), beside the same rows inserted raw with `clickhouse-client … FORMAT
 *   JSONEachRow` (ratio printed), with the CPU each process spent per event;
 * - ack latency (request start → response) at a steady 1k and 5k events/s, sent open loop
 *   (batches of 10 and 50 every 10 ms, whether or not earlier requests have been answered);
 * - the server process's peak memory (VmRSS sampled every 20 ms, and VmHWM) under 64 senders;
 * - event accepted → seen by a socket.io client watching the wall (p50/p99): single posts at ~50/s,
 *   and under a steady 1k and 5k events/s sent open loop (issue 5);
 * - fan-out (issue 5): 1,000 and 5,000 socket.io clients in a separate process
 *   (bench-fanout-clients.ts) watching one wall while events stream in: update lag, and the
 *   server's CPU and memory;
 * - funnel query time over 1M and 10M generated events (bench-funnel.ts, issue 5);
 * - `validateSessionToken` (every page request and socket handshake runs it) called in this
 *   process against the same ClickHouse, 2,000 calls one at a time and 2,000 with 8 in flight.
 * The client (this process), the server and ClickHouse share this machine's cores; the table
 * says how many. INGEST_* settings in the environment (e.g. INGEST_FLUSH_MS) reach the server.
 * - the lead-scoring model (bench-ml.ts, issue 6): training and scoring 100,000 synthetic leads;
 *   needs neither ClickHouse nor the server, so it runs first, and alone under BENCH_ONLY=ml.
 * - event → screen with two app processes meeting through Redis, beside one process
 *   (bench-cluster.ts, issue 8).
 * BENCH_ONLY=ingest,socket,fanout,funnel,sessions,ml,cluster (any of them) runs only those parts.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AgentEvent } from '../lib/contracts/events';
import type { TickerItem } from '../lib/contracts/wall';
import { wallRoom } from '../lib/contracts/realtime';
import { createClickHouse, queryRows } from '../lib/server/db/clickhouse';
import { freePort, startLocalClickHouse } from '../lib/server/db/local-server';
import { ensureDatabase, migrate } from '../lib/server/db/migrations';
import { createSession, validateSessionToken, type SessionPolicy } from '../lib/server/auth/session';
import { parseConfig } from '../lib/server/config';
import { EVENT_COLUMNS, toEventRow } from '../lib/server/db/queries/events';
import type { LocalClickHouse } from '../lib/server/db/local-server';
import { sql } from '../lib/server/db/sql';
import { ensureAptPackages } from './apt';
import { ensureBuild } from './build';
import { REDIS_BINARY, REDIS_PACKAGES } from './local-redis';
import { seedOrganisation, type SeededOrg } from '../../test/helpers/seed';
import { benchFunnel } from './bench-funnel';
import { benchMl } from './bench-ml';
import { benchCluster, type StartApp } from './bench-cluster';
import { startServer, type ServerProcess } from '../../test/helpers/server-process';
import { joinWall, probeWall, quantile, sleep } from './bench-wall';
import type { FanoutCommand, FanoutReply } from './bench-fanout-clients';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 40_000);
const BATCH = 500;
const LATENCY_SECONDS = Number(process.env.BENCH_LATENCY_SECONDS ?? 10);
const RUNS = 3;
const DATABASE = 'pipewall_bench';
const rows: [string, string][] = [];
const PARTS = ['ingest', 'socket', 'fanout', 'funnel', 'sessions', 'ml', 'cluster'] as const;
const only = (process.env.BENCH_ONLY ?? PARTS.join(',')).split(',').map((p) => p.trim());
for (const p of only) if (!(PARTS as readonly string[]).includes(p)) throw new Error(`BENCH_ONLY: unknown part ${p} (${PARTS.join(', ')})`);
const runs = (part: (typeof PARTS)[number]) => only.includes(part);
/** Fan-out: clients at each step, events/s streamed to them meanwhile, and for how long. */
const FANOUT_CLIENTS = (process.env.BENCH_FANOUT_CLIENTS ?? '1000,5000').split(',').map(Number);
const FANOUT_RATE = Number(process.env.BENCH_FANOUT_RATE ?? 500);
const FANOUT_SECONDS = Number(process.env.BENCH_FANOUT_SECONDS ?? 10);
/**
 * Seconds a step may spend connecting its clients: every room:join has the server build a whole
 * wall snapshot, so joins/s is bounded by the wall's queries. A later step whose joins would take
 * longer at the rate measured on the one before is cut to what fits, and the table says so.
 */
const FANOUT_JOIN_BUDGET_S = Number(process.env.BENCH_FANOUT_JOIN_BUDGET_S ?? 150);
/** Joins in flight at once (each waits for its snapshot, built one after another on the server). */
const FANOUT_CONNECTING = Number(process.env.BENCH_FANOUT_CONNECTING ?? 50);
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
async function openLoop(base: string, key: string, bodies: string[], everyMs: number, onSend?: (k: number, at: number) => void) {
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
    onSend?.(k, started);
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

/**
 * Event accepted → seen by a socket watching the wall, under a steady load sent open loop (as the
 * ack latency above; the clock starts when the request is sent). Each event's id names its
 * request (`e2e<rate>-<request>-<i>`). A push names only the newest TICKER_LENGTH (30) events of a
 * committed batch, so at these rates most events are never named: the first figure is over the
 * events that were; the second times every request by the first push that names it or a later
 * one (requests go out in order and a batch takes what arrived before it was cut; a request
 * overtaken by a later one would count early, so that figure can be a little low).
 */
async function benchEndToEnd(base: string, org: SeededOrg): Promise<void> {
  const socket = await joinWall(base, org);
  try {
    for (const [rate, batch] of [
      [1_000, 10],
      [5_000, 50]
    ] as const) {
      const n = rate * LATENCY_SECONDS;
      const tag = `e2e${rate}-`;
      const events = makeEvents(n, 'e2e').map((e, i) => ({ ...e, eventId: `${tag}${Math.floor(i / batch)}-${i % batch}` }));
      const bodies = bodiesOf(events, batch);
      const sentAt: number[] = [];
      const named: number[] = [];
      const perRequest: number[] = [];
      let reached = -1;
      let lastPush = performance.now();
      const onPush = (items: TickerItem[]) => {
        const at = performance.now();
        lastPush = at;
        let top = -1;
        for (const it of items) {
          if (!it.eventId.startsWith(tag)) continue;
          const k = Number(it.eventId.slice(tag.length, it.eventId.indexOf('-', tag.length)));
          const t = sentAt[k];
          if (t !== undefined) named.push(at - t);
          top = Math.max(top, k);
        }
        while (reached < top) {
          const t = sentAt[++reached];
          if (t !== undefined) perRequest.push(at - t);
        }
      };
      socket.on('events:ingested', onPush);
      const { ms, refused } = await openLoop(base, org.apiKey, bodies, 10, (k, at) => (sentAt[k] = at));
      // Every request was answered; wait for the pushes still on their way.
      for (let i = 0; i < 150 && reached < bodies.length - 1 && performance.now() - lastPush < 2_000; i++) await sleep(100);
      socket.off('events:ingested', onPush);
      const p = (xs: number[], q: number) => quantile(xs, q).toFixed(0);
      record(
        `event accepted → seen on a wall socket at ${rate / 1000}k events/s (${batch} every 10 ms, open loop, ${LATENCY_SECONDS} s): p50 / p99 / max ms (goal p50 < 100, p99 < 500)`,
        `${p(named, 0.5)} / ${p(named, 0.99)} / ${Math.max(...named).toFixed(0)} over the ${named.length} of ${n} events named in pushes; ` +
          `every request by its push: ${p(perRequest, 0.5)} / ${p(perRequest, 0.99)} (${perRequest.length} of ${bodies.length} reached); ` +
          `ack p50 ${p(ms, 0.5)} ms, ${refused} refused`
      );
    }
  } finally {
    socket.close();
  }
}

/** The soft limit on open files this process (and so its children) runs under. */
function openFileLimit(): number {
  const out = spawnSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).stdout.trim();
  return out === 'unlimited' ? Infinity : Number(out);
}

/** Send the fan-out process a command and wait for its reply of `type`. */
function ask<T extends FanoutReply['type']>(child: ChildProcess, command: FanoutCommand, type: T, timeoutMs: number): Promise<Extract<FanoutReply, { type: T }>> {
  return new Promise((ok, reject) => {
    const done = () => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`fan-out clients: no ${type} within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (m: FanoutReply) => {
      if (m.type !== type) return;
      done();
      ok(m as Extract<FanoutReply, { type: T }>);
    };
    const onExit = (code: number | null) => {
      done();
      reject(new Error(`fan-out clients exited (${code}) before ${type}`));
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
    child.send(command);
  });
}

/**
 * Open loop at `rate` events/s (rate/100 every 10 ms) for `seconds`, each body rendered when it
 * is sent: the event ids carry the send time in whole epoch ms (`fan.<ms>.<request>.<i>`), which
 * the fan-out clients subtract from their own clock.
 */
async function streamStamped(base: string, key: string, rate: number, seconds: number): Promise<{ sent: number; refused: number; failures: string[] }> {
  const per = Math.max(1, Math.round(rate / 100));
  const failures: string[] = [];
  const requests = Math.round((seconds * 1000) / 10);
  let refused = 0;
  const pending: Promise<void>[] = [];
  const t0 = performance.now() + 20;
  for (let k = 0; k < requests; k++) {
    const wait = t0 + k * 10 - performance.now();
    if (wait > 0) await sleep(wait);
    const ms = Math.floor(performance.timeOrigin + performance.now());
    const body = makeEvents(per, 'fan').map((e, i) => ({ ...e, eventId: `fan.${ms}.${k}.${i}`, leadId: `fan-lead-${(k * per + i) % 500}` }));
    pending.push(
      post(base, key, JSON.stringify(body)).then(
        async (res) => {
          await res.arrayBuffer();
          if (res.status !== 200) refused += per;
        },
        (err: unknown) => {
          // Counted, not thrown: a figure for the rest is still worth printing.
          refused += per;
          failures.push(err instanceof Error ? String(err.cause ?? err.message) : String(err));
        }
      )
    );
  }
  await Promise.all(pending);
  return { sent: requests * per, refused, failures };
}

/** Highest VmRSS of `pid` (MiB) while `fn` runs, sampled every 50 ms. */
async function peakRss<T>(pid: number, fn: () => Promise<T>): Promise<{ result: T; peak: number }> {
  let peak = statusMiB(pid, 'VmRSS');
  const sampler = setInterval(() => (peak = Math.max(peak, statusMiB(pid, 'VmRSS'))), 50);
  try {
    const result = await fn();
    return { result, peak: Math.max(peak, statusMiB(pid, 'VmRSS')) };
  } finally {
    clearInterval(sampler);
  }
}

/**
 * Fan-out: clients in a separate process (bench-fanout-clients.ts) join one organisation's wall,
 * FANOUT_CLIENTS at a time in turn (the process grows from one count to the next), and events
 * stream in at FANOUT_RATE for FANOUT_SECONDS. Lag is per (client, event): post sent → that
 * client has the push. The organisation is a fresh one with a small ledger, so each join's
 * snapshot is cheap; connecting is timed too.
 */
async function benchFanout(base: string, client: ReturnType<typeof createClickHouse>, procs: Processes): Promise<void> {
  const limit = openFileLimit();
  // Each client holds one socket here and the server one more; leave room for everything else.
  const cap = limit - 1_000;
  const sizes = FANOUT_CLIENTS.map((n) => Math.min(n, cap));
  record('fan-out: open files limit (ulimit -n)', `${limit}${sizes.some((n, i) => n < (FANOUT_CLIENTS[i] as number)) ? `, too low: clients capped at ${cap}` : ', enough'}`);
  const org = await seedOrganisation(client, 'Fanout Org');
  await postAll(base, org.apiKey, bodiesOf(makeEvents(200, 'fanseed'), 100), 1);
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/bin/bench-fanout-clients.ts', base], {
    env: { ...process.env, BENCH_FANOUT_COOKIE: `pw_session=${org.sessionToken}`, BENCH_FANOUT_ROOM: wallRoom(org.orgId) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc']
  });
  const kid = child.pid as number;
  try {
    const idle = statusMiB(procs.server, 'VmRSS');
    let before = 0;
    let joinsPerSecond = 0;
    for (const wanted of sizes) {
      let n = wanted;
      if (joinsPerSecond > 0 && (n - before) / joinsPerSecond > FANOUT_JOIN_BUDGET_S) {
        n = before + Math.floor((joinsPerSecond * FANOUT_JOIN_BUDGET_S) / 100) * 100;
        record(
          `fan-out: ${wanted} clients not measured`,
          `joins ran at ${joinsPerSecond.toFixed(0)}/s here, so ${wanted - before} more would take ~${((wanted - before) / joinsPerSecond).toFixed(0)} s ` +
            `(budget ${FANOUT_JOIN_BUDGET_S} s, BENCH_FANOUT_JOIN_BUDGET_S); grew to ${n} instead`
        );
      }
      if (n <= before) continue;
      const s0 = cpuSeconds(procs.server);
      const { result: grown, peak: joinPeak } = await peakRss(procs.server, () => ask(child, { cmd: 'grow', to: n, connecting: FANOUT_CONNECTING }, 'grown', 900_000));
      const joined = grown.connected - before;
      record(
        `fan-out: connect + room:join + snapshot, ${before} → ${grown.connected} clients (${FANOUT_CONNECTING} joining at a time)`,
        `${grown.seconds.toFixed(1)} s, ${(joined / grown.seconds).toFixed(0)} joins/s, server CPU ${((cpuSeconds(procs.server) - s0) / grown.seconds * 100).toFixed(0)} % of a core, ` +
          `peak RSS ${joinPeak.toFixed(0)} MiB; ${grown.failed} failed${grown.firstError ? ` (${grown.firstError})` : ''}`
      );
      joinsPerSecond = joined / grown.seconds;
      before = grown.connected;
      const connected = statusMiB(procs.server, 'VmRSS');
      await sleep(1_000); // the join's presence and snapshot work settles
      child.send({ cmd: 'measure', since: Math.floor(performance.timeOrigin + performance.now()) } satisfies FanoutCommand);
      await sleep(100);
      const c0 = { server: cpuSeconds(procs.server), ch: cpuSeconds(procs.clickhouse), kid: cpuSeconds(kid) };
      const started = performance.now();
      const { result: stream, peak } = await peakRss(procs.server, () => streamStamped(base, org.apiKey, FANOUT_RATE, FANOUT_SECONDS));
      const seconds = (performance.now() - started) / 1000;
      const pct = (a: number, b: number) => `${(((b - a) / seconds) * 100).toFixed(0)} %`;
      const cpu = `server ${pct(c0.server, cpuSeconds(procs.server))}, ClickHouse ${pct(c0.ch, cpuSeconds(procs.clickhouse))}, clients' process ${pct(c0.kid, cpuSeconds(kid))}`;
      const rep = await ask(child, { cmd: 'report' }, 'report', 120_000);
      const lagAt = (q: number) => {
        let left = Math.ceil(q * rep.items);
        for (const [ms, c] of rep.counts.entries()) if ((left -= c) <= 0) return ms;
        return NaN;
      };
      const max = rep.counts.findLastIndex((c) => c > 0);
      const expected = (stream.sent - stream.refused) * grown.connected;
      record(
        `fan-out, ${grown.connected} clients on one wall, ${FANOUT_RATE} events/s for ${FANOUT_SECONDS} s: update lag p50 / p99 / max ms (goal at 5,000 clients: p99 < 1,000)`,
        `${lagAt(0.5)} / ${lagAt(0.99)} / ${max}${max === rep.counts.length - 1 ? '+' : ''} over ${rep.items} (client, event) pairs of ${expected} ` +
          `(per client ${rep.minPerClient}–${rep.maxPerClient} of ${stream.sent - stream.refused}; ${rep.disconnected} disconnected; ${stream.refused} events refused or failed${stream.failures.length ? `, ${stream.failures.length} posts failed: ${stream.failures[0]}` : ''})`
      );
      record(
        `fan-out, ${grown.connected} clients: CPU (% of one core) while streaming; server RSS idle → connected / peak while streaming`,
        `${cpu}; ${idle.toFixed(0)} → ${connected.toFixed(0)} MiB${connected > idle ? ` (${(((connected - idle) * 1024) / grown.connected).toFixed(0)} KiB/client)` : ' (a collection freed more than the clients took)'} / ${peak.toFixed(0)} MiB; ` +
          `clients' event-loop delay p99 ${rep.loopDelayP99.toFixed(0)} ms`
      );
    }
  } finally {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.send({ cmd: 'close' } satisfies FanoutCommand);
      await Promise.race([exited, sleep(10_000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }
}

function printTable(): void {
  console.log('\n| What | Figure |\n| --- | --- |');
  for (const [what, figure] of rows) console.log(`| ${what} | ${figure} |`);
}

async function main(): Promise<void> {
  if (runs('ml')) await benchMl(record);
  if (only.every((p) => p === 'ml')) return printTable();
  const dir = mkdtempSync(join(tmpdir(), 'pipewall-bench-'));
  const ch = await startLocalClickHouse({ dataDir: dir });
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  let app: ServerProcess | undefined;
  /**
   * The server as `npm start` runs it (package.json's flags: a larger young generation halves
   * the time it spends in scavenges under ingest load, about +10 % events/s measured here). The
   * per-key request limit is lifted: this measures throughput, and 8 senders of 500-event batches
   * on one key can pass the default 50 requests/s.
   */
  const startApp: StartApp = (appPort, env) =>
    startServer({
      port: appPort,
      dataDir: join(dir, `app-${appPort}`),
      nodeArgs: ['--max-semi-space-size=32'],
      env: { CLICKHOUSE_URL: ch.url, CLICKHOUSE_DATABASE: DATABASE, INGEST_MAX_REQUESTS_PER_KEY: '1000000', ...env }
    });
  try {
    await ensureDatabase({ url: ch.url, database: DATABASE });
    const client = createClickHouse({ url: ch.url, database: DATABASE });
    await migrate(client);
    const org = await seedOrganisation(client, 'Bench Org');
    ensureBuild((l) => console.log(l));
    // Its own spool and models under its data directory (the prior is trained at the first
    // ingest, as on a fresh install); PIPEWALL_ROLES passes through from the caller's environment
    // (app,ingest: no scoring).
    app = await startApp(port, {});
    const server = app.pid;
    const procs: Processes = { server, clickhouse: ch.pid };
    console.log(`\nPipewall bench (${EVENTS} events per throughput run, batches of ${BATCH})`);
    record('machine', `${availableParallelism()} cores, shared by the bench client, the server and ClickHouse (the figures are the three together)`);
    const setting = (name: string) => `${name}=${process.env[name] ?? 'default'}`;
    record('writer settings', `${setting('INGEST_FLUSH_ROWS')}, ${setting('INGEST_FLUSH_MS')}`);

    if (runs('ingest')) {
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
    }

    if (runs('ingest')) {
      // The wall a manager opens on the ledger above: room:join → snapshot (every query of the wall).
      const t = performance.now();
      const socket = await joinWall(base, org, 120_000).then(
        (s) => s,
        (err: unknown) => err as Error
      );
      const [n] = await queryRows<{ n: string }>(client, sql`SELECT count() AS n FROM events WHERE org_id = ${org.orgId}`);
      record(
        `wall snapshot on room:join, organisation with ${n?.n} events (those above), ms`,
        socket instanceof Error ? `not measured: ${socket.message}` : (performance.now() - t).toFixed(0)
      );
      if (!(socket instanceof Error)) socket.close();
    }

    if (runs('socket')) {
      // A fresh organisation: the figures are the push path, not the size of the ledger above.
      const live = await seedOrganisation(client, 'Socket Org');
      const lags = await probeWall(base, base, live, makeEvents(200, 'lag'), 20); // ~50 events/s, one per request
      record('post → socket, p50 / p99 ms (200 single-event posts at ~50/s)', `${quantile(lags, 0.5).toFixed(0)} / ${quantile(lags, 0.99).toFixed(0)} (${lags.length} seen)`);
      await benchEndToEnd(base, live);
    }

    if (runs('cluster')) {
      ensureAptPackages('redis-server', () => existsSync(REDIS_BINARY), REDIS_PACKAGES, (l) => console.log(l));
    }
    if (runs('cluster')) await benchCluster({ client, dir, startApp, makeEvents, record });
    if (runs('fanout')) await benchFanout(base, client, procs);
    if (runs('sessions')) await benchSessions(client, org.orgId, org.user.userId, ch.url);
    if (runs('funnel')) {
      const { orgId } = await seedOrganisation(client, 'Funnel Org');
      await benchFunnel(client, orgId, record);
    }
    await client.close();
  } finally {
    // It flushes and closes its spool first; ClickHouse and the directory go after it.
    await app?.stop();
    await ch.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  printTable();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
