import type { Viewer } from '../../contracts/presence';
import { presenceRoom } from '../../contracts/realtime';
import type { Logger } from '../log';
import type { SocketData } from './server';
import type { RealtimeServer } from './wall-fanout';

/**
 * Who is watching: every socket of an organisation is in its presence room, and carries its user
 * and current view in `socket.data`. The list is rebuilt from `fetchSockets()` (which a
 * socket.io adapter answers across processes) rather than kept in a map here, so a second
 * process needs no change. Pushes are throttled per organisation: a room of people opening tabs
 * costs one list every `intervalMs`.
 */
export function createPresence(deps: { log: Logger; intervalMs?: number }) {
  const interval = deps.intervalMs ?? 200;
  let io: RealtimeServer | undefined;
  const timers = new Map<string, NodeJS.Timeout>();

  async function viewersOf(orgId: string): Promise<Viewer[]> {
    if (!io) return [];
    const sockets = await io.in(presenceRoom(orgId)).fetchSockets();
    const byUser = new Map<string, Viewer>();
    for (const s of sockets) {
      const { user, view } = s.data as SocketData;
      const viewer = byUser.get(user.userId) ?? { userId: user.userId, name: user.name, role: user.role, views: [] };
      if (view) viewer.views.push(view);
      byUser.set(user.userId, viewer);
    }
    return [...byUser.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  async function push(orgId: string): Promise<void> {
    io?.to(presenceRoom(orgId)).emit('presence:changed', await viewersOf(orgId));
  }

  return {
    bind(server: RealtimeServer) {
      io = server;
    },
    viewersOf,
    /** Someone arrived, left or looked elsewhere in `orgId`: push the list soon. */
    changed(orgId: string): void {
      if (timers.has(orgId)) return;
      timers.set(
        orgId,
        setTimeout(() => {
          timers.delete(orgId);
          push(orgId).catch((err: unknown) => deps.log.warn({ err, orgId }, 'presence push failed'));
        }, interval)
      );
    },
    stop() {
      for (const t of timers.values()) clearTimeout(t);
      timers.clear();
    }
  };
}

export type Presence = ReturnType<typeof createPresence>;
