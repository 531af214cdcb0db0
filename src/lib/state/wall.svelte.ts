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
import { joinRoomLive, validated, type ConnectionStatus, type RealtimeSocket } from '$lib/realtime/client';

/** Rows kept in the ticker; more than fit on a 1080p wall, few enough to render cheaply. */
export const TICKER_LIMIT = 50;

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

  constructor(snapshot: WallSnapshot, now: () => number = Date.now) {
    this.#now = now;
    this.applySnapshot(snapshot);
  }

  /**
   * Replaces everything but the ticker: a snapshot is the whole truth, never patched onto older
   * state. The ticker keeps what it was pushed: a snapshot's events were read before it arrived,
   * so an event pushed meanwhile would vanish from the wall (seen with the snapshot computed on a
   * busy process, issue 8), and an event shown once stays true.
   */
  applySnapshot(snapshot: WallSnapshot): void {
    this.stageCounts = { ...snapshot.stageCounts };
    this.ticker = mergeTicker(this.ticker, snapshot.ticker);
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
    // Every push is validated with its contract before it touches state.
    return joinRoomLive(socket, room, this, {
      'wall:snapshotted': validated('wall:snapshotted', wallSnapshotSchema, (v) => this.applySnapshot(v)),
      'events:ingested': validated('events:ingested', tickerBatchSchema, (v) => this.applyIngested(v)),
      'stages:counted': validated('stages:counted', stageCountsSchema, (v) => this.applyCounts(v)),
      'kpis:computed': validated('kpis:computed', wallKpisSchema, (v) => this.applyKpis(v)),
      'funnel:computed': validated('funnel:computed', funnelViewSchema, (v) => this.applyFunnel(v)),
      'exceptions:changed': validated('exceptions:changed', exceptionsDeltaSchema, (v) => this.applyExceptionsDelta(v)),
      'at-risk:ranked': validated('at-risk:ranked', atRiskDealSchema.array(), (v) => this.applyAtRisk(v))
    });
  }
}
