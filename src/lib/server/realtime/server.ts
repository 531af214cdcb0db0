import type { IncomingMessage, Server as HttpServer } from 'node:http';
import { Server } from 'socket.io';
import { orgRoom, userRoom } from '../../contracts/realtime';
import type { SessionUser } from '../../contracts/auth';
import type { AppContext } from '../app-context';
import { sessionTokenFromHeader } from '../auth/cookies';
import { validateSessionToken } from '../auth/session';
import type { RealtimeServer } from './wall-fanout';

export interface SocketData {
  user: SessionUser;
}

/**
 * Browsers always send Origin on a WebSocket or polling request; refuse any that is not this
 * site (cross-site WebSocket hijacking). Clients without Origin are not browsers and still need
 * a valid session cookie.
 */
export function isOriginAllowed(req: IncomingMessage, configuredOrigin?: string): boolean {
  const origin = req.headers.origin;
  if (!origin) return true;
  if (configuredOrigin && origin === configuredOrigin) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

/**
 * Create the socket.io server on an HTTP server. The handshake validates the same session cookie
 * as the pages; the socket joins its organisation's room and its user room, and nothing else:
 * rooms are chosen by the server from the session, never requested by the client.
 */
export function attachRealtime(httpServer: HttpServer, ctx: AppContext, origin?: string): RealtimeServer {
  const io: RealtimeServer = new Server(httpServer, {
    serveClient: false,
    allowRequest: (req, done) => done(null, isOriginAllowed(req, origin))
  });
  io.use((socket, next) => {
    const token = sessionTokenFromHeader(socket.request.headers.cookie);
    if (!token) return next(new Error('unauthorized'));
    validateSessionToken(ctx.clickhouse, token, { ttlMs: ctx.config.SESSION_TTL_HOURS * 3_600_000 })
      .then((valid) => {
        if (!valid) return next(new Error('unauthorized'));
        (socket.data as SocketData).user = valid.user;
        next();
      })
      .catch((err: unknown) => {
        ctx.log.error({ err }, 'socket handshake failed');
        next(new Error('unavailable'));
      });
  });
  io.on('connection', (socket) => {
    const { user } = socket.data as SocketData;
    void socket.join([orgRoom(user.orgId), userRoom(user.userId)]);
    // A (re)connecting client gets the whole state, so it never patches deltas onto stale data.
    ctx.fanout
      .snapshot(user.orgId)
      .then((snapshot) => socket.emit('wall:snapshotted', snapshot))
      .catch((err: unknown) => ctx.log.error({ err, orgId: user.orgId }, 'snapshot failed'));
  });
  ctx.fanout.bind(io);
  return io;
}
