import type { Server as HttpServer } from 'node:http';
import { env } from '$env/dynamic/private';
import { getContext } from '../context';
import { attachRealtime, disconnectSessions } from './server';
import type { RealtimeServer } from './wall-fanout';

/**
 * The one place the app's io server is created: the Vite dev plugin and the production entry
 * both call it. The instance lives on a globalThis symbol so a dev reload of this module finds it.
 */
const IO = Symbol.for('pipewall.socket.io');
const slot = globalThis as unknown as Record<symbol, RealtimeServer | undefined>;

export const getIO = (): RealtimeServer | undefined => slot[IO];

export function attach(httpServer: HttpServer): RealtimeServer {
  const existing = slot[IO];
  if (existing) return existing;
  const ctx = getContext();
  const io = (slot[IO] = attachRealtime(httpServer, ctx, env.ORIGIN));
  // Process start (both entries come through here once): approvals a crash left undelivered go
  // out now. Best effort: a failure is logged and the next start tries again.
  ctx.outbound.resumePending().then(
    (n) => n > 0 && ctx.log.info({ approvals: n }, 'resumed undelivered follow-ups'),
    (err: unknown) => ctx.log.warn({ err }, 'could not resume undelivered follow-ups')
  );
  return io;
}

/** Close the live sockets of ended sessions; see disconnectSessions. No-op before attach. */
export async function endLiveSessions(userId: string, sessionId?: string): Promise<void> {
  const io = getIO();
  if (io) await disconnectSessions(io, userId, sessionId);
}
