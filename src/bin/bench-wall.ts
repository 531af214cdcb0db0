/**
 * The bench's view of the wall (`npm run bench`): a socket.io client in a wall room, and the
 * timing of events from a post to the push that names them. Shared by the socket and cluster
 * parts.
 */
import { io as connect, type Socket } from 'socket.io-client';
import type { AgentEvent } from '../lib/contracts/events';
import { wallRoom, type ClientToServerEvents, type ServerToClientEvents } from '../lib/contracts/realtime';
import type { SeededOrg } from '../../test/helpers/seed';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))] ?? NaN;

export type WallSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** A socket.io client in this process, in `org`'s wall room: resolved once its snapshot arrived. */
export async function joinWall(base: string, org: SeededOrg, timeoutMs = 60_000): Promise<WallSocket> {
  const socket: WallSocket = connect(base, {
    transports: ['websocket'],
    extraHeaders: { cookie: `pw_session=${org.sessionToken}` },
    forceNew: true
  });
  // The wall room is asked for (room:join); its snapshot says the socket is in.
  await new Promise<void>((ok, reject) => {
    const timer = setTimeout(() => reject(new Error(`no wall snapshot within ${timeoutMs} ms`)), timeoutMs);
    socket.once('wall:snapshotted', () => {
      clearTimeout(timer);
      ok();
    });
    socket.emit('room:join', wallRoom(org.orgId), (result) => {
      if (!result.ok) reject(new Error(`room:join refused: ${result.code}`));
    });
  }).catch((err: unknown) => {
    socket.close();
    throw err;
  });
  return socket;
}

/**
 * Single-event posts at a steady rate to `postBase`, each timed until a wall socket on
 * `watchBase` names it. Returns the lags in ms.
 */
export async function probeWall(postBase: string, watchBase: string, org: SeededOrg, events: AgentEvent[], gapMs: number): Promise<number[]> {
  const socket = await joinWall(watchBase, org);
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

