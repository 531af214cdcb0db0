import type { AtRiskDeal, ExceptionActionRequest } from './exceptions';
import type { FunnelView } from './funnel';
import type { LeadScore, ModelPage, TrainingRun } from './model-registry';
import type { PresenceView, Viewer } from './presence';
import type { ExceptionsDelta, StageCounts, TickerItem, WallKpis, WallSnapshot } from './wall';

/**
 * socket.io event maps, used as the type parameters of both the server and the client socket
 * so that a wrong payload fails to compile. Names are `noun:past-verb`; an incompatible payload
 * change gets a new name (`wall:snapshotted.v2`), never a silent reshape.
 */
export interface ServerToClientEvents {
  /** Full state; sent when a socket joins the wall room, so a client never patches stale data. */
  'wall:snapshotted': (snapshot: WallSnapshot) => void;
  /** Newly committed events, newest first. */
  'events:ingested': (items: TickerItem[]) => void;
  'stages:counted': (counts: StageCounts) => void;
  'kpis:computed': (kpis: WallKpis) => void;
  /** The funnel for the default window, recomputed after stage changes. */
  'funnel:computed': (funnel: FunnelView) => void;
  /** Exceptions that became true, stopped being true, or changed (e.g. someone claimed one). */
  'exceptions:changed': (delta: ExceptionsDelta) => void;
  'at-risk:ranked': (deals: AtRiskDeal[]) => void;
  /** Everyone of the organisation connected now, with what each tab is looking at. */
  'presence:changed': (viewers: Viewer[]) => void;
  /** New scores (wall room): leads whose events just arrived, or everyone after a promotion. */
  'leads:scored': (scores: LeadScore[]) => void;
  /** A training run moved on (models room): phase, epoch, losses; then its result. */
  'model:training-progressed': (run: TrainingRun) => void;
  /** The registry changed (a version trained, promoted, rejected, rolled back): the whole page. */
  'model:changed': (page: ModelPage) => void;
  /**
   * Leads of the organisation changed (activity, claims, snoozes, corrections, scores): every open
   * inbox refetches its own filter. Ids, not rows: each inbox has its own view and filter.
   */
  'inbox:changed': (change: InboxChange) => void;
}

export interface InboxChange {
  leadIds: string[];
  /** The person whose action it was; '' for agents' activity and scoring. */
  byUserId: string;
}

/** Refusals use the HTTP words: not_found also covers "exists, but in another organisation". */
export type AckResult = { ok: true } | { ok: false; code: 'bad_request' | 'not_found' | 'forbidden' | 'unavailable' };

export interface ClientToServerEvents {
  /**
   * Ask to be in a room. Rooms are lost on every reconnect, so a client asks again on each
   * `connect`. The server decides from the session, never from the name alone.
   */
  'room:join': (room: string, ack: (result: AckResult) => void) => void;
  /** What this tab shows now (the wall, the lead list, one lead), for the others' presence. */
  'presence:viewing': (view: PresenceView, ack: (result: AckResult) => void) => void;
  /** Acknowledge, snooze or claim an open exception of the caller's organisation. */
  'exception:act': (request: ExceptionActionRequest, ack: (result: AckResult) => void) => void;
}

/** Room names, built here so no handler formats them by hand. */
export const wallRoom = (orgId: string) => `wall:${orgId}`;
export const userRoom = (userId: string) => `user:${userId}`;
/** Every socket of an organisation, joined at the handshake; never asked for with room:join. */
export const presenceRoom = (orgId: string) => `presence:${orgId}`;

/** The model page of an organisation: training progress and registry changes. */
export const modelsRoom = (orgId: string) => `models:${orgId}`;

/** The organisation's inboxes (reps and managers): told which leads changed. */
export const inboxRoom = (orgId: string) => `inbox:${orgId}`;

export type Room =
  | { kind: 'wall'; orgId: string }
  | { kind: 'models'; orgId: string }
  | { kind: 'inbox'; orgId: string }
  | { kind: 'user'; userId: string };

/** The room a name stands for, or null for anything that is not a well-formed room name. */
export function parseRoom(name: unknown): Room | null {
  if (typeof name !== 'string' || name.length > 200) return null;
  const m = /^(wall|models|inbox|user):([A-Za-z0-9._:@-]+)$/.exec(name);
  if (!m) return null;
  if (m[1] === 'user') return { kind: 'user', userId: m[2]! };
  return { kind: m[1] as 'wall' | 'models' | 'inbox', orgId: m[2]! };
}
