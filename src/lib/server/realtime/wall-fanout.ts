import type { Server } from 'socket.io';
import type { ClientToServerEvents, ServerToClientEvents } from '../../contracts/realtime';
import { wallRoom } from '../../contracts/realtime';
import type { WallSnapshot } from '../../contracts/wall';
import type { ClickHouseClient } from '../db/clickhouse';
import { tickerItemFromRow, type EventRow } from '../db/queries/events';
import { countLeadsByStage, latestEvents } from '../db/queries/wall';
import type { Logger } from '../log';

export type RealtimeServer = Server<ClientToServerEvents, ServerToClientEvents>;

export const TICKER_LENGTH = 30;

/**
 * Turns committed events into per-organisation pushes. Ticker items go out as deltas at once
 * (one broadcast per org per batch: io.to(room) encodes once for all sockets); stage counts need
 * a query, so they are recomputed at most once per `recountIntervalMs` per organisation however
 * fast events arrive. Everything goes through io.to(room), which a socket.io adapter can later
 * spread over processes.
 */
export function createWallFanout(deps: { clickhouse: ClickHouseClient; log: Logger; recountIntervalMs?: number }) {
  const interval = deps.recountIntervalMs ?? 250;
  let io: RealtimeServer | undefined;
  const recountTimers = new Map<string, NodeJS.Timeout>();

  async function recount(orgId: string): Promise<void> {
    recountTimers.delete(orgId);
    try {
      const counts = await countLeadsByStage(deps.clickhouse, orgId);
      io?.to(wallRoom(orgId)).emit('stages:counted', counts);
    } catch (err) {
      // The next batch schedules another recount; a missed one only delays the numbers.
      deps.log.warn({ err, orgId }, 'stage recount failed');
    }
  }

  return {
    bind(server: RealtimeServer) {
      io = server;
    },
    publishCommitted(rows: readonly EventRow[]) {
      if (!io) return;
      const byOrg = new Map<string, EventRow[]>();
      for (const r of rows) {
        const list = byOrg.get(String(r.org_id)) ?? [];
        list.push(r);
        byOrg.set(String(r.org_id), list);
      }
      for (const [orgId, orgRows] of byOrg) {
        const items = orgRows.slice(-TICKER_LENGTH).reverse().map(tickerItemFromRow);
        io.to(wallRoom(orgId)).emit('events:ingested', items);
        if (orgRows.some((r) => r.type === 'stage_changed') && !recountTimers.has(orgId)) {
          recountTimers.set(orgId, setTimeout(() => void recount(orgId), interval));
        }
      }
    },
    async snapshot(orgId: string): Promise<WallSnapshot> {
      const [stageCounts, ticker] = await Promise.all([
        countLeadsByStage(deps.clickhouse, orgId),
        latestEvents(deps.clickhouse, orgId, TICKER_LENGTH)
      ]);
      return { stageCounts, ticker, at: Date.now() };
    },
    stop() {
      for (const t of recountTimers.values()) clearTimeout(t);
      recountTimers.clear();
    }
  };
}

export type WallFanout = ReturnType<typeof createWallFanout>;
