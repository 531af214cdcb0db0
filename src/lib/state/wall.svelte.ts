import type { ServerToClientEvents } from '$lib/contracts/realtime';
import {
  stageCountsSchema,
  tickerItemSchema,
  exceptionsDeltaSchema,
  wallKpisSchema,
  wallSnapshotSchema,
  type ExceptionsDelta,
  type StageCounts,
  type TickerItem,
  type WallKpis,
  type WallSnapshot
} from '$lib/contracts/wall';
import { funnelViewSchema, type FunnelView } from '$lib/contracts/funnel';
import { atRiskDealSchema, type AtRiskDeal, type LeadException } from '$lib/contracts/exceptions';
import { validated, type RealtimeSocket } from '$lib/realtime/client';

export type ConnectionStatus = 'connecting' | 'live' | 'offline';

/** Rows kept in the ticker; more than fit on a 1080p wall, few enough to render cheaply. */
export const TICKER_LIMIT = 50;

/**
 * Failed connection attempts in a row after which the wall says "offline" instead of
 * "reconnecting" (it keeps retrying). Three attempts is roughly 10 s with the client's backoff,
 * long enough to ride out a server restart without alarming the room.
 */
export const OFFLINE_AFTER_FAILURES = 3;

/**
 * Wait before asking again after the server's handshake refused us. socket.io never retries a
 * refusal by itself, but a refusal can be transient (the session store was unavailable), and
 * a wall must come back without anyone touching it.
 */
export const REFUSED_RETRY_MS = 15_000;

const tickerBatchSchema = tickerItemSchema.array();

/**
 * Merges `incoming` into `current`: one row per eventId (the incoming copy wins), newest
 * `receivedAt` first, at most `limit` rows. Sorting rather than prepending means an old event
 * the server resends after a reconnect falls back to its place instead of jumping to the top.
 * The sort is stable, so rows with equal `receivedAt` keep the server's order.
 */
export function mergeTicker(
  current: readonly TickerItem[],
  incoming: readonly TickerItem[],
  limit = TICKER_LIMIT
): TickerItem[] {
  // eslint-disable-next-line svelte/prefer-svelte-reactivity -- scratch set local to this call, never observed
  const seen = new Set<string>();
  const merged: TickerItem[] = [];
  for (const item of [...incoming, ...current]) {
    if (seen.has(item.eventId)) continue;
    seen.add(item.eventId);
    merged.push(item);
  }
  merged.sort((a, b) => b.receivedAt - a.receivedAt);
  return merged.slice(0, limit);
}

/** Live state of the pipeline wall. The apply* methods are plain, so tests need no socket. */
export class WallState {
  stageCounts = $state.raw<StageCounts>({
    enquired: 0,
    qualified: 0,
    booked: 0,
    attended: 0,
    won: 0,
    lost: 0
  });
  /** Newest first, at most TICKER_LIMIT rows, unique by eventId. */
  ticker = $state.raw<TickerItem[]>([]);
  kpis = $state.raw<WallKpis | undefined>(undefined);
  /** The default window's funnel, as the server last pushed it. */
  funnel = $state.raw<FunnelView | undefined>(undefined);
  /** Open exceptions, oldest first, kept by snapshot + deltas. */
  exceptions = $state.raw<LeadException[]>([]);
  atRisk = $state.raw<AtRiskDeal[]>([]);
  status = $state<ConnectionStatus>('connecting');
  /** False until the first successful connect, so the badge can tell connecting from reconnecting. */
  hasConnected = $state(false);
  /** When this client last received data: epoch ms by the client's clock, not the server's. */
  lastUpdateAt = $state(0);

  #now: () => number;
  #failures = 0;

  constructor(snapshot: WallSnapshot, now: () => number = Date.now) {
    this.#now = now;
    this.applySnapshot(snapshot);
  }

  /** Replaces everything: a snapshot is the whole truth, never patched onto older state. */
  applySnapshot(snapshot: WallSnapshot): void {
    this.stageCounts = { ...snapshot.stageCounts };
    this.ticker = mergeTicker([], snapshot.ticker);
    this.kpis = snapshot.kpis;
    this.funnel = snapshot.funnel;
    this.exceptions = snapshot.exceptions;
    this.atRisk = snapshot.atRisk;
    this.lastUpdateAt = this.#now();
  }

  /** Patch the list: drop what cleared, replace what changed, add what was raised. */
  applyExceptionsDelta(delta: ExceptionsDelta): void {
    // eslint-disable-next-line svelte/prefer-svelte-reactivity -- scratch set local to this call, never observed
    const gone = new Set([...delta.cleared, ...delta.changed.map((e) => e.id), ...delta.raised.map((e) => e.id)]);
    this.exceptions = [...this.exceptions.filter((e) => !gone.has(e.id)), ...delta.changed, ...delta.raised].sort(
      (a, b) => a.since - b.since || (a.id < b.id ? -1 : 1)
    );
    this.lastUpdateAt = this.#now();
  }

  applyAtRisk(deals: AtRiskDeal[]): void {
    this.atRisk = deals;
    this.lastUpdateAt = this.#now();
  }

  applyFunnel(funnel: FunnelView): void {
    this.funnel = funnel;
    this.lastUpdateAt = this.#now();
  }

  applyKpis(kpis: WallKpis): void {
    this.kpis = kpis;
    this.lastUpdateAt = this.#now();
  }

  applyIngested(items: readonly TickerItem[]): void {
    this.ticker = mergeTicker(this.ticker, items);
    this.lastUpdateAt = this.#now();
  }

  applyCounts(counts: StageCounts): void {
    this.stageCounts = { ...counts };
    this.lastUpdateAt = this.#now();
  }

  /**
   * Wires the socket's events to this state, joins `room` on every connect, and returns a
   * function that unwires them.
   * Closing the socket stays with whoever opened it.
   */
  connect(socket: RealtimeSocket, room: string): () => void {
    let retryTimer: ReturnType<typeof setTimeout> | undefined;

    // Rooms do not survive a reconnect, so ask again on every connect; joining the wall room
    // makes the server send a fresh snapshot. Live only once the server said yes.
    const onConnect = () => {
      this.#failures = 0;
      this.hasConnected = true;
      socket.emit('room:join', room, (result) => {
        this.status = result.ok ? 'live' : 'offline';
      });
    };
    // `active` is false when socket.io will not retry: this client or the server closed the
    // socket on purpose. A dropped transport leaves it true and socket.io reconnects.
    const onDisconnect = () => {
      this.#failures = 0;
      this.status = socket.active ? 'connecting' : 'offline';
    };
    const onConnectError = () => {
      this.#failures += 1;
      if (socket.active) {
        this.status = this.#failures < OFFLINE_AFTER_FAILURES ? 'connecting' : 'offline';
        return;
      }
      // Refused by the handshake middleware (expired session, or the server could not check it).
      this.status = 'offline';
      clearTimeout(retryTimer);
      retryTimer = setTimeout(() => socket.connect(), REFUSED_RETRY_MS);
    };
    // Every push is validated with its contract before it touches state.
    const pushes = {
      'wall:snapshotted': validated('wall:snapshotted', wallSnapshotSchema, (v) => this.applySnapshot(v)),
      'events:ingested': validated('events:ingested', tickerBatchSchema, (v) => this.applyIngested(v)),
      'stages:counted': validated('stages:counted', stageCountsSchema, (v) => this.applyCounts(v)),
      'kpis:computed': validated('kpis:computed', wallKpisSchema, (v) => this.applyKpis(v)),
      'funnel:computed': validated('funnel:computed', funnelViewSchema, (v) => this.applyFunnel(v)),
      'exceptions:changed': validated('exceptions:changed', exceptionsDeltaSchema, (v) => this.applyExceptionsDelta(v)),
      'at-risk:ranked': validated('at-risk:ranked', atRiskDealSchema.array(), (v) => this.applyAtRisk(v))
    } satisfies Partial<ServerToClientEvents>;
    const pushList = Object.entries(pushes) as [keyof typeof pushes, (payload: unknown) => void][];

    socket.on('connect', onConnect);
    socket.on('disconnect', onDisconnect);
    socket.on('connect_error', onConnectError);
    for (const [event, handler] of pushList) socket.on(event, handler);
    if (socket.connected) onConnect();

    return () => {
      clearTimeout(retryTimer);
      socket.off('connect', onConnect);
      socket.off('disconnect', onDisconnect);
      socket.off('connect_error', onConnectError);
      for (const [event, handler] of pushList) socket.off(event, handler);
    };
  }
}
