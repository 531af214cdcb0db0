import type { Server } from 'socket.io';
import type { ClientToServerEvents, ServerToClientEvents } from '../../contracts/realtime';
import { wallRoom } from '../../contracts/realtime';
import type { WallSnapshot } from '../../contracts/wall';
import type { ClickHouseClient } from '../db/clickhouse';
import { tickerItemFromRow, type EventRow } from '../db/queries/events';
import { wallKpis } from '../db/queries/kpis';
import { countLeadsByStage, latestEvents } from '../db/queries/wall';
import type { Logger } from '../log';

export type RealtimeServer = Server<ClientToServerEvents, ServerToClientEvents>;

export const TICKER_LENGTH = 30;

/**
 * Turns committed events into per-organisation pushes. Ticker items go out as deltas at once
 * (one broadcast per org per batch: io.to(room) encodes once for all sockets); stage counts and
 * KPI tiles need a query, so each is recomputed at most once per its interval per organisation
 * however fast events arrive. Everything goes through io.to(room), which a socket.io adapter can later
 * spread over processes.
 */
export function createWallFanout(deps: {
  clickhouse: ClickHouseClient;
  log: Logger;
  recountIntervalMs?: number;
  kpiIntervalMs?: number;
  now?: () => number;
}) {
  const interval = deps.recountIntervalMs ?? 250;
  const kpiInterval = deps.kpiIntervalMs ?? 1_000;
  const now = deps.now ?? Date.now;
  let io: RealtimeServer | undefined;
  /** Pending recomputations, one per organisation and read model: `${model}:${orgId}`. */
  const timers = new Map<string, NodeJS.Timeout>();

  /**
   * Run `push` for `orgId` after `delayMs`, unless one is already pending: however fast events
   * arrive, each read model is queried at most once per interval per organisation.
   */
  function throttle(model: string, orgId: string, delayMs: number, push: () => Promise<void>): void {
    const key = `${model}:${orgId}`;
    if (timers.has(key)) return;
    timers.set(
      key,
      setTimeout(() => {
        timers.delete(key);
        push().catch((err: unknown) => {
          // The next batch schedules another; a missed one only delays the numbers.
          deps.log.warn({ err, orgId, model }, 'live recompute failed');
        });
      }, delayMs)
    );
  }

  const pushCounts = async (orgId: string) => {
    io?.to(wallRoom(orgId)).emit('stages:counted', await countLeadsByStage(deps.clickhouse, orgId));
  };
  const pushKpis = async (orgId: string) => {
    io?.to(wallRoom(orgId)).emit('kpis:computed', await wallKpis(deps.clickhouse, orgId, now()));
  };

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
        if (orgRows.some((r) => r.type === 'stage_changed')) throttle('stages', orgId, interval, () => pushCounts(orgId));
        throttle('kpis', orgId, kpiInterval, () => pushKpis(orgId));
      }
    },
    async snapshot(orgId: string): Promise<WallSnapshot> {
      const [stageCounts, ticker, kpis] = await Promise.all([
        countLeadsByStage(deps.clickhouse, orgId),
        latestEvents(deps.clickhouse, orgId, TICKER_LENGTH),
        wallKpis(deps.clickhouse, orgId, now())
      ]);
      return { stageCounts, ticker, kpis, at: now() };
    },
    stop() {
      for (const t of timers.values()) clearTimeout(t);
      timers.clear();
    }
  };
}

export type WallFanout = ReturnType<typeof createWallFanout>;
