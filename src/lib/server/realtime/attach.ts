import type { Server as HttpServer } from 'node:http';
import { env } from '$env/dynamic/private';
import { resumeDeliveries } from '../app-context';
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
  // Process start (both entries come through here once). In a cluster the trainer lease decides
  // instead (app-context.ts), so only one process resends.
  if (ctx.isTrainer() && !ctx.config.REDIS_URL) resumeDeliveries(ctx.outbound, ctx.log);
  return io;
}

/** Close the live sockets of ended sessions; see disconnectSessions. No-op before attach. */
export async function endLiveSessions(userId: string, sessionId?: string): Promise<void> {
  const io = getIO();
  if (io) await disconnectSessions(io, userId, sessionId);
}
