/**
 * Fan-out clients for `npm run bench` (issue 5), spawned by bench.ts as a separate process so the
 * clients' work is not counted as the server's: N socket.io clients (websocket transport, one
 * connection each, the session cookie of one manager) join one organisation's wall room and time
 * every event pushed to them.
 *
 *   node --import tsx src/bin/bench-fanout-clients.ts <base url>
 *   env BENCH_FANOUT_COOKIE (the Cookie header), BENCH_FANOUT_ROOM (the wall room's name)
 *
 * The parent drives it over IPC (see FanoutCommand / FanoutReply):
 * - grow: connect clients until there are `to`, `connecting` at a time; each counts once its
 *   room:join was answered and its wall snapshot arrived;
 * - measure: from now on, time events whose id says they were sent at or after `since`;
 * - report: once no push has arrived for QUIET_MS (at most DRAIN_MS), send the lag histogram.
 * Lag is the sender's clock at the post (whole epoch ms, in the event id: `fan.<ms>.<request>.<i>`) to this
 * process's clock when a client's 'events:ingested' arrives; both run on this machine, so they
 * share the clock. One process stands in for thousands of browsers, so 'events:ingested' frames
 * are not JSON-parsed here: the decoder hands the raw text to the handler, which finds the event
 * ids by search. Everything else (handshake, acks, the snapshot) goes through the stock parser.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { io as connect, type Socket } from 'socket.io-client';
import { Decoder, Encoder, PacketType } from 'socket.io-parser';

export type FanoutCommand = { cmd: 'grow'; to: number; connecting: number } | { cmd: 'measure'; since: number } | { cmd: 'report' } | { cmd: 'close' };

export type FanoutReply =
  | { type: 'grown'; connected: number; failed: number; seconds: number; firstError?: string }
  | {
      type: 'report';
      /** counts[i]: items seen with a lag in [i, i+1) ms; the last bucket holds everything later. */
      counts: number[];
      items: number;
      /** Fewest and most items one client saw. */
      minPerClient: number;
      maxPerClient: number;
      /** Clients that lost their connection since they joined. */
      disconnected: number;
      /** This process's event-loop delay during the measurement, p99 ms: is the client side the bottleneck? */
      loopDelayP99: number;
    };

const JOIN_TIMEOUT_MS = 60_000;
const QUIET_MS = 1_500;
const DRAIN_MS = 30_000;
const MAX_LAG_MS = 60_000;
const MARK = '"eventId":"fan.';
const PREFIX = '2["events:ingested",';

/** The stock decoder, except that 'events:ingested' reaches the handler as the packet's raw text. */
class RawTickerDecoder extends Decoder {
  override add(obj: unknown): void {
    if (typeof obj === 'string' && obj.startsWith(PREFIX)) {
      this.emitReserved('decoded', { type: PacketType.EVENT, nsp: '/', data: ['events:ingested', obj] });
      return;
    }
    super.add(obj);
  }
}
const parser = { Encoder, Decoder: RawTickerDecoder };

const now = () => performance.timeOrigin + performance.now();
const send = (reply: FanoutReply) => process.send?.(reply);

const base = process.argv[2];
const cookie = process.env.BENCH_FANOUT_COOKIE;
const room = process.env.BENCH_FANOUT_ROOM;
if (!base || !cookie || !room || !process.send) {
  console.error('bench-fanout-clients: run by bench.ts (needs a base url, BENCH_FANOUT_COOKIE, BENCH_FANOUT_ROOM and an IPC channel)');
  process.exit(2);
}

const sockets: Socket[] = [];
/** Client numbers handed out so far (failed joins included), and those that joined. */
let attempted = 0;
const joinedClients: number[] = [];
let counts = new Array<number>(MAX_LAG_MS + 1).fill(0);
let perClient: number[] = [];
let since = Infinity;
let lastPushAt = 0;
let disconnected = 0;
const loopDelay = monitorEventLoopDelay({ resolution: 10 });

/** Count the lag of every event of ours in one push (a raw `2["events:ingested",[…]]`). */
function timePush(client: number, raw: string): void {
  const at = now();
  lastPushAt = at;
  for (let i = raw.indexOf(MARK); i >= 0; i = raw.indexOf(MARK, i + MARK.length)) {
    const start = i + MARK.length;
    const sentAt = Number(raw.slice(start, raw.indexOf('.', start)));
    if (!(sentAt >= since)) continue;
    const bucket = Math.min(MAX_LAG_MS, Math.max(0, Math.floor(at - sentAt)));
    counts[bucket] = (counts[bucket] ?? 0) + 1;
    perClient[client] = (perClient[client] ?? 0) + 1;
  }
}

/** One client, resolved when it is in the wall room and has its snapshot. */
function join(client: number): Promise<Socket> {
  return new Promise((ok, reject) => {
    const socket = connect(base as string, {
      transports: ['websocket'],
      extraHeaders: { cookie: cookie as string },
      forceNew: true, // one connection per client, not one shared (multiplexed) manager
      reconnection: false,
      parser
    });
    const fail = (why: string) => {
      clearTimeout(timer);
      socket.close();
      reject(new Error(why));
    };
    const timer = setTimeout(() => fail(`no snapshot within ${JOIN_TIMEOUT_MS} ms`), JOIN_TIMEOUT_MS);
    socket.once('connect_error', (err) => fail(`connect_error: ${err.message}`));
    socket.once('wall:snapshotted', () => {
      clearTimeout(timer);
      socket.on('disconnect', () => disconnected++);
      ok(socket);
    });
    socket.on('events:ingested', (raw: string) => timePush(client, raw));
    socket.once('connect', () => {
      socket.emit('room:join', room, (result: { ok: boolean; code?: string }) => {
        if (!result.ok) fail(`room:join refused: ${result.code}`);
      });
    });
  });
}

async function grow(to: number, connecting: number): Promise<void> {
  const started = performance.now();
  let failed = 0;
  let firstError: string | undefined;
  const attempts = attempted + (to - sockets.length);
  await Promise.all(
    Array.from({ length: connecting }, async () => {
      while (attempted < attempts) {
        const client = attempted++;
        perClient[client] = 0;
        try {
          sockets.push(await join(client));
          joinedClients.push(client);
        } catch (err) {
          failed++;
          firstError ??= err instanceof Error ? err.message : String(err);
        }
      }
    })
  );
  send({ type: 'grown', connected: sockets.length, failed, seconds: (performance.now() - started) / 1000, firstError });
}

async function report(): Promise<void> {
  const started = now();
  while (now() - started < DRAIN_MS && now() - Math.max(lastPushAt, started) < QUIET_MS) await new Promise((r) => setTimeout(r, 100));
  loopDelay.disable();
  const joined = joinedClients.map((c) => perClient[c] ?? 0);
  send({
    type: 'report',
    counts,
    items: counts.reduce((a, b) => a + b, 0),
    minPerClient: Math.min(...joined),
    maxPerClient: Math.max(...joined),
    disconnected,
    loopDelayP99: loopDelay.percentile(99) / 1e6
  });
}

process.on('message', (m: FanoutCommand) => {
  if (m.cmd === 'grow') void grow(m.to, m.connecting);
  else if (m.cmd === 'measure') {
    since = m.since;
    counts = new Array<number>(MAX_LAG_MS + 1).fill(0);
    perClient = perClient.map(() => 0);
    disconnected = 0;
    loopDelay.reset();
    loopDelay.enable();
  } else if (m.cmd === 'report') void report();
  else {
    for (const s of sockets) s.close();
    process.exit(0);
  }
});
// The parent went away: do not linger with thousands of sockets open.
process.on('disconnect', () => process.exit(0));
