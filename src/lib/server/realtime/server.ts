import type { IncomingMessage, Server as HttpServer } from 'node:http';
import { createAdapter } from '@socket.io/redis-streams-adapter';
import { Server } from 'socket.io';
import { exceptionActionRequestSchema } from '../../contracts/exceptions';
import { presenceViewSchema, type PresenceView } from '../../contracts/presence';
import { recordExceptionAction } from '../db/queries/exceptions';
import { inboxRoom, modelsRoom, parseRoom, presenceRoom, userRoom, wallRoom, type AckResult } from '../../contracts/realtime';
import { can } from '../../contracts/auth';
import type { SessionUser } from '../../contracts/auth';
import type { AppContext } from '../app-context';
import { hasRole } from '../config';
import { sessionTokenFromHeader } from '../auth/cookies';
import { sessionPolicy, validateSessionToken } from '../auth/session';
import type { RealtimeServer } from './wall-fanout';

export interface SocketData {
  user: SessionUser;
  sessionId: string;
  /** What the tab shows, as it last said (presence). */
  view?: PresenceView;
}

/**
 * Close the sockets of a user's ended sessions (logout, "log out everywhere", deactivation):
 * a socket was authorised once, at its handshake, and would otherwise keep receiving frames.
 * Without `sessionId`, every session of the user.
 */
export async function disconnectSessions(io: RealtimeServer, userId: string, sessionId?: string): Promise<number> {
  const sockets = await io.in(userRoom(userId)).fetchSockets();
  const ending = sockets.filter((s) => sessionId === undefined || (s.data as SocketData).sessionId === sessionId);
  for (const s of ending) s.disconnect(true);
  return ending.length;
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
 * as the pages. A socket is put in its user room; it may ask for its organisation's wall room
 * (if its role may see the wall) and nothing else.
 */
/**
 * The one wrapper every socket handler runs in: it catches and logs, and always answers through
 * the acknowledgement, so a client never waits on a handler that threw.
 */
function answer(ctx: AppContext, ack: unknown, event: string, run: () => Promise<AckResult>): void {
  const reply = typeof ack === 'function' ? (ack as (r: AckResult) => void) : () => {};
  run().then(reply, (err: unknown) => {
    ctx.log.error({ err, event }, 'socket handler failed');
    reply({ ok: false, code: 'unavailable' });
  });
}

export function attachRealtime(httpServer: HttpServer, ctx: AppContext, origin?: string): RealtimeServer {
  const redis = ctx.coordinator.redis;
  const io: RealtimeServer = new Server(httpServer, {
    serveClient: false,
    allowRequest: (req, done) => done(null, isOriginAllowed(req, origin)),
    // Several processes (issue 8): broadcasts, fetchSockets and serverSideEmit go through one
    // Redis stream, which the adapter resumes after a Redis restart without losing packets.
    ...(redis && {
      adapter: createAdapter(redis, { streamName: `pipewall:${ctx.config.CLICKHOUSE_DATABASE}:socket.io`, maxLen: ctx.config.REDIS_STREAM_MAX_LEN })
    })
  });
  io.use((socket, next) => {
    // A process without the app role takes no sockets; the load balancer should not send them.
    if (!hasRole(ctx.config, 'app')) return next(new Error('unavailable'));
    const token = sessionTokenFromHeader(socket.request.headers.cookie);
    if (!token) return next(new Error('unauthorized'));
    validateSessionToken(ctx.clickhouse, token, sessionPolicy(ctx.config))
      .then((valid) => {
        if (!valid) return next(new Error('unauthorized'));
        (socket.data as SocketData).user = valid.user;
        (socket.data as SocketData).sessionId = valid.session.sessionId;
        next();
      })
      .catch((err: unknown) => {
        ctx.log.error({ err }, 'socket handshake failed');
        next(new Error('unavailable'));
      });
  });
  io.on('connection', (socket) => {
    const { user } = socket.data as SocketData;
    // The user's own room and the organisation's presence; everything else is asked for with
    // room:join and checked.
    void socket.join([userRoom(user.userId), presenceRoom(user.orgId)]);
    ctx.presence.changed(user.orgId);
    socket.on('disconnect', () => ctx.presence.changed(user.orgId));
    socket.on('presence:viewing', (view, ack) => {
      answer(ctx, ack, 'presence:viewing', () => {
        const parsed = presenceViewSchema.safeParse(view);
        if (!parsed.success) return Promise.resolve({ ok: false, code: 'bad_request' });
        (socket.data as SocketData).view = parsed.data;
        ctx.presence.changed(user.orgId);
        return Promise.resolve({ ok: true });
      });
    });
    socket.on('exception:act', (request, ack) => {
      answer(ctx, ack, 'exception:act', async () => {
        if (!can(user.role, 'exceptions:act')) return { ok: false, code: 'forbidden' };
        const parsed = exceptionActionRequestSchema.safeParse(request);
        if (!parsed.success) return { ok: false, code: 'bad_request' };
        // Only an open exception of the caller's own organisation; anything else is not found.
        const open = await ctx.fanout.openException(user.orgId, parsed.data.exceptionId);
        if (!open || open.leadId !== parsed.data.leadId) return { ok: false, code: 'not_found' };
        // Written straight to ClickHouse (not the ingest spool): a person is waiting on the
        // answer, and during an outage the ack says unavailable so the click can be repeated.
        const at = Date.now();
        const row = await recordExceptionAction(ctx.clickhouse, user.orgId, user.userId, open.id, open.leadId, parsed.data.action, at);
        ctx.fanout.actedOnException(user.orgId, open, { userId: user.userId, at }, parsed.data.action);
        ctx.bus.committed([row]);
        return { ok: true };
      });
    });
    socket.on('room:join', (name, ack) => {
      answer(ctx, ack, 'room:join', async () => {
        const room = parseRoom(name);
        // Unknown, forged or another organisation's room: the same answer, so nothing is confirmed.
        if (!room) return { ok: false, code: 'not_found' };
        if (room.kind === 'user') {
          return room.userId === user.userId ? { ok: true } : { ok: false, code: 'not_found' };
        }
        if (room.orgId !== user.orgId) return { ok: false, code: 'not_found' };
        if (room.kind === 'inbox') {
          if (!can(user.role, 'leads:work')) return { ok: false, code: 'forbidden' };
          await socket.join(inboxRoom(user.orgId));
          return { ok: true };
        }
        if (room.kind === 'models') {
          if (!can(user.role, 'models:view')) return { ok: false, code: 'forbidden' };
          await socket.join(modelsRoom(user.orgId));
          return { ok: true };
        }
        if (!can(user.role, 'wall:view')) return { ok: false, code: 'forbidden' };
        await socket.join(wallRoom(user.orgId));
        // A (re)joining client gets the whole state, so it never patches deltas onto stale data.
        // It is answered first: on a large ledger the snapshot takes a moment, and the client is
        // in the room already (a delta that arrives before the snapshot is replaced by it).
        ctx.fanout.snapshotForJoin(user.orgId).then(
          (snapshot) => socket.emit('wall:snapshotted', snapshot),
          (err: unknown) => ctx.log.error({ err, orgId: user.orgId }, 'wall snapshot failed')
        );
        return { ok: true };
      });
    });
  });
  // A room nobody here watches any more: let a process with watchers compute its pushes.
  io.of('/').adapter.on('delete-room', (room: string) => ctx.ownership.release(room));
  ctx.bus.bind(io);
  ctx.fanout.bind(io);
  ctx.presence.bind(io);
  ctx.models.bind(io);
  ctx.inbox.bind(io);
  return io;
}
