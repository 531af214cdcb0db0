import type { Server } from 'socket.io';
import type { ClientToServerEvents, ServerToClientEvents } from '../../contracts/realtime';
import { wallRoom } from '../../contracts/realtime';
import type { WallSnapshot } from '../../contracts/wall';
import type { ClickHouseClient } from '../db/clickhouse';
import { rowsByOrg, tickerItemFromRow, type EventRow } from '../db/queries/events';
import { DEFAULT_FUNNEL_PRESET, funnelQueryFor, type FunnelView } from '../../contracts/funnel';
import type { AtRiskDeal, ExceptionAction, LeadException } from '../../contracts/exceptions';
import { atRiskDeals, findExceptions } from '../db/queries/exceptions';
import { diffExceptions } from '../exceptions-diff';
import { funnelSteps } from '../db/queries/funnel';
import { loadExceptionSettings } from '../db/queries/org-settings';
import { wallKpis } from '../db/queries/kpis';
import { countLeadsByStage, latestEvents } from '../db/queries/wall';
import type { Logger } from '../log';
import type { InterServerEvents } from '../cluster/bus';

export type RealtimeServer = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents>;

export const TICKER_LENGTH = 30;
/** At most four ticker pushes a second per organisation (issue 5: "a few per second per view"). */
export const TICKER_INTERVAL_MS = 250;

/**
 * Turns committed events into per-organisation pushes. Ticker items go out as deltas at once
 * (one broadcast per org per batch: io.to(room) encodes once for all sockets); stage counts and
 * KPI tiles need a query, so each is recomputed at most once per its interval per organisation
 * however fast events arrive. Everything goes through io.to(room), which the socket.io adapter
 * spreads over processes (issue 8). Every process hears every committed row (cluster/bus.ts);
 * of the processes with watchers of an organisation's wall, the one holding the room's lease
 * (`owns`) computes its pushes, so N processes cost one set of queries, not N.
 */
export function createWallFanout(deps: {
  clickhouse: ClickHouseClient;
  log: Logger;
  recountIntervalMs?: number;
  kpiIntervalMs?: number;
  /** Exceptions and at-risk: after events, at most this often per organisation. */
  exceptionIntervalMs?: number;
  /** Exceptions also become true with time alone (a lead goes silent): re-check this often. */
  sweepIntervalMs?: number;
  now?: () => number;
  /** Whether this process computes the room's pushes (cluster/leases.ts); always, alone. */
  owns?: (room: string) => Promise<boolean>;
}) {
  const owns = deps.owns ?? (() => Promise.resolve(true));
  const interval = deps.recountIntervalMs ?? 250;
  const kpiInterval = deps.kpiIntervalMs ?? 1_000;
  const now = deps.now ?? Date.now;
  const exceptionInterval = deps.exceptionIntervalMs ?? 5_000;
  const sweepInterval = deps.sweepIntervalMs ?? 30_000;
  /** Per organisation watched here: the exceptions last pushed, and the at-risk list. */
  const lastExceptions = new Map<string, { visible: LeadException[]; atRisk: AtRiskDeal[] }>();
  /** One exceptions computation at a time per organisation, so diffs apply in order. */
  const exceptionRuns = new Map<string, Promise<unknown>>();
  const AT_RISK_SHOWN = 20;
  /** Join snapshots: the round joins still attach to, and the round being computed. */
  const nextRound = new Map<string, Promise<WallSnapshot>>();
  const runningRound = new Map<string, Promise<WallSnapshot>>();
  let io: RealtimeServer | undefined;
  /** Pending recomputations, one per organisation and read model: `${model}:${orgId}`. */
  const timers = new Map<string, NodeJS.Timeout>();

  /** When each `${model}:${orgId}` last started, for the leading edge of the throttle. */
  const lastRuns = new Map<string, number>();
  /** Events of one batch and its neighbours arrive within this; they are pushed together. */
  const SETTLE_MS = 50;

  /** Ticker rows waiting for the organisation's next ticker push, newest last. */
  const tickerPending = new Map<string, EventRow[]>();
  const lastTicker = new Map<string, number>();

  /**
   * Ticker deltas, at most one push per TICKER_INTERVAL_MS per organisation: the first batch after
   * a quiet spell goes at once, later ones are coalesced (newest TICKER_LENGTH kept). Pushing every
   * batch cost 5,000 screens ~20 frames/s each under load, and the bench's update lag with them.
   */
  function pushTicker(orgId: string, rows: readonly EventRow[]): void {
    const pending = tickerPending.get(orgId);
    if (pending) {
      pending.push(...rows);
      if (pending.length > TICKER_LENGTH) pending.splice(0, pending.length - TICKER_LENGTH);
      return;
    }
    const emit = (list: readonly EventRow[]) => {
      lastTicker.set(orgId, Date.now());
      io?.to(wallRoom(orgId)).emit('events:ingested', list.slice(-TICKER_LENGTH).reverse().map(tickerItemFromRow));
    };
    const wait = (lastTicker.get(orgId) ?? 0) + TICKER_INTERVAL_MS - Date.now();
    if (wait <= 0) return emit(rows);
    tickerPending.set(orgId, rows.slice(-TICKER_LENGTH));
    timers.set(
      `ticker:${orgId}`,
      setTimeout(() => {
        timers.delete(`ticker:${orgId}`);
        const list = tickerPending.get(orgId) ?? [];
        tickerPending.delete(orgId);
        emit(list);
      }, wait)
    );
  }

  /**
   * Run `push` for `orgId` soon, unless one is already pending: after a quiet spell at once
   * (SETTLE_MS), under a stream of events at most once per `intervalMs` per organisation and
   * read model, however fast events arrive.
   */
  function throttle(model: string, orgId: string, intervalMs: number, push: () => Promise<void>): void {
    const key = `${model}:${orgId}`;
    if (timers.has(key)) return;
    const wait = Math.max(Math.min(SETTLE_MS, intervalMs), (lastRuns.get(key) ?? 0) + intervalMs - Date.now());
    timers.set(
      key,
      setTimeout(() => {
        timers.delete(key);
        lastRuns.set(key, Date.now());
        push().catch((err: unknown) => {
          // The next batch schedules another; a missed one only delays the numbers.
          deps.log.warn({ err, orgId, model }, 'live recompute failed');
        });
      }, wait)
    );
  }

  const pushCounts = async (orgId: string) => {
    io?.to(wallRoom(orgId)).emit('stages:counted', await countLeadsByStage(deps.clickhouse, orgId));
  };
  const pushKpis = async (orgId: string) => {
    io?.to(wallRoom(orgId)).emit('kpis:computed', await wallKpis(deps.clickhouse, orgId, now()));
  };
  async function defaultFunnel(orgId: string): Promise<FunnelView> {
    const at = now();
    const query = funnelQueryFor(DEFAULT_FUNNEL_PRESET, at);
    if (!query) throw new Error('the default funnel window is not a valid query');
    return { preset: DEFAULT_FUNNEL_PRESET, from: query.from, to: query.to, result: await funnelSteps(deps.clickhouse, orgId, query, at) };
  }
  const pushFunnel = async (orgId: string) => {
    io?.to(wallRoom(orgId)).emit('funnel:computed', await defaultFunnel(orgId));
  };

  async function computeExceptions(orgId: string): Promise<{ visible: LeadException[]; atRisk: AtRiskDeal[] }> {
    const at = now();
    const settings = await loadExceptionSettings(deps.clickhouse, orgId);
    const all = await findExceptions(deps.clickhouse, orgId, at, settings, { includeSnoozed: true });
    const atRisk = await atRiskDeals(deps.clickhouse, orgId, at, AT_RISK_SHOWN, settings, all);
    return { visible: all.filter((e) => !e.snoozed), atRisk };
  }

  /**
   * Recompute an organisation's exceptions and push what changed: the raised, cleared and changed
   * ones as a delta (a claim changes one exception, not the list), and the at-risk list when it
   * moved. Runs one at a time per organisation; resolves when pushed.
   */
  function refreshExceptions(orgId: string): Promise<void> {
    const previous = exceptionRuns.get(orgId) ?? Promise.resolve();
    const run = previous.then(async () => {
      const before = lastExceptions.get(orgId);
      const next = await computeExceptions(orgId);
      lastExceptions.set(orgId, next);
      if (!before) return; // nobody has a list to patch yet; snapshots carry the whole list
      const diff = diffExceptions(before.visible, next.visible);
      if (diff.raised.length + diff.cleared.length + diff.changed.length > 0) {
        io?.to(wallRoom(orgId)).emit('exceptions:changed', { raised: diff.raised, cleared: diff.cleared.map((e) => e.id), changed: diff.changed });
      }
      if (JSON.stringify(before.atRisk) !== JSON.stringify(next.atRisk)) io?.to(wallRoom(orgId)).emit('at-risk:ranked', next.atRisk);
    });
    const settled = run.catch(() => undefined);
    exceptionRuns.set(orgId, settled);
    void settled.then(() => {
      if (exceptionRuns.get(orgId) === settled) exceptionRuns.delete(orgId);
    });
    return run;
  }

  // Time alone makes exceptions true: sweep the organisations someone here is watching.
  const sweep = setInterval(() => {
    for (const orgId of lastExceptions.keys()) {
      if (!io?.sockets.adapter.rooms.has(wallRoom(orgId))) {
        lastExceptions.delete(orgId); // nobody watches here any more
        continue;
      }
      void owns(wallRoom(orgId)).then((mine) => {
        if (mine) throttle('exceptions', orgId, 0, () => refreshExceptions(orgId));
        else lastExceptions.delete(orgId); // another process pushes this organisation's changes
      });
    }
  }, sweepInterval);
  sweep.unref();

  /**
   * The list deltas patch: where this process pushes the organisation's deltas, the one last
   * pushed, so a snapshot and the next delta agree; elsewhere a fresh one (another process's
   * deltas follow it).
   */
  async function exceptionsForSnapshot(orgId: string): Promise<{ visible: LeadException[]; atRisk: AtRiskDeal[] }> {
    if (!(await owns(wallRoom(orgId)))) return computeExceptions(orgId);
    return lastExceptions.get(orgId) ?? refreshExceptions(orgId).then(() => lastExceptions.get(orgId) ?? { visible: [], atRisk: [] });
  }

  /** The pushes one batch of an organisation's rows causes; only in the process that owns the room. */
  function pushForRows(orgId: string, orgRows: EventRow[]): void {
    pushTicker(orgId, orgRows);
    if (orgRows.some((r) => r.type === 'stage_changed')) {
      throttle('stages', orgId, interval, () => pushCounts(orgId));
      throttle('funnel', orgId, kpiInterval, () => pushFunnel(orgId));
    }
    throttle('kpis', orgId, kpiInterval, () => pushKpis(orgId));
    if (lastExceptions.has(orgId)) throttle('exceptions', orgId, exceptionInterval, () => refreshExceptions(orgId));
  }

  let snapshotsComputed = 0;
  async function computeSnapshot(orgId: string): Promise<WallSnapshot> {
    snapshotsComputed++;
    const [stageCounts, ticker, kpis, funnel, exceptions] = await Promise.all([
      countLeadsByStage(deps.clickhouse, orgId),
      latestEvents(deps.clickhouse, orgId, TICKER_LENGTH),
      wallKpis(deps.clickhouse, orgId, now()),
      defaultFunnel(orgId),
      exceptionsForSnapshot(orgId)
    ]);
    return { stageCounts, ticker, kpis, funnel, exceptions: exceptions.visible, atRisk: exceptions.atRisk, at: now() };
  }

  return {
    bind(server: RealtimeServer) {
      io = server;
    },
    publishCommitted(rows: readonly EventRow[]) {
      if (!io) return;
      for (const [orgId, orgRows] of rowsByOrg(rows)) {
        // Queries only for organisations someone watches from this process: an organisation's
        // agents may stream all night with nobody looking. Of the processes with watchers, the
        // room's owner pushes; the others drop their copy of the list, which goes stale here.
        if (!io.sockets.adapter.rooms.has(wallRoom(orgId))) continue;
        void owns(wallRoom(orgId)).then((mine) => {
          if (mine) pushForRows(orgId, orgRows);
          else lastExceptions.delete(orgId);
        });
      }
    },
    /**
     * A snapshot for a socket that just joined. Joins that arrive before the next computation
     * starts share it: a room of a thousand screens reconnecting after a restart costs one
     * snapshot per round, not a thousand (the bench measured 5–7 joins/s when each computed its
     * own). Rounds run one at a time per organisation, and each starts after the joins it
     * serves, so every joiner gets state at least as new as its join.
     */
    snapshotForJoin(orgId: string): Promise<WallSnapshot> {
      const waiting = nextRound.get(orgId);
      if (waiting) return waiting;
      const previous = runningRound.get(orgId) ?? Promise.resolve();
      const round = previous
        .catch(() => undefined)
        .then(() => {
          nextRound.delete(orgId); // joins from now on wait for the round after this one
          return computeSnapshot(orgId);
        });
      nextRound.set(orgId, round);
      runningRound.set(orgId, round);
      void round.finally(() => {
        if (runningRound.get(orgId) === round) runningRound.delete(orgId);
      }).catch(() => undefined);
      return round;
    },
    snapshot: computeSnapshot,
    /** Snapshots computed so far (for tests and the bench: joins share rounds). */
    stats: () => ({ snapshotsComputed }),
    /**
     * Someone's action on an exception (`current`, as it stood) was stored: patch the list
     * watchers have and push that at once (a claim must reach the room within a second, and
     * recomputing every exception takes longer on a large ledger), then recompute soon to
     * confirm. The patch sets the same mark, with the same time, that the recomputation folds
     * from the stored event, so the two agree. Any process may push the patch (the person's
     * socket is here); the stored row reaches the room's owner, which confirms.
     */
    actedOnException(orgId: string, current: LeadException, mark: { userId: string; at: number }, action: ExceptionAction): void {
      const exceptionId = current.id;
      const known = lastExceptions.get(orgId) ?? { visible: [current], atRisk: [] };
      const patched: LeadException | null =
        action.action === 'claim'
          ? { ...current, claimed: mark }
          : action.action === 'unclaim'
            ? { ...current, claimed: null }
            : action.action === 'acknowledge'
              ? { ...current, acknowledged: mark }
              : null; // snoozed: off the list until `until`
      const visible = patched ? known.visible.map((e) => (e.id === exceptionId ? patched : e)) : known.visible.filter((e) => e.id !== exceptionId);
      if (lastExceptions.has(orgId)) lastExceptions.set(orgId, { ...known, visible });
      io?.to(wallRoom(orgId)).emit('exceptions:changed', { raised: [], cleared: patched ? [] : [exceptionId], changed: patched ? [patched] : [] });
      void owns(wallRoom(orgId)).then((mine) => mine && throttle('exceptions', orgId, exceptionInterval, () => refreshExceptions(orgId)));
    },
    /** The organisation's thresholds changed: recompute its exceptions now. */
    settingsChanged(orgId: string): void {
      if (!lastExceptions.has(orgId)) return;
      void owns(wallRoom(orgId)).then((mine) => mine && throttle('exceptions', orgId, 0, () => refreshExceptions(orgId)));
    },
    /**
     * The open exception with this id, as watchers here last saw it (a person acts on what the
     * wall showed them); computed when nobody watches here yet.
     */
    async openException(orgId: string, exceptionId: string): Promise<LeadException | undefined> {
      const known = lastExceptions.get(orgId)?.visible ?? (await computeExceptions(orgId)).visible;
      return known.find((e) => e.id === exceptionId);
    },
    stop() {
      clearInterval(sweep);
      for (const t of timers.values()) clearTimeout(t);
      timers.clear();
    }
  };
}

export type WallFanout = ReturnType<typeof createWallFanout>;
