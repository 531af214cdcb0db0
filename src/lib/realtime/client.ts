import { io, type Socket } from 'socket.io-client';
import type { z } from 'zod';
import type { ClientToServerEvents, ServerToClientEvents } from '$lib/contracts/realtime';

export type RealtimeSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/**
 * Opens the wall's socket to the same origin (default path /socket.io/). The server
 * authenticates the handshake by the session cookie, so the browser only has to send it.
 *
 * WebSocket is tried first; `tryAllTransports` falls back to HTTP long-polling when a proxy
 * or network blocks WebSockets, instead of giving up after the first transport fails.
 * Reconnection is unbounded: a wall stays up for days and must recover on its own.
 */
export function connectRealtime(): RealtimeSocket {
  return io({
    transports: ['websocket', 'polling'],
    tryAllTransports: true,
    withCredentials: true,
    reconnection: true,
    reconnectionAttempts: Infinity,
    reconnectionDelay: 1_000,
    reconnectionDelayMax: 10_000 // a wall may wait; don't hammer a restarting server
  });
}

/**
 * A push handler that applies the payload only if it matches its contract. Dropping a malformed
 * message is safe: the wall keeps its last good state and the next snapshot (sent on every
 * reconnect) or push corrects it. Throwing would only surface inside socket.io's emitter.
 */
export function validated<T>(event: string, schema: z.ZodType<T>, apply: (value: T) => void): (payload: T) => void {
  return (payload) => {
    const parsed = schema.safeParse(payload);
    if (parsed.success) apply(parsed.data);
    else console.error(`pipewall: dropped malformed '${event}' payload`, parsed.error);
  };
}

export type ConnectionStatus = 'connecting' | 'live' | 'offline';

/**
 * Failed connection attempts in a row after which a page says "offline" instead of
 * "reconnecting" (it keeps retrying). Three attempts is roughly 10 s with the client's backoff,
 * long enough to ride out a server restart without alarming the room.
 */
export const OFFLINE_AFTER_FAILURES = 3;

/**
 * Wait before asking again after the server's handshake refused us. socket.io never retries a
 * refusal by itself, but a refusal can be transient (the session store was unavailable), and
 * a wall must come back without anyone touching it.
 */
export const REFUSED_RETRY_MS = 15_000;

/** What a page's state shows about its link: written by `joinRoomLive`. */
export interface LinkState {
  status: ConnectionStatus;
  /** False until the first successful connect, so a badge can tell connecting from reconnecting. */
  hasConnected: boolean;
}

/**
 * Keeps a page in `room`: asks to join on every connect (rooms do not survive a reconnect, and
 * joining the wall room makes the server send a fresh snapshot), reports the link in `link`
 * (live only once the server said yes), retries a refused handshake after a pause, and wires
 * `pushes` (each already `validated`). Returns a function that unwires everything; closing the
 * socket stays with whoever opened it.
 */
export function joinRoomLive(
  socket: RealtimeSocket,
  room: string,
  link: LinkState,
  pushes: Partial<ServerToClientEvents>
): () => void {
  let failures = 0;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  const onConnect = () => {
    failures = 0;
    link.hasConnected = true;
    socket.emit('room:join', room, (result) => {
      link.status = result.ok ? 'live' : 'offline';
    });
  };
  // `active` is false when socket.io will not retry: this client or the server closed the
  // socket on purpose. A dropped transport leaves it true and socket.io reconnects.
  const onDisconnect = () => {
    failures = 0;
    link.status = socket.active ? 'connecting' : 'offline';
  };
  const onConnectError = () => {
    failures += 1;
    if (socket.active) {
      link.status = failures < OFFLINE_AFTER_FAILURES ? 'connecting' : 'offline';
      return;
    }
    // Refused by the handshake middleware (expired session, or the server could not check it).
    link.status = 'offline';
    clearTimeout(retryTimer);
    retryTimer = setTimeout(() => socket.connect(), REFUSED_RETRY_MS);
  };
  const pushList = Object.entries(pushes) as [keyof ServerToClientEvents, (payload: unknown) => void][];

  socket.on('connect', onConnect);
  socket.on('disconnect', onDisconnect);
  socket.on('connect_error', onConnectError);
  for (const [event, handler] of pushList) socket.on(event, handler);
  if (socket.connected) onConnect();

  return () => {
    clearTimeout(retryTimer);
    socket.off('connect', onConnect);
    socket.off('disconnect', onDisconnect);
    socket.off('connect_error', onConnectError);
    for (const [event, handler] of pushList) socket.off(event, handler);
  };
}
