import { inboxRoom } from '../../contracts/realtime';
import type { RealtimeServer } from './wall-fanout';

/** At most one push of agents' activity per organisation per this interval. */
export const INBOX_ACTIVITY_INTERVAL_MS = 1_000;
/** Lead ids carried in one push; beyond it the inboxes simply refetch. */
const MAX_IDS = 500;

/**
 * Tells an organisation's open inboxes which leads changed. A person's action (claim, snooze,
 * correction) goes out at once: the colleague looking at the same row should see it within a
 * second. Agents' activity and new scores arrive many times a second under load and are
 * coalesced to one push per organisation per INBOX_ACTIVITY_INTERVAL_MS, since each push makes
 * every open inbox run its query again.
 */
export function createInboxNotifier(options: { activityIntervalMs?: number; owns?: (room: string) => Promise<boolean> } = {}) {
  const interval = options.activityIntervalMs ?? INBOX_ACTIVITY_INTERVAL_MS;
  const owns = options.owns ?? (() => Promise.resolve(true));
  let io: RealtimeServer | undefined;
  const pending = new Map<string, Set<string>>();
  const timers = new Map<string, NodeJS.Timeout>();
  const lastPush = new Map<string, number>();

  function emit(orgId: string, leadIds: Iterable<string>, byUserId: string): void {
    const ids = [...leadIds].slice(0, MAX_IDS);
    lastPush.set(orgId, Date.now());
    io?.to(inboxRoom(orgId)).emit('inbox:changed', { leadIds: ids, byUserId });
  }

  function flush(orgId: string): void {
    timers.delete(orgId);
    const ids = pending.get(orgId);
    pending.delete(orgId);
    if (ids && ids.size > 0) emit(orgId, ids, '');
  }

  /** Leads changed; `byUserId` '' for agents and scoring (coalesced), a user id for a person (at once). */
  function changed(orgId: string, leadIds: readonly string[], byUserId: string): void {
    if (leadIds.length === 0) return;
    if (byUserId) return emit(orgId, leadIds, byUserId);
    const set = pending.get(orgId) ?? new Set<string>();
    for (const id of leadIds) set.add(id);
    pending.set(orgId, set);
    if (timers.has(orgId)) return;
    const wait = Math.max(0, (lastPush.get(orgId) ?? 0) + interval - Date.now());
    timers.set(orgId, setTimeout(() => flush(orgId), wait));
  }

  return {
    bind(server: RealtimeServer) {
      io = server;
    },
    changed,
    /**
     * Agents' committed events, which every process hears (cluster/bus.ts): of the processes
     * with open inboxes of the organisation, the room's owner pushes, so the inboxes refetch once
     * per interval however many processes there are.
     */
    rowsCommitted(orgId: string, leadIds: readonly string[]): void {
      const room = inboxRoom(orgId);
      if (!io?.sockets.adapter.rooms.has(room)) return;
      void owns(room).then((mine) => mine && changed(orgId, leadIds, ''));
    },
    stop(): void {
      for (const t of timers.values()) clearTimeout(t);
      timers.clear();
      pending.clear();
    }
  };
}

export type InboxNotifier = ReturnType<typeof createInboxNotifier>;
