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
