import type { StageCounts, TickerItem, WallSnapshot } from './wall';

/**
 * socket.io event maps, used as the type parameters of both the server and the client socket
 * so that a wrong payload fails to compile. Names are `noun:past-verb`; an incompatible payload
 * change gets a new name (`wall:snapshot.v2`), never a silent reshape.
 */
export interface ServerToClientEvents {
  /** Full state; sent on (re)connect so a client never has to patch on top of stale data. */
  'wall:snapshotted': (snapshot: WallSnapshot) => void;
  /** Newly committed events, newest first. */
  'events:ingested': (items: TickerItem[]) => void;
  'stages:counted': (counts: StageCounts) => void;
}

// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- issue 5 adds claims and presence
export interface ClientToServerEvents {}

/** The only room names a socket may be in; built here so no handler formats them by hand. */
export const orgRoom = (orgId: string) => `org:${orgId}`;
export const userRoom = (userId: string) => `user:${userId}`;
